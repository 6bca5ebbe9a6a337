package modeldir

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/ytdnn/ytdnn/candgen"
	"github.com/ytdnn/ytdnn/events"
	"github.com/ytdnn/ytdnn/internal/binfmt"
	"github.com/ytdnn/ytdnn/layout"
	"github.com/ytdnn/ytdnn/ranking"
	"github.com/ytdnn/ytdnn/retrieval"
)

// Files of a model directory.
const (
	ManifestFile      = "pipeline.json"    // Manifest: the layout and the window's end
	CandgenFile       = "candgen.model"    // candgen.Model
	RankingFile       = "ranking.model"    // ranking.Model (when the logs had impressions)
	CatalogueFile     = "catalogue.bin"    // the videos' catalogue features
	IndexFile         = "index.hnsw"       // optional retrieval.HNSW over the candgen items
	manifestFmt       = 2                  // Manifest.Format this build writes and reads
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
}

// Model is a loaded model directory.
type Model struct {
	Manifest Manifest
	Layout   *layout.Layout
	Candgen  *candgen.Model
	Ranking  *ranking.Model // nil without impressions
}

// Write writes m (and idx, when not nil) as a model directory at
// out, atomically: everything goes to a temporary directory beside out,
// which is renamed to out only when every file is written and synced, so a
// failed run leaves no half-written directory. out must not exist.
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
	if err := m.Candgen.Save(filepath.Join(tmp, CandgenFile)); err != nil {
		return err
	}
	if m.Ranking != nil {
		if err := m.Ranking.Save(filepath.Join(tmp, RankingFile)); err != nil {
			return err
		}
	}
	if err := binfmt.WriteFileAtomic(filepath.Join(tmp, CatalogueFile), func(w io.Writer) error {
		_, err := writeCatalogue(w, m.Layout.Catalogue)
		return err
	}); err != nil {
		return err
	}
	if idx != nil {
		if err := idx.Save(filepath.Join(tmp, IndexFile)); err != nil {
			return err
		}
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

// Load loads a model directory written by Write and checks that its parts
// fit together: the manifest's format and layout, the catalogue's columns,
// and each model's stored feature spec against the layout (a renamed,
// reordered or re-shaped feature is refused, naming it). Every file is
// read only if it is a regular file within its size bound.
func Load(dir string) (*Model, error) {
	raw, err := readBounded(filepath.Join(dir, ManifestFile), maxManifest)
	if err != nil {
		return nil, err
	}
	m := &Model{}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m.Manifest); err != nil {
		return nil, fmt.Errorf("modeldir: %s: %w", ManifestFile, err)
	}
	if m.Manifest.Format != manifestFmt {
		return nil, fmt.Errorf("modeldir: %s: format %d, this build reads %d (retrain the models)", ManifestFile, m.Manifest.Format, manifestFmt)
	}
	cat, err := loadFile(filepath.Join(dir, CatalogueFile), maxCatalogueBytes, readCatalogue)
	if err != nil {
		return nil, err
	}
	if m.Layout, err = layout.New(m.Manifest.Layout, m.Manifest.End, cat); err != nil {
		return nil, fmt.Errorf("modeldir: %s: %w", ManifestFile, err)
	}
	if m.Candgen, err = loadFile(filepath.Join(dir, CandgenFile), maxModelBytes, candgen.ReadModel); err != nil {
		return nil, err
	}
	if err := m.Layout.CheckCandgen(m.Candgen); err != nil {
		return nil, fmt.Errorf("modeldir: %s: %w", CandgenFile, err)
	}
	if m.Manifest.Ranking {
		if m.Ranking, err = loadFile(filepath.Join(dir, RankingFile), maxModelBytes, ranking.ReadModel); err != nil {
			return nil, err
		}
		if err := m.Layout.CheckRanking(m.Ranking); err != nil {
			return nil, fmt.Errorf("modeldir: %s: %w", RankingFile, err)
		}
	}
	if err := LoadIndex(m.Candgen, filepath.Join(dir, IndexFile)); err != nil {
		return nil, err
	}
	return m, nil
}

// regular opens path if it is a regular file (not a link, a device or a
// folder) of at most limit bytes.
func regular(path string, limit int64) (*os.File, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("modeldir: %s is not a regular file", filepath.Base(path))
	}
	if fi.Size() > limit {
		return nil, fmt.Errorf("modeldir: %s holds %d bytes, more than the %d allowed", filepath.Base(path), fi.Size(), limit)
	}
	return os.Open(path)
}

// readBounded reads a regular file of at most limit bytes.
func readBounded(path string, limit int64) ([]byte, error) {
	f, err := regular(path, limit)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, limit))
}

// loadFile decodes a regular file of at most limit bytes with read.
func loadFile[T any](path string, limit int64, read func(io.Reader) (T, error)) (T, error) {
	var zero T
	f, err := regular(path, limit)
	if err != nil {
		return zero, err
	}
	defer f.Close()
	v, err := read(io.LimitReader(f, limit))
	if err != nil {
		return zero, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	return v, nil
}

// LoadIndex loads the HNSW index at path into cg when the file exists (a
// model directory's index is optional); SetIndex checks that it holds
// exactly cg's items.
func LoadIndex(cg *candgen.Model, path string) error {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	idx, err := loadFile(path, maxModelBytes, retrieval.ReadHNSW)
	if err != nil {
		return err
	}
	return cg.SetIndex(idx)
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
			if f.Kind == events.KindID {
				col := make([]int64, len(ids))
				for i, id := range ids {
					col[i] = c.Items[id][k].ID
				}
				bw.I64s(col)
			} else {
				col := make([]float64, len(ids))
				for i, id := range ids {
					col[i] = c.Items[id][k].Num
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
		feats := make([][]events.Feat, len(ids))
		for i := range feats {
			feats[i] = make([]events.Feat, nf)
		}
		for k, f := range c.Features {
			switch f.Kind {
			case events.KindID:
				col := br.I64s(len(ids))
				if br.Err() == nil && len(col) != len(ids) {
					br.Fail("catalogue: column %q has %d values for %d items", f.Column, len(col), len(ids))
				}
				for i := range col {
					feats[i][k].ID = col[i]
				}
			case events.KindContinuous, events.KindTime:
				col := br.F64s(len(ids))
				if br.Err() == nil && len(col) != len(ids) {
					br.Fail("catalogue: column %q has %d values for %d items", f.Column, len(col), len(ids))
				}
				for i := range col {
					feats[i][k].Num = col[i]
				}
			default:
				br.Fail("catalogue: column %q has kind %q", f.Column, f.Kind)
			}
		}
		if err := br.Err(); err != nil {
			return nil, err
		}
		for i, id := range ids {
			c.Items[id] = feats[i]
		}
		return c, nil
	})
}
