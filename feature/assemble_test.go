package feature

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ytdnn/ytdnn/embedding"
)

// TestAssembleFeaturesIsAssemble: for every subset of the features, in
// any order, AssembleFeatures writes bit for bit what EncodeTo and
// Assemble write at those features' Columns (bags averaged over MaxLen,
// OOV and empty IDs zero, powers of a continuous value, a Value), it
// allocates nothing, and bad values are the encoder's errors naming the
// feature.
func TestAssembleFeaturesIsAssemble(t *testing.T) {
	e := fitted(t)
	p, err := e.NewParams(0.5, nil, nil)
	require.NoError(t, err)
	exs := []Example{
		{IDs: [][]int64{{2, 3}, {4}, {1}, nil, nil}, Nums: []float64{0, 0, 0, 24.5, 1}},
		{IDs: [][]int64{{9, 2, 3, 77}, {77}, nil, nil, nil}, Nums: []float64{0, 0, 0, -3, 0.25}},
		{IDs: [][]int64{nil, nil, {0}, nil, nil}, Nums: []float64{0, 0, 0, 1e9, 0}},
	}
	F := len(e.Spec.Features)
	for k := range exs {
		ex := &exs[k]
		enc, err := e.Encode(ex)
		require.NoError(t, err)
		full := make([]float32, e.Width())
		require.NoError(t, e.Assemble(full, &enc, p))
		for mask := 1; mask < 1<<F; mask++ {
			var feats []int
			var want []float32
			for i := F - 1; i >= 0; i-- { // descending: any order packs as listed
				if mask&(1<<i) != 0 {
					feats = append(feats, i)
					o, w := e.Columns(i)
					want = append(want, full[o:o+w]...)
				}
			}
			got := make([]float32, len(want))
			require.NoError(t, e.AssembleFeatures(got, ex, p, feats))
			for j := range got {
				require.Equal(t, math.Float32bits(want[j]), math.Float32bits(got[j]), "example %d, features %v, column %d", k, feats, j)
			}
		}
	}
	all := []int{0, 1, 2, 3, 4}
	row := make([]float32, e.Width())
	allocs := testing.AllocsPerRun(50, func() {
		if err := e.AssembleFeatures(row, &exs[0], p, all); err != nil {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs)

	for _, c := range []struct {
		name  string
		ex    Example
		feats []int
		dst   int
		want  string
	}{
		{"NaN continuous", Example{IDs: make([][]int64, 5), Nums: []float64{0, 0, 0, math.NaN(), 0}}, []int{3}, 3, `"age"`},
		{"value above 1", Example{IDs: make([][]int64, 5), Nums: []float64{0, 0, 0, 0, 2}}, []int{4}, 1, `"gender"`},
		{"two IDs in a univalent feature", Example{IDs: [][]int64{nil, {1, 2}, nil, nil, nil}, Nums: make([]float64, 5)}, []int{1}, 4, `"seed"`},
		{"short slots", Example{IDs: make([][]int64, 4), Nums: make([]float64, 5)}, []int{0}, 4, "slots"},
		{"no such feature", Example{IDs: make([][]int64, 5), Nums: make([]float64, 5)}, []int{5}, 4, "no feature 5"},
		{"dst too short", Example{IDs: make([][]int64, 5), Nums: make([]float64, 5)}, []int{0, 1}, 5, "dst holds 5"},
		{"dst too long", Example{IDs: make([][]int64, 5), Nums: make([]float64, 5)}, []int{4}, 2, "dst holds 2"},
	} {
		err := e.AssembleFeatures(make([]float32, c.dst), &c.ex, p, c.feats)
		assert.ErrorContains(t, err, c.want, c.name)
	}
	assert.ErrorContains(t, e.AssembleFeatures(row, &exs[0], &Params{Tables: []*embedding.Table{}}, all), "parameters", "tables of another encoder")
	narrow, err := embedding.NewTable(p.Tables[1].Rows, 1, 0.5, nil)
	require.NoError(t, err)
	assert.ErrorContains(t, e.AssembleFeatures(row, &exs[0], &Params{Tables: []*embedding.Table{p.Tables[0], narrow}}, all), `feature "region"`, "a table of another dimension")
}
