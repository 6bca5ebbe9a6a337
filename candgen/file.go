package candgen

import (
	"fmt"
	"io"

	"github.com/ytdnn/ytdnn/embedding"
	"github.com/ytdnn/ytdnn/feature"
	"github.com/ytdnn/ytdnn/internal/binfmt"
	"github.com/ytdnn/ytdnn/tower"
)

// ErrFormat is wrapped by every error of a model file that is malformed,
// truncated, corrupted or of another format version (errors.Is), as
// opposed to an I/O error.
var ErrFormat = binfmt.ErrFormat

// fileVersion 2: vocabularies hold int64 IDs only (version 1 had a
// string-key flag per entry).
const fileMagic, fileVersion = "YTCG", 2

// WriteTo writes the whole model (spec, vocabularies, normalizers, embedding
// tables, tower, softmax table) as one checksummed stream. The layout is
// binfmt's container: magic "YTCG", version, then the user-feature count,
// age-feature index and label space, the encoder, the embedding tables, the
// tower and the softmax table, then a CRC-32C.
func (m *Model) WriteTo(w io.Writer) (int64, error) {
	return binfmt.WriteContainer(w, fileMagic, fileVersion, func(bw *binfmt.Writer) {
		bw.I64(int64(m.userFeatures))
		bw.I64(int64(m.ageFeature))
		bw.I64(int64(m.videoSpace))
		// Each part's error is sticky in bw, which WriteContainer reports.
		m.enc.WriteTo(bw)
		m.emb.WriteTo(bw)
		m.mlp.WriteTo(bw)
		m.soft.WriteTo(bw)
	})
}

// ReadModel reads a model written by WriteTo. A truncated or corrupted
// stream, or one of another format version, is an error.
func ReadModel(r io.Reader) (*Model, error) {
	m, err := binfmt.ReadContainer(r, fileMagic, fileVersion, "model", decode)
	if err != nil {
		return nil, fmt.Errorf("candgen: %w", err)
	}
	if err := m.buildExact(); err != nil {
		return nil, fmt.Errorf("candgen: %w", err)
	}
	return m, nil
}

func decode(br *binfmt.Reader) (*Model, error) {
	if err := br.CheckVersion(fileVersion); err != nil {
		return nil, err
	}
	m := &Model{userFeatures: int(br.I64()), ageFeature: int(br.I64()), videoSpace: int(br.I64())}
	if err := br.Err(); err != nil {
		return nil, err
	}
	var err error
	if m.enc, err = feature.ReadEncoder(br); err != nil {
		return nil, err
	}
	if m.emb, err = m.enc.ReadParams(br); err != nil {
		return nil, err
	}
	if m.mlp, err = tower.ReadMLP(br); err != nil {
		return nil, err
	}
	if m.soft, err = embedding.ReadTable(br); err != nil {
		return nil, err
	}
	if err := m.check(); err != nil {
		return nil, err
	}
	return m, nil
}

// Save writes the model to path atomically (temporary file, fsync, rename):
// a failure leaves any previous file intact.
func (m *Model) Save(path string) error {
	return binfmt.Save(path, m)
}

// Load reads a model saved by Save.
func Load(path string) (*Model, error) {
	return binfmt.Load(path, ReadModel)
}
