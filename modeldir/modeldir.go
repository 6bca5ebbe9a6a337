package modeldir

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/ytdnn/ytdnn/candgen"
	"github.com/ytdnn/ytdnn/eval"
	"github.com/ytdnn/ytdnn/events"
	"github.com/ytdnn/ytdnn/internal/binfmt"
	"github.com/ytdnn/ytdnn/layout"
	"github.com/ytdnn/ytdnn/ranking"
	"github.com/ytdnn/ytdnn/retrieval"
)

// Files of a model directory.
const (
	ManifestFile      = "pipeline.json"    // Manifest: the layout, the window's end, every file's size and SHA-256
	CandgenFile       = "candgen.model"    // candgen.Model
	RankingFile       = "ranking.model"    // ranking.Model (when the logs had impressions)
	CatalogueFile     = "catalogue.bin"    // the videos' catalogue features
	IndexFile         = "index.hnsw"       // optional retrieval.HNSW over the candgen items
	DictsFile         = "ids.dict"         // optional events.Dicts: the text IDs of the log, kept exact
	StatsFile         = "stats.bin"        // optional layout.FixedStats: the running statistics at the window's end
	UsersFile         = "users.bin"        // optional events.UserTable: the user attribute table
	CandgenStateFile  = "candgen.state"    // optional train.State: candidate generation's optimizers, for a warm start
	RankingStateFile  = "ranking.state"    // optional train.State: the ranker's optimizers, for a warm start
	manifestFmt       = 3                  // Manifest.Format this build writes and reads
	maxManifest       = 1 << 20            // bytes
	maxCatalogueBytes = 16 << 30           // bytes
	maxModelBytes     = 64 << 30           // bytes of one model or index file
	maxCatalogue      = 100_000_000        // items
	maxCatFeats       = 1000               // catalogue features
	catMagic          = "YTCT"             // catalogue file magic
	catVersion        = uint32(1)          // catalogue file version
	tmpPrefix         = ".ytdnn-modeldir-" // temporary directories of Write
)

// Manifest describes a model directory.
type Manifest struct {
	// Format is the directory layout's version.
	Format int `json:"format"`
	// Layout is everything that shapes the models' features: the one
	// authority the models' stored specs are checked against at load.
	Layout layout.Config `json:"layout"`
	// End is the end of the training window (Unix ms).
	End int64 `json:"end_unix_ms"`
	// Ranking is whether the directory holds a ranker.
	Ranking bool `json:"ranking"`
	// Stats are the training run's numbers, for the record.
	Stats map[string]any `json:"stats,omitempty"`
	// Files binds every other file of the directory to this manifest: the
	// size and SHA-256 of each file Write wrote, by name. Write fills it
	// (whatever the caller set); Load refuses a file that differs, a
	// required file it does not list, and a file of the format it does not
	// list (an index copied in from another run).
	Files map[string]FileSum `json:"files"`
}

// FileSum is what the manifest records of one file.
type FileSum struct {
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"` // lower-case hex
}

// limits are the size bounds of the files a manifest may list.
var limits = map[string]int64{
	CandgenFile: maxModelBytes, RankingFile: maxModelBytes, CatalogueFile: maxCatalogueBytes, IndexFile: maxModelBytes,
	DictsFile: maxCatalogueBytes, StatsFile: maxCatalogueBytes, UsersFile: maxCatalogueBytes,
	CandgenStateFile: maxModelBytes, RankingStateFile: maxModelBytes,
}

// Model is a loaded model directory.
type Model struct {
	Manifest Manifest
	Layout   *layout.Layout
	Candgen  *candgen.Model
	Ranking  *ranking.Model // nil without impressions
	// Dicts map the log's text IDs to the int64 IDs the models use and
	// back (nil, or empty: every space had integer IDs).
	Dicts *events.Dicts
	// Users is the user attribute table, when the layout maps one (Load
	// sets it as the layout's Users).
	Users *events.UserTable
	// Stats are the running statistics at the end of the training window,
	// when the layout's signals read them (Load sets them as the layout's
	// Stats).
	Stats *layout.FixedStats
	// CandgenState and RankingState, when set, are the stages' training
	// states (train.State), written for a later run to continue from (a
	// warm start); Load does not read them (the service has no use for
	// them): ReadState does.
	CandgenState, RankingState io.WriterTo
}

// Write writes m (and idx, when not nil) as a model directory at
// out, atomically: everything goes to a temporary directory beside out,
// which is renamed to out only when every file is written and synced, so a
// failed run leaves no half-written directory. out must not exist. The
// manifest, written last, records the size and SHA-256 of every other file
// (whatever m.Manifest.Files held).
func Write(out string, m *Model, idx *retrieval.HNSW) (err error) {
	if _, err := os.Stat(out); err == nil {
		return fmt.Errorf("modeldir: %s exists; write new models to a new directory", out)
	}
	parent := filepath.Dir(filepath.Clean(out))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, tmpPrefix)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	man := m.Manifest
	man.Format = manifestFmt
	man.Files = map[string]FileSum{}
	// Each file is hashed as it is written; the manifest, written last,
	// records them all.
	save := func(name string, write func(io.Writer) error) error {
		h := sha256.New()
		cw := &countingHash{h: h}
		if err := binfmt.WriteFileAtomic(filepath.Join(tmp, name), func(w io.Writer) error {
			return write(io.MultiWriter(w, cw))
		}); err != nil {
			return err
		}
		man.Files[name] = FileSum{Size: cw.n, SHA256: hex.EncodeToString(h.Sum(nil))}
		return nil
	}
	writerTo := func(v io.WriterTo) func(io.Writer) error {
		return func(w io.Writer) error { _, err := v.WriteTo(w); return err }
	}
	if err := save(CandgenFile, writerTo(m.Candgen)); err != nil {
		return err
	}
	if m.Ranking != nil {
		if err := save(RankingFile, writerTo(m.Ranking)); err != nil {
			return err
		}
	}
	if err := save(CatalogueFile, func(w io.Writer) error {
		_, err := writeCatalogue(w, m.Layout.Catalogue)
		return err
	}); err != nil {
		return err
	}
	if len(m.Layout.Config().UserTableFeatures) > 0 && m.Users != nil {
		table := &events.Catalogue{Features: m.Users.Features, Items: m.Users.Items}
		if err := save(UsersFile, func(w io.Writer) error { _, err := writeCatalogue(w, table); return err }); err != nil {
			return err
		}
	}
	if m.Stats != nil {
		if err := save(StatsFile, func(w io.Writer) error { _, err := writeStats(w, m.Stats); return err }); err != nil {
			return err
		}
	}
	if m.Dicts != nil && !m.Dicts.Empty() {
		if err := save(DictsFile, writerTo(m.Dicts)); err != nil {
			return err
		}
	}
	if idx != nil {
		if err := save(IndexFile, writerTo(idx)); err != nil {
			return err
		}
	}
	for _, s := range []struct {
		name string
		v    io.WriterTo
	}{{CandgenStateFile, m.CandgenState}, {RankingStateFile, m.RankingState}} {
		if s.v != nil {
			if err := save(s.name, writerTo(s.v)); err != nil {
				return err
			}
		}
	}
	man.Stats, _ = eval.Finite(man.Stats) // a NaN metric (no click held out, say) is recorded as null
	raw, err := json.MarshalIndent(man, "", "  ")
	if err != nil {
		return err
	}
	if err := binfmt.WriteFileAtomic(filepath.Join(tmp, ManifestFile), func(w io.Writer) error {
		_, err := w.Write(append(raw, '\n'))
		return err
	}); err != nil {
		return err
	}
	if err := os.Rename(tmp, out); err != nil {
		return err
	}
	d, err := os.Open(parent)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// countingHash counts the bytes it hashes.
type countingHash struct {
	h hash.Hash
	n int64
}

func (c *countingHash) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return c.h.Write(p)
}

// Load loads a model directory written by Write and checks that its parts
// fit together: the manifest's format; every file it lists, by size and
// SHA-256, before the file is decoded (a file of another training run is
// refused, naming it); the layout, the catalogue's columns, and each
// model's stored feature spec against the layout (a renamed, reordered or
// re-shaped feature is refused, naming it). Every file is read only if it
// is a regular file (not a link, a device or a folder) within its size
// bound.
func Load(dir string) (*Model, error) {
	m := &Model{}
	var err error
	if m.Manifest, err = readManifest(dir); err != nil {
		return nil, err
	}
	files := m.Manifest.Files
	cat, err := loadFile(dir, CatalogueFile, files[CatalogueFile], readCatalogue)
	if err != nil {
		return nil, err
	}
	if m.Layout, err = layout.New(m.Manifest.Layout, m.Manifest.End, cat); err != nil {
		return nil, fmt.Errorf("modeldir: %s: %w", ManifestFile, err)
	}
	if m.Candgen, err = loadFile(dir, CandgenFile, files[CandgenFile], candgen.ReadModel); err != nil {
		return nil, err
	}
	if err := m.Layout.CheckCandgen(m.Candgen); err != nil {
		return nil, fmt.Errorf("modeldir: %s: %w", CandgenFile, err)
	}
	if m.Manifest.Ranking {
		if m.Ranking, err = loadFile(dir, RankingFile, files[RankingFile], ranking.ReadModel); err != nil {
			return nil, err
		}
		if err := m.Layout.CheckRanking(m.Ranking); err != nil {
			return nil, fmt.Errorf("modeldir: %s: %w", RankingFile, err)
		}
	}
	if sum, ok := files[UsersFile]; ok {
		t, err := loadFile(dir, UsersFile, sum, readCatalogue)
		if err != nil {
			return nil, err
		}
		want := m.Manifest.Layout.UserTableFeatures
		if len(t.Features) != len(want) {
			return nil, fmt.Errorf("modeldir: %s has %d columns, the layout maps %d", UsersFile, len(t.Features), len(want))
		}
		for i, c := range t.Features {
			if c.Column != want[i].Column || c.Kind != want[i].Kind {
				return nil, fmt.Errorf("modeldir: %s: column %d is %q (%s), the layout maps %q (%s)", UsersFile, i, c.Column, c.Kind, want[i].Column, want[i].Kind)
			}
		}
		m.Users = &events.UserTable{Features: t.Features, Items: t.Items}
		m.Layout.Users = m.Users
	}
	if sum, ok := files[StatsFile]; ok {
		if m.Stats, err = loadFile(dir, StatsFile, sum, readStats); err != nil {
			return nil, err
		}
		m.Layout.Stats = m.Stats
	} else if m.Layout.WantsStats() {
		return nil, fmt.Errorf("modeldir: the layout reads running statistics but the manifest (%s) lists no %s", ManifestFile, StatsFile)
	}
	if sum, ok := files[DictsFile]; ok {
		if m.Dicts, err = loadFile(dir, DictsFile, sum, events.ReadDicts); err != nil {
			return nil, err
		}
		if err := checkDicts(m.Dicts, &m.Manifest.Layout); err != nil {
			return nil, fmt.Errorf("modeldir: %s: %w", DictsFile, err)
		}
	}
	if sum, ok := files[IndexFile]; ok {
		idx, err := loadFile(dir, IndexFile, sum, retrieval.ReadHNSW)
		if err != nil {
			return nil, err
		}
		if err := m.Candgen.SetIndex(idx); err != nil {
			return nil, fmt.Errorf("modeldir: %s: %w", IndexFile, err)
		}
	}
	return m, nil
}

// ReadState reads a training state file of the model directory dir
// (CandgenStateFile or RankingStateFile) with read (train.ReadState),
// checked against the manifest as Load checks every file. A directory
// whose manifest does not list it is an error saying so.
func ReadState[T any](dir, name string, read func(io.Reader) (T, error)) (T, error) {
	var zero T
	if name != CandgenStateFile && name != RankingStateFile {
		return zero, fmt.Errorf("modeldir: %s is not a training state file", name)
	}
	man, err := readManifest(dir)
	if err != nil {
		return zero, err
	}
	sum, ok := man.Files[name]
	if !ok {
		return zero, fmt.Errorf("modeldir: %s: the manifest lists no %s (a model written before warm starts existed, or by a run that kept no state)", dir, name)
	}
	return loadFile(dir, name, sum, read)
}

// checkDicts refuses dictionaries of feature columns the layout does not
// map as IDs.
func checkDicts(d *events.Dicts, c *layout.Config) error {
	ids := map[string]bool{}
	for _, col := range slices.Concat(c.UserFeatures, c.VideoFeatures, c.UserTableFeatures, c.ImpressionFeatures) {
		if col.Kind == events.KindID || col.Kind == events.KindIDs {
			ids[col.Column] = true
		}
	}
	for col := range d.Features {
		if !ids[col] {
			return fmt.Errorf("a dictionary of column %q, which the layout does not map as an ID", col)
		}
	}
	return nil
}

// ReadManifest reads and checks a directory's manifest alone (its format,
// its fields, the files it lists, and no unlisted file of the format), as
// Load does first, without reading the models: what a caller needs to know
// of a directory before loading it (its window, say).
func ReadManifest(dir string) (Manifest, error) { return readManifest(dir) }

// readManifest reads and checks dir's manifest: its format first (a
// directory of another format is refused by its number, whatever else its
// manifest holds), then its fields, then the files it lists against the
// files of the format in dir.
func readManifest(dir string) (Manifest, error) {
	var man Manifest
	f, _, err := regular(dir, ManifestFile, maxManifest)
	if err != nil {
		return man, err
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, maxManifest))
	if err != nil {
		return man, fmt.Errorf("modeldir: %s: %w", ManifestFile, err)
	}
	var probe struct {
		Format int `json:"format"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return man, fmt.Errorf("modeldir: %s: %w", ManifestFile, err)
	}
	if probe.Format != manifestFmt {
		return man, fmt.Errorf("modeldir: %s: format %d, this build reads %d (format 3 binds every file by size and SHA-256): retrain the models", ManifestFile, probe.Format, manifestFmt)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&man); err != nil {
		return man, fmt.Errorf("modeldir: %s: %w", ManifestFile, err)
	}
	var unknown []string
	for name, sum := range man.Files {
		limit, ok := limits[name]
		switch {
		case !ok:
			unknown = append(unknown, name)
		case sum.Size < 0 || sum.Size > limit:
			return man, fmt.Errorf("modeldir: %s: %s of %d bytes, outside 0..%d", ManifestFile, name, sum.Size, limit)
		case len(sum.SHA256) != 2*sha256.Size || strings.ToLower(sum.SHA256) != sum.SHA256:
			return man, fmt.Errorf("modeldir: %s: the SHA-256 of %s is not %d lower-case hex digits", ManifestFile, name, 2*sha256.Size)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return man, fmt.Errorf("modeldir: the manifest (%s) lists files this format does not have: %q", ManifestFile, unknown[:min(len(unknown), 5)])
	}
	need := []string{CandgenFile, CatalogueFile}
	if man.Ranking {
		need = append(need, RankingFile)
	} else {
		for _, name := range []string{RankingFile, RankingStateFile} {
			if _, ok := man.Files[name]; ok {
				return man, fmt.Errorf("modeldir: the manifest (%s) says \"ranking\": false but lists %s", ManifestFile, name)
			}
		}
	}
	if man.End < 0 {
		return man, fmt.Errorf("modeldir: the manifest (%s) records a training window ending at %d (end_unix_ms), before 1970", ManifestFile, man.End)
	}
	for _, name := range need {
		if _, ok := man.Files[name]; !ok {
			return man, fmt.Errorf("modeldir: the manifest (%s) does not list %s", ManifestFile, name)
		}
	}
	for name := range limits {
		if _, listed := man.Files[name]; listed {
			continue
		}
		if _, err := os.Lstat(filepath.Join(dir, name)); !errors.Is(err, fs.ErrNotExist) {
			return man, fmt.Errorf("modeldir: %s is in the directory but not in the manifest (%s): a file of another training run?", name, ManifestFile)
		}
	}
	return man, nil
}

// regular opens dir/name if it is a regular file (not a link, a device or
// a folder) of at most limit bytes, and returns it with its size. The file
// opened is checked to be the one inspected.
func regular(dir, name string, limit int64) (*os.File, int64, error) {
	path := filepath.Join(dir, name)
	fi, err := os.Lstat(path)
	if err != nil {
		return nil, 0, err
	}
	if !fi.Mode().IsRegular() {
		return nil, 0, fmt.Errorf("modeldir: %s is not a regular file", name)
	}
	if fi.Size() > limit {
		return nil, 0, fmt.Errorf("modeldir: %s holds %d bytes, more than the %d allowed", name, fi.Size(), limit)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	if st, err := f.Stat(); err != nil || !os.SameFile(fi, st) {
		f.Close()
		return nil, 0, fmt.Errorf("modeldir: %s changed while being opened", name)
	}
	return f, fi.Size(), nil
}

// loadFile decodes dir/name with read once it is known to be a regular
// file of the size the manifest records with the SHA-256 it records: a file
// of another training run is never decoded.
func loadFile[T any](dir, name string, sum FileSum, read func(io.Reader) (T, error)) (T, error) {
	var zero T
	f, size, err := regular(dir, name, limits[name])
	if err != nil {
		return zero, err
	}
	defer f.Close()
	if size != sum.Size {
		return zero, fmt.Errorf("modeldir: %s holds %d bytes, the manifest (%s) says %d: a file of another training run?", name, size, ManifestFile, sum.Size)
	}
	h := sha256.New()
	if n, err := io.Copy(h, io.LimitReader(f, size+1)); err != nil {
		return zero, fmt.Errorf("modeldir: %s: %w", name, err)
	} else if n != size {
		return zero, fmt.Errorf("modeldir: %s changed while being read", name)
	}
	if hex.EncodeToString(h.Sum(nil)) != sum.SHA256 {
		return zero, fmt.Errorf("modeldir: %s: its SHA-256 differs from the manifest's (%s): a file of another training run?", name, ManifestFile)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return zero, fmt.Errorf("modeldir: %s: %w", name, err)
	}
	v, err := read(io.LimitReader(f, size))
	if err != nil {
		return zero, fmt.Errorf("%s: %w", name, err)
	}
	return v, nil
}

// writeCatalogue writes the catalogue as a binfmt container: the feature
// columns (name, kind), then the item IDs and one column of values per
// feature (IDs as int64, others as float64).
func writeCatalogue(w io.Writer, c *events.Catalogue) (int64, error) {
	return binfmt.WriteContainer(w, catMagic, catVersion, func(bw *binfmt.Writer) {
		bw.I64(int64(len(c.Features)))
		for _, f := range c.Features {
			bw.String(f.Column)
			bw.String(f.Kind)
		}
		ids := make([]int64, 0, len(c.Items))
		for id := range c.Items {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		bw.I64s(ids)
		for k, f := range c.Features {
			switch f.Kind {
			case events.KindID:
				col := make([]int64, len(ids))
				for i, id := range ids {
					col[i] = c.Items[id][k].ID
				}
				bw.I64s(col)
			case events.KindIDs: // lengths, then every value
				lens := make([]int64, len(ids))
				var flat []int64
				for i, id := range ids {
					lens[i] = int64(len(c.Items[id][k].IDs))
					flat = append(flat, c.Items[id][k].IDs...)
				}
				bw.I64s(lens)
				bw.I64s(flat)
			default:
				col := make([]float64, len(ids))
				for i, id := range ids {
					x := c.Items[id][k]
					col[i] = x.Num
					if f.Kind == events.KindTime && x.ID == events.NullID {
						col[i] = math.NaN() // a null time
					}
				}
				bw.F64s(col)
			}
		}
	})
}

func readCatalogue(r io.Reader) (*events.Catalogue, error) {
	return binfmt.ReadContainer(r, catMagic, catVersion, "catalogue", func(br *binfmt.Reader) (*events.Catalogue, error) {
		nf := br.I64()
		if br.Err() == nil && (nf < 0 || nf > maxCatFeats) {
			br.Fail("catalogue: %d features", nf)
		}
		c := &events.Catalogue{Items: map[int64][]events.Feat{}}
		for i := int64(0); i < nf && br.Err() == nil; i++ {
			c.Features = append(c.Features, events.Column{Column: br.String(1 << 10), Kind: br.String(16)})
		}
		ids := br.I64s(maxCatalogue)
		if err := br.Err(); err != nil {
			return nil, err
		}
		// Every column is read before anything is sized by items × columns:
		// what is allocated grows with the bytes the file holds.
		idCols := make([][]int64, nf)
		numCols := make([][]float64, nf)
		bags := make([][][]int64, nf)
		for k, f := range c.Features {
			if br.Err() != nil {
				break
			}
			var n int
			switch f.Kind {
			case events.KindID:
				idCols[k] = br.I64s(len(ids))
				n = len(idCols[k])
			case events.KindContinuous, events.KindTime:
				numCols[k] = br.F64s(len(ids))
				n = len(numCols[k])
			case events.KindIDs:
				lens := br.I64s(len(ids))
				flat := br.I64s(maxCatalogue)
				n = len(lens)
				var total int64
				for _, m := range lens {
					if m < 0 || total+m > int64(len(flat)) {
						br.Fail("catalogue: column %q: lengths past its %d values", f.Column, len(flat))
						break
					}
					bags[k] = append(bags[k], flat[total:total+m:total+m])
					total += m
				}
				if br.Err() == nil && total != int64(len(flat)) {
					br.Fail("catalogue: column %q: %d values for lengths summing to %d", f.Column, len(flat), total)
				}
			default:
				br.Fail("catalogue: column %q has kind %q", f.Column, f.Kind)
				continue
			}
			if br.Err() == nil && n != len(ids) {
				br.Fail("catalogue: column %q has %d values for %d items", f.Column, n, len(ids))
			}
		}
		if err := br.Err(); err != nil {
			return nil, err
		}
		slab := make([]events.Feat, len(ids)*int(nf))
		for i, id := range ids {
			row := slab[i*int(nf) : (i+1)*int(nf) : (i+1)*int(nf)]
			for k, f := range c.Features {
				switch {
				case f.Kind == events.KindID:
					row[k].ID = idCols[k][i]
				case f.Kind == events.KindIDs:
					row[k].IDs = bags[k][i]
				case f.Kind == events.KindTime && math.IsNaN(numCols[k][i]):
					row[k].ID = events.NullID // a null time
				default:
					row[k].Num = numCols[k][i]
				}
			}
			c.Items[id] = row
		}
		return c, nil
	})
}
