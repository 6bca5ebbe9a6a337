package candgen

import (
	"bytes"
	"context"
	"testing"

	"github.com/ytdnn/ytdnn/feature"
)

// FuzzReadModel: arbitrary bytes never panic the loader; they load or fail
// with an error. Seeds: a valid model, its truncations and bit flips.
func FuzzReadModel(f *testing.F) {
	var data []Example
	for i := 0; i < 50; i++ {
		data = append(data, Example{Features: histExample([]int64{int64(i % 7), int64(i % 5)}), Label: int64(i % 9)})
	}
	m, _, err := Train(context.Background(), Config{Spec: histSpec(), Tower: []int{4}, Batch: 16, Negatives: 3, Seed: 1}, data)
	if err != nil {
		f.Fatal(err)
	}
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
		if _, err := m.Recommend(feature.Example{IDs: make([][]int64, 2), Nums: make([]float64, 2)}, 3, nil); err != nil {
			t.Fatalf("a model that loads must serve: %v", err)
		}
	})
}
