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
	seeds, err := binfmt.BodySeeds(m)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range seeds {
		f.Add(s)
	}
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
