package ingest

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// dataset is one log's data files, listed once, and the columns read from
// each.
type dataset struct {
	path  string   // the folder (or file) the spec names
	files []string // data files to read, in name order
	empty []string // 0-byte data files, skipped
	cols  []column
}

// maxDepth bounds how deep a dataset's folders (symbolic links followed)
// are walked.
const maxDepth = 64

// listDataset lists a dataset: path itself if it is a file, else every
// .parquet, .csv and .tsv file below it, in name order, skipping the names
// Spark and Hadoop use for markers and checksums (those starting with '_'
// or '.'). Symbolic links are followed — path itself may be one — but a
// folder reached twice (a link loop, or two links to one folder) is an
// error naming it, never read twice. 0-byte data files (a failed or empty
// Spark task's) are set apart in empty.
func listDataset(path string) (*dataset, error) {
	ds := &dataset{path: path}
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		if st.Size() == 0 {
			ds.empty = append(ds.empty, path)
		} else {
			ds.files = append(ds.files, path)
		}
	} else {
		seen := map[string]string{}
		if err := walk(path, 0, seen, ds); err != nil {
			return nil, err
		}
	}
	slices.Sort(ds.files)
	slices.Sort(ds.empty)
	if len(ds.files) == 0 {
		if len(ds.empty) > 0 {
			return nil, fmt.Errorf("ingest: %s holds only empty (0-byte) data files (%d)", path, len(ds.empty))
		}
		return nil, fmt.Errorf("ingest: %s holds no .parquet, .csv or .tsv file", path)
	}
	return ds, nil
}

// walk lists the folder dir into ds, following links. seen maps each
// folder's real path to the path it was first reached by.
func walk(dir string, depth int, seen map[string]string, ds *dataset) error {
	if depth > maxDepth {
		return fmt.Errorf("ingest: %s: folders nested deeper than %d", dir, maxDepth)
	}
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return err
	}
	if first, ok := seen[real]; ok {
		return fmt.Errorf("ingest: folder %s is reached twice, as %s and %s (a symbolic link loop or two links to one folder); it is read once or not at all", real, first, dir)
	}
	seen[real] = dir
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, "_") || strings.HasPrefix(name, ".") {
			continue
		}
		p := filepath.Join(dir, name)
		st, err := os.Stat(p) // follows links
		if err != nil {
			return err
		}
		switch {
		case st.IsDir():
			if err := walk(p, depth+1, seen, ds); err != nil {
				return err
			}
		case st.Mode().IsRegular() && isDataFile(name):
			if st.Size() == 0 {
				ds.empty = append(ds.empty, p)
			} else {
				ds.files = append(ds.files, p)
			}
		}
	}
	return nil
}

func isDataFile(name string) bool {
	for _, ext := range []string{".parquet", ".csv", ".tsv"} {
		if strings.HasSuffix(name, ext) {
			return true
		}
	}
	return false
}

// partitionValues returns the key=value folders between root and file
// (Hive-style partitioning, as Spark writes it): values unescaped as Spark
// escapes them (%3A is ':'), and __HIVE_DEFAULT_PARTITION__, Spark's null,
// as the empty text, which every column reads as null.
func partitionValues(root, file string) map[string]string {
	rel, err := filepath.Rel(root, filepath.Dir(file))
	if err != nil || rel == "." {
		return nil
	}
	out := map[string]string{}
	for _, part := range strings.Split(rel, string(filepath.Separator)) {
		if k, v, ok := strings.Cut(part, "="); ok && k != "" {
			if v == hiveNull {
				v = ""
			}
			out[unescapePath(k)] = unescapePath(v)
		}
	}
	return out
}

// prunePartitions drops the files under a daily partition folder
// dt=YYYY-MM-DD (below root, the dataset's folder) whose day ended at least
// two days before minTime, or began at least two days after until (a margin
// for logs partitioned by local date), adding their numbers to before and
// after. Files outside such folders are kept; a zero time bounds nothing.
func prunePartitions(root string, files []string, minTime, until time.Time, before, after int) ([]string, int, int) {
	kept := files[:0:0]
	for _, f := range files {
		day, ok := partitionDay(root, f)
		switch {
		case ok && !minTime.IsZero() && !day.Add(72*time.Hour).After(minTime):
			before++
		case ok && !until.IsZero() && !day.Before(until.Add(48*time.Hour)):
			after++
		default:
			kept = append(kept, f)
		}
	}
	return kept, before, after
}

// partitionDay is the day of the innermost dt=YYYY-MM-DD folder of path
// below root (UTC midnight); folders above root do not count.
func partitionDay(root, path string) (time.Time, bool) {
	rel, err := filepath.Rel(root, path)
	if err != nil || strings.HasPrefix(rel, "..") {
		return time.Time{}, false
	}
	dirs := strings.Split(filepath.ToSlash(filepath.Dir(rel)), "/")
	for i := len(dirs) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(dirs[i], "dt="); ok {
			if d, err := time.Parse(time.DateOnly, v); err == nil {
				return d, true
			}
		}
	}
	return time.Time{}, false
}
