package pipe

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
	"github.com/ytdnn/ytdnn/ingest"
	"github.com/ytdnn/ytdnn/internal/binfmt"
	"github.com/ytdnn/ytdnn/ranking"
	"github.com/ytdnn/ytdnn/retrieval"
)

// Files of a pipeline model directory.
const (
	ManifestFile  = "pipeline.json"    // Manifest: the column mapping and the window's end
	CandgenFile   = "candgen.model"    // candgen.Model
	RankingFile   = "ranking.model"    // ranking.Model (when the logs had impressions)
	CatalogueFile = "catalogue.bin"    // the videos' catalogue features
	IndexFile     = "index.hnsw"       // optional retrieval.HNSW over the candgen items
	manifestFmt   = 1                  // Manifest.Format this build writes and reads
	maxManifest   = 1 << 20            // bytes
	maxCatalogue  = 100_000_000        // items
	maxCatFeats   = 1000               // catalogue features
	catMagic      = "YTCT"             // catalogue file magic
	catVersion    = uint32(1)          // catalogue file version
	tmpPrefix     = ".ytdnn-modeldir-" // temporary directories of WriteModelDir
)

// Manifest describes a model directory.
type Manifest struct {
	// Format is the directory layout's version.
	Format int `json:"format"`
	// Spec is the column mapping the models were trained with.
	Spec ingest.Spec `json:"spec"`
	// End is the end of the training window (Unix ms).
	End int64 `json:"end_unix_ms"`
	// Ranking is whether the directory holds a ranker.
	Ranking bool `json:"ranking"`
	// Stats are the training run's numbers, for the record.
	Stats map[string]any `json:"stats,omitempty"`
}

// Model is a loaded pipeline model directory.
type Model struct {
	Manifest Manifest
	Layout   *Layout
	Candgen  *candgen.Model
	Ranking  *ranking.Model // nil without impressions
}

// WriteModelDir writes m (and idx, when not nil) as a model directory at
// out, atomically: everything goes to a temporary directory beside out,
// which is renamed to out only when every file is written and synced, so a
// failed run leaves no half-written directory. out must not exist.
func WriteModelDir(out string, m *Model, idx *retrieval.HNSW) (err error) {
	if _, err := os.Stat(out); err == nil {
		return fmt.Errorf("pipe: %s exists; write new models to a new directory", out)
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
	raw, err := json.MarshalIndent(m.Manifest, "", "  ")
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

// IsModelDir reports whether dir looks like a pipeline model directory.
func IsModelDir(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, ManifestFile))
	return err == nil
}

// LoadModelDir loads a model directory written by WriteModelDir, checking
// that its parts fit together (format, spec, the models' features).
func LoadModelDir(dir string) (*Model, error) {
	raw, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return nil, err
	}
	if len(raw) > maxManifest {
		return nil, fmt.Errorf("pipe: %s larger than %d bytes", ManifestFile, maxManifest)
	}
	m := &Model{}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m.Manifest); err != nil {
		return nil, fmt.Errorf("pipe: %s: %w", ManifestFile, err)
	}
	if m.Manifest.Format != manifestFmt {
		return nil, fmt.Errorf("pipe: %s: format %d, this build reads %d", ManifestFile, m.Manifest.Format, manifestFmt)
	}
	if err := m.Manifest.Spec.Validate(); err != nil {
		return nil, fmt.Errorf("pipe: %s: %w", ManifestFile, err)
	}
	cat, err := binfmt.Load(filepath.Join(dir, CatalogueFile), readCatalogue)
	if err != nil {
		return nil, err
	}
	if len(cat.Features) != len(m.Manifest.Spec.Catalogue.Features) {
		return nil, fmt.Errorf("pipe: catalogue has %d features, the spec maps %d", len(cat.Features), len(m.Manifest.Spec.Catalogue.Features))
	}
	m.Layout = &Layout{Spec: m.Manifest.Spec, End: m.Manifest.End, Catalogue: cat}
	if m.Candgen, err = candgen.Load(filepath.Join(dir, CandgenFile)); err != nil {
		return nil, err
	}
	if len(m.Candgen.Encoder().Spec.Features) != len(m.Layout.CandgenSpec().Features)+1 { // + example age
		return nil, errors.New("pipe: candidate generation's features do not match the spec")
	}
	if m.Manifest.Ranking {
		if m.Ranking, err = ranking.Load(filepath.Join(dir, RankingFile)); err != nil {
			return nil, err
		}
		if len(m.Ranking.Encoder().Spec.Features) != len(m.Layout.RankingSpec().Features) {
			return nil, errors.New("pipe: the ranker's features do not match the spec")
		}
	}
	if err := LoadIndex(m.Candgen, filepath.Join(dir, IndexFile)); err != nil {
		return nil, err
	}
	return m, nil
}

// LoadIndex loads the HNSW index at path into cg when the file exists (a
// model directory's index is optional); SetIndex checks that it holds
// exactly cg's items.
func LoadIndex(cg *candgen.Model, path string) error {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	idx, err := retrieval.LoadHNSW(path)
	if err != nil {
		return err
	}
	return cg.SetIndex(idx)
}

// writeCatalogue writes the catalogue as a binfmt container: the feature
// columns (name, kind), then the item IDs and one column of values per
// feature (IDs as int64, others as float64).
func writeCatalogue(w io.Writer, c *ingest.Catalogue) (int64, error) {
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
			if f.Kind == ingest.KindID {
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

func readCatalogue(r io.Reader) (*ingest.Catalogue, error) {
	return binfmt.ReadContainer(r, catMagic, catVersion, "catalogue", func(br *binfmt.Reader) (*ingest.Catalogue, error) {
		nf := br.I64()
		if br.Err() == nil && (nf < 0 || nf > maxCatFeats) {
			br.Fail("catalogue: %d features", nf)
		}
		c := &ingest.Catalogue{Items: map[int64][]ingest.Feat{}}
		for i := int64(0); i < nf && br.Err() == nil; i++ {
			c.Features = append(c.Features, ingest.Column{Column: br.String(1 << 10), Kind: br.String(16)})
		}
		ids := br.I64s(maxCatalogue)
		if err := br.Err(); err != nil {
			return nil, err
		}
		feats := make([][]ingest.Feat, len(ids))
		for i := range feats {
			feats[i] = make([]ingest.Feat, nf)
		}
		for k, f := range c.Features {
			switch f.Kind {
			case ingest.KindID:
				col := br.I64s(len(ids))
				if br.Err() == nil && len(col) != len(ids) {
					br.Fail("catalogue: column %q has %d values for %d items", f.Column, len(col), len(ids))
				}
				for i := range col {
					feats[i][k].ID = col[i]
				}
			case ingest.KindContinuous, ingest.KindTime:
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
