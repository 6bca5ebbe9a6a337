package ingest

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// kind is how a mapped column is read.
type kind int

const (
	kID     kind = iota // an ID: integers as they are, text parsed or hashed (see ParseID)
	kTime               // a time, converted to Unix milliseconds
	kNum                // a number
	kBool               // a boolean (also 0/1 and text)
	kTokens             // a list of tokens, or text of space-separated tokens
)

// column is one column to read from every file of a dataset.
type column struct {
	name     string
	kind     kind
	required bool   // a null is a malformed row
	unit     string // kTime: the unit of integer values
}

// cell is one row's value of one column.
type cell struct {
	i    int64
	f    float64
	toks []int64
	null bool
}

// RowError is a malformed row: its file, its 1-based row number in that
// file, the column and what was wrong.
type RowError struct {
	File   string
	Row    int64
	Column string
	Msg    string
}

func (e *RowError) Error() string {
	return fmt.Sprintf("%s: row %d: column %q: %s", e.File, e.Row, e.Column, e.Msg)
}

// ErrMissingColumn is wrapped by the error for a mapped column a file does
// not have; the message names the column and the file.
var ErrMissingColumn = errors.New("missing column")

// Report counts what a read saw: files, rows read, rows rejected as
// malformed, and the first few of those (MaxReported).
type Report struct {
	Files    int
	Rows     int64
	Rejected int64
	First    []RowError
}

// MaxReported is how many malformed rows a Report keeps.
const MaxReported = 10

func (r *Report) reject(e *RowError) {
	r.Rejected++
	if len(r.First) < MaxReported {
		r.First = append(r.First, *e)
	}
}

// Add merges another report into r.
func (r *Report) Add(o Report) {
	r.Files += o.Files
	r.Rows += o.Rows
	r.Rejected += o.Rejected
	for _, e := range o.First {
		if len(r.First) < MaxReported {
			r.First = append(r.First, e)
		}
	}
}

// fileReader yields the rows of one file.
type fileReader interface {
	// next fills one cell per column with the next row; io.EOF at the end.
	// A *RowError is a malformed row (the reader has moved past it).
	next(cells []cell) error
	// row is the 1-based number of the row next returned last.
	row() int64
	close() error
}

// ParseID maps an ID written as text to an int64: decimal integers are
// taken as they are, anything else is hashed (64-bit FNV-1a, top bit
// cleared, so different strings collide with probability about n²/2⁶⁴).
func ParseID(s string) int64 {
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		return v
	}
	h := fnv.New64a()
	h.Write([]byte(s))
	return int64(h.Sum64() &^ (1 << 63))
}

// toMillis converts an integer time in unit to Unix milliseconds; "auto"
// picks the unit by magnitude (seconds below 10¹¹, milliseconds below 10¹⁴,
// microseconds below 10¹⁷, nanoseconds above).
func toMillis(v int64, unit string) int64 {
	if unit == "auto" {
		a := v
		if a < 0 {
			a = -a
		}
		switch {
		case a < 1e11:
			unit = "s"
		case a < 1e14:
			unit = "ms"
		case a < 1e17:
			unit = "us"
		default:
			unit = "ns"
		}
	}
	switch unit {
	case "s":
		return v * 1000
	case "us":
		return v / 1000
	case "ns":
		return v / 1_000_000
	}
	return v
}

// parseText reads a text cell for a column kind.
func parseText(c *column, s string, out *cell) error {
	s = strings.TrimSpace(s)
	if s == "" {
		out.null = true
		return nil
	}
	switch c.kind {
	case kID:
		out.i = ParseID(s)
	case kTime:
		if v, err := strconv.ParseInt(s, 10, 64); err == nil {
			out.i = toMillis(v, c.unit)
			return nil
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			if t, err = time.Parse("2006-01-02 15:04:05", s); err != nil {
				return fmt.Errorf("time %q is neither an integer nor RFC 3339", clip(s))
			}
		}
		out.i = t.UnixMilli()
	case kNum:
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%q is not a finite number", clip(s))
		}
		out.f = v
	case kBool:
		switch strings.ToLower(s) {
		case "1", "true", "t", "yes":
			out.i = 1
		case "0", "false", "f", "no":
			out.i = 0
		default:
			return fmt.Errorf("%q is not a boolean", clip(s))
		}
	case kTokens:
		out.toks = out.toks[:0]
		for _, f := range strings.Fields(s) {
			out.toks = append(out.toks, ParseID(f))
		}
	}
	return nil
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// listFiles returns the data files of a dataset: path itself if it is a
// file, else every .parquet, .csv and .tsv file below it, in name order,
// skipping the names Spark and Hadoop use for markers and checksums (those
// starting with '_' or '.').
func listFiles(path string) ([]string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return []string{path}, nil
	}
	var out []string
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if p != path && (strings.HasPrefix(name, "_") || strings.HasPrefix(name, ".")) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.IsDir() && isDataFile(name) {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(out)
	if len(out) == 0 {
		return nil, fmt.Errorf("ingest: %s holds no .parquet, .csv or .tsv file", path)
	}
	return out, nil
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
// (Hive-style partitioning, as Spark writes it).
func partitionValues(root, file string) map[string]string {
	rel, err := filepath.Rel(root, filepath.Dir(file))
	if err != nil || rel == "." {
		return nil
	}
	out := map[string]string{}
	for _, part := range strings.Split(rel, string(filepath.Separator)) {
		if k, v, ok := strings.Cut(part, "="); ok && k != "" {
			out[k] = v
		}
	}
	return out
}

// openFile opens a data file by its extension.
func openFile(path string, cols []column, parts map[string]string) (fileReader, error) {
	switch {
	case strings.HasSuffix(path, ".parquet"):
		return openParquet(path, cols, parts)
	case strings.HasSuffix(path, ".tsv"):
		return openCSV(path, cols, parts, '\t')
	default:
		return openCSV(path, cols, parts, ',')
	}
}

// scan reads every row of a dataset, calling fn with the cells of each
// well-formed row. Malformed rows are counted in the report and skipped, or,
// with strict, the first one is the error. A missing column, or a file that
// is not what its name says, is an error naming the file.
func scan(ctx context.Context, path string, cols []column, strict bool, fn func(cells []cell) error) (Report, error) {
	var rep Report
	files, err := listFiles(path)
	if err != nil {
		return rep, err
	}
	cells := make([]cell, len(cols))
	for _, f := range files {
		rep.Files++
		r, err := openFile(f, cols, partitionValues(path, f))
		if err != nil {
			return rep, err
		}
		for {
			if rep.Rows%4096 == 0 {
				if err := ctx.Err(); err != nil {
					r.close()
					return rep, err
				}
			}
			err := r.next(cells)
			if errors.Is(err, io.EOF) {
				break
			}
			rep.Rows++
			var re *RowError
			if errors.As(err, &re) {
				if strict {
					r.close()
					return rep, err
				}
				rep.reject(re)
				continue
			}
			if err != nil {
				r.close()
				return rep, err
			}
			if err := fn(cells); err != nil {
				var re *RowError
				if errors.As(err, &re) {
					re.File, re.Row = f, r.row()
					if strict {
						r.close()
						return rep, re
					}
					rep.reject(re)
					continue
				}
				r.close()
				return rep, err
			}
		}
		if err := r.close(); err != nil {
			return rep, fmt.Errorf("ingest: %s: %w", f, err)
		}
	}
	return rep, nil
}
