package candgen

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ytdnn/ytdnn/feature"
	"github.com/ytdnn/ytdnn/internal/binfmt"
)

// FuzzReadModel: arbitrary bytes never panic the loader; they load or fail
// with an error. Seeds: a valid model, its truncations and bit flips.
func FuzzReadModel(f *testing.F) {
	m := randomModel(f, 1, false)
	var buf bytes.Buffer
	if _, err := m.WriteTo(&buf); err != nil {
		f.Fatal(err)
	}
	raw := buf.Bytes()
	f.Add(raw)
	f.Add(raw[:len(raw)/2])
	f.Add([]byte("YTCG"))
	flip := append([]byte(nil), raw...)
	flip[40] ^= 0xff
	f.Add(flip)
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ReadModel(bytes.NewReader(b))
		if err != nil {
			return
		}
		if _, err := m.Recommend(context.Background(), feature.Example{IDs: make([][]int64, 2), Nums: make([]float64, 2)}, 3, nil); err != nil {
			t.Fatalf("a model that loads must serve: %v", err)
		}
	})
}

// TestReadModelRejectsInconsistentHeader: a header whose user-feature count
// and example-age index disagree (it loads, then fails every request) is a
// format error at load.
func TestReadModelRejectsInconsistentHeader(t *testing.T) {
	m := randomModel(t, 1, true)
	nf := len(m.enc.Spec.Features)
	require.Equal(t, nf-1, m.ageFeature)
	for name, h := range map[string][2]int{
		"age slot counted as a user feature": {nf, nf - 1},
		"age not last":                       {nf - 1, 0},
		"no age, too few features":           {nf - 1, -1},
		"negative count":                     {-1, nf - 1},
	} {
		t.Run(name, func(t *testing.T) {
			bad := *m
			bad.userFeatures, bad.ageFeature = h[0], h[1]
			var buf bytes.Buffer
			_, err := bad.WriteTo(&buf)
			require.NoError(t, err)
			_, err = ReadModel(&buf)
			assert.ErrorIs(t, err, binfmt.ErrFormat)
		})
	}
}

// FuzzReadModelBody is FuzzReadModel past the checksum: bodies are sealed
// with a correct one, so the fuzzer reaches the decoder's structure checks.
func FuzzReadModelBody(f *testing.F) {
	seeds, err := binfmt.BodySeeds(randomModel(f, 1, true))
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := ReadModel(bytes.NewReader(binfmt.Seal(fileMagic, fileVersion, body)))
		if err != nil {
			return
		}
		ex := feature.Example{IDs: make([][]int64, m.userFeatures), Nums: make([]float64, m.userFeatures)}
		if _, err := m.Recommend(context.Background(), ex, 3, nil); err != nil {
			t.Logf("recommend: %v", err) // an error is allowed; a panic is the bug
		}
	})
}
