package ranking

import (
	"bytes"
	"testing"

	"github.com/ytdnn/ytdnn/feature"
	"github.com/ytdnn/ytdnn/internal/binfmt"
)

// FuzzReadModel: any model body with a correct checksum loads or fails with
// an error, never a panic; a model that loads ranks a slate.
func FuzzReadModel(f *testing.F) {
	m, imps := randomModel(f, 1)
	var buf bytes.Buffer
	if _, err := m.WriteTo(&buf); err != nil {
		f.Fatal(err)
	}
	body := binfmt.Body(buf.Bytes())
	f.Add(body)
	f.Add(body[:len(body)/2])
	flip := bytes.Clone(body)
	flip[len(flip)/3] ^= 0x40
	f.Add(flip)
	cands := []feature.Example{imps[0].Features, imps[1].Features}
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := ReadModel(bytes.NewReader(binfmt.Seal(fileMagic, fileVersion, body)))
		if err != nil {
			return
		}
		// Candidates that do not fit a mutated spec are an error; a panic
		// is the bug this looks for.
		_, _ = m.Rank([]int64{1, 2}, cands)
	})
}
