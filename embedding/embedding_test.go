package embedding

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestVocabTopNAndTies(t *testing.T) {
	c := NewCounter()
	c.Add(10, 5)
	c.Add(11, 7)
	c.Add(12, 5)
	c.Add(9, 5)
	c.Add(13, 1)
	v := c.Vocab(3)
	require.Equal(t, 4, v.Size())
	assert.Equal(t, int32(1), v.Index(11))
	assert.Equal(t, int32(2), v.Index(9)) // tie at 5: ascending IDs
	assert.Equal(t, int32(3), v.Index(10))
	assert.Equal(t, OOV, v.Index(12)) // truncated
	assert.Equal(t, OOV, v.Index(13))
	assert.Equal(t, OOV, v.Index(999))
	id, ok := v.ID(1)
	require.True(t, ok)
	assert.Equal(t, int64(11), id)
	for _, i := range []int32{0, 4, -1} {
		_, ok = v.ID(i)
		assert.False(t, ok, "index %d has no ID", i)
	}
	assert.Equal(t, []int64{7, 5, 5}, v.Counts())

	// Deterministic regardless of insertion order.
	c2 := NewCounter()
	c2.Add(13, 1)
	c2.Add(12, 5)
	c2.Add(9, 5)
	c2.Add(11, 7)
	c2.Add(10, 5)
	v2 := c2.Vocab(3)
	for i := int32(1); i < 4; i++ {
		a, _ := v.ID(i)
		b, _ := v2.ID(i)
		assert.Equal(t, a, b)
	}
}

func TestDimRule(t *testing.T) {
	assert.Equal(t, 4, Dim(1))
	assert.Equal(t, 4, Dim(2))
	assert.Equal(t, 4*7, Dim(100))
	assert.Equal(t, 4*10, Dim(1000))
	assert.Equal(t, 80, Dim(1_000_000))
	assert.LessOrEqual(t, Dim(math.MaxInt), 256)
	for n := 2; n < 1<<20; n *= 3 {
		assert.LessOrEqual(t, Dim(n), Dim(n*3), "monotone")
	}
}

func TestLookupAndBag(t *testing.T) {
	tab, err := NewTable(5, 3, 1, rand.New(rand.NewPCG(1, 1)))
	require.NoError(t, err)
	assert.Equal(t, []float32{0, 0, 0}, tab.Row(0))
	dst := make([]float32, 6)
	require.NoError(t, tab.Lookup(dst, []int32{2, 99}))
	assert.Equal(t, tab.Row(2), dst[:3])
	assert.Equal(t, []float32{0, 0, 0}, dst[3:])

	bag := make([]float32, 3)
	require.NoError(t, tab.LookupBag(bag, []int32{1, 2, 0}))
	for j := 0; j < 3; j++ {
		assert.InDelta(t, (tab.Row(1)[j]+tab.Row(2)[j])/3, bag[j], 1e-6)
	}
	require.NoError(t, tab.LookupBag(bag, nil))
	assert.Equal(t, []float32{0, 0, 0}, bag, "empty bag is zeros, not NaN")
}

func TestGradDuplicatesAccumulate(t *testing.T) {
	g := NewGrad(10, 2)
	require.NoError(t, g.Add(3, 1, []float32{1, 2}))
	require.NoError(t, g.Add(3, 2, []float32{1, 1}))
	require.NoError(t, g.AddBag([]int32{4, 4, 0}, []float32{3, 3}))
	assert.Equal(t, []float32{3, 4}, g.Row(3))
	assert.Equal(t, []float32{2, 2}, g.Row(4))
	assert.Nil(t, g.Row(0), "OOV never gets a gradient")
	assert.Len(t, g.Rows, 2)
	g.Reset()
	assert.Nil(t, g.Row(3))
	require.NoError(t, g.Add(5, 1, []float32{1, 1}))
	assert.Equal(t, []float32{1, 1}, g.Row(5))
}

func TestOOVStaysZero(t *testing.T) {
	for name, opt := range map[string]Optimizer{
		"sgd": &SGD{LR: 0.1}, "adagrad": &Adagrad{LR: 0.1}, "adam": &LazyAdam{LR: 0.1},
	} {
		t.Run(name, func(t *testing.T) {
			tab, err := NewTable(6, 4, 0.1, nil)
			require.NoError(t, err)
			g := NewGrad(6, 4)
			for step := 0; step < 5; step++ {
				g.Reset()
				require.NoError(t, g.Add(0, 1, []float32{1, 1, 1, 1}))
				require.NoError(t, g.AddBag([]int32{0, 2, 0}, []float32{1, -1, 1, -1}))
				require.NoError(t, opt.Apply(tab, g))
			}
			assert.Equal(t, []float32{0, 0, 0, 0}, tab.Row(0))
			assert.NotEqual(t, float32(0), tab.Row(2)[0])
		})
	}
}

// denseAdam and denseAdagrad are textbook dense references.
func denseAdam(p, m, v, g []float64, lr, b1, b2, eps float64, step int) {
	for i := range p {
		m[i] = b1*m[i] + (1-b1)*g[i]
		v[i] = b2*v[i] + (1-b2)*g[i]*g[i]
		mh := m[i] / (1 - math.Pow(b1, float64(step)))
		vh := v[i] / (1 - math.Pow(b2, float64(step)))
		p[i] -= lr * mh / (math.Sqrt(vh) + eps)
	}
}

func TestSparseMatchesDenseReference(t *testing.T) {
	const rows, dim, steps = 8, 3, 6
	rng := rand.New(rand.NewPCG(3, 4))
	touched := []int32{2, 5, 5, 7} // duplicates included
	grads := make([][]float32, steps*len(touched))
	for i := range grads {
		grads[i] = []float32{float32(rng.NormFloat64()), float32(rng.NormFloat64()), float32(rng.NormFloat64())}
	}
	for _, name := range []string{"adam", "adagrad"} {
		t.Run(name, func(t *testing.T) {
			tab, err := NewTable(rows, dim, 0.5, rand.New(rand.NewPCG(5, 6)))
			require.NoError(t, err)
			ref := make([]float64, len(tab.Data))
			for i, x := range tab.Data {
				ref[i] = float64(x)
			}
			var opt Optimizer = &LazyAdam{LR: 0.05}
			if name == "adagrad" {
				opt = &Adagrad{LR: 0.05}
			}
			m := make([]float64, len(ref))
			v := make([]float64, len(ref))
			acc := make([]float64, len(ref))
			for i := range acc {
				acc[i] = 0.1
			}
			g := NewGrad(rows, dim)
			for s := 0; s < steps; s++ {
				g.Reset()
				dense := make([]float64, len(ref))
				for k, r := range touched {
					gr := grads[s*len(touched)+k]
					require.NoError(t, g.Add(r, 1, gr))
					for j := 0; j < dim; j++ {
						dense[int(r)*dim+j] += float64(gr[j])
					}
				}
				require.NoError(t, opt.Apply(tab, g))
				if name == "adam" {
					denseAdam(ref, m, v, dense, 0.05, 0.9, 0.999, 1e-8, s+1)
				} else {
					for i := range ref {
						if dense[i] == 0 {
							continue // untouched rows are not part of the reference
						}
						acc[i] += dense[i] * dense[i]
						ref[i] -= 0.05 * dense[i] / (math.Sqrt(acc[i]) + 1e-8)
					}
				}
			}
			for _, r := range []int32{2, 5, 7} {
				for j := 0; j < dim; j++ {
					assert.InDelta(t, ref[int(r)*dim+j], float64(tab.Row(r)[j]), 1e-5, "row %d", r)
				}
			}
		})
	}
}

func TestGradMemoryIsSparse(t *testing.T) {
	const rows, dim = 1_000_000, 64
	tab := &Table{Rows: rows, Dim: dim, Data: make([]float32, rows*dim)}
	g := NewGrad(rows, dim)
	opt := &SGD{LR: 0.1}
	v := make([]float32, dim)
	ids := []int32{5, 99, 5000, 999_999}
	step := func() {
		g.Reset()
		if err := g.AddBag(ids, v); err != nil {
			t.Fatal(err)
		}
		if err := opt.Apply(tab, g); err != nil {
			t.Fatal(err)
		}
	}
	step()
	allocs := testing.AllocsPerRun(20, step)
	assert.Equal(t, 0.0, allocs, "a warmed-up sparse step must not allocate")
	assert.LessOrEqual(t, cap(g.Data), 8*dim)
}

// requirePrefixOnce checks that err's message starts with the package
// prefix and carries it once.
func requirePrefixOnce(t *testing.T, err error) {
	t.Helper()
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), "embedding: "), "prefix: %v", err)
	assert.Equal(t, 1, strings.Count(err.Error(), "embedding: "), "prefix once: %v", err)
}

// TestBadInputIsError: shapes, buffers of the wrong length and gradients
// that do not fit are errors that say what is wrong, and change nothing.
func TestBadInputIsError(t *testing.T) {
	tab, err := NewTable(5, 3, 1, rand.New(rand.NewPCG(1, 1)))
	require.NoError(t, err)
	before := slices.Clone(tab.Data)
	g := NewGrad(5, 3)
	nan := NewGrad(5, 3)
	require.NoError(t, nan.Add(2, 1, []float32{0, float32(math.NaN()), 0}))
	type badCase struct {
		name, want string
		err        func() error
	}
	cases := []badCase{
		{"NewTable with no rows", "embedding: invalid table shape 0×2", func() error { _, err := NewTable(0, 2, 0.1, nil); return err }},
		{"NewTable with no columns", "embedding: invalid table shape 4×0", func() error { _, err := NewTable(4, 0, 0.1, nil); return err }},
		{"Lookup dst too short", "embedding: Lookup: dst holds 5 floats, want 2 ids × dim 3", func() error { return tab.Lookup(make([]float32, 5), []int32{1, 2}) }},
		{"LookupBag dst too short", "embedding: LookupBag: dst holds 2 floats, want dim 3", func() error { return tab.LookupBag(make([]float32, 2), []int32{1}) }},
		{"Grad.Add gradient too short", "embedding: Grad.Add: gradient of 2 floats, want dim 3", func() error { return g.Add(1, 1, make([]float32, 2)) }},
		{"Grad.AddBag gradient too long", "embedding: Grad.AddBag: gradient of 4 floats, want dim 3", func() error { return g.AddBag([]int32{1}, make([]float32, 4)) }},
	}
	for _, opt := range []Optimizer{&SGD{LR: 1}, &Adagrad{LR: 1}, &LazyAdam{LR: 1}, &RowAdagrad{LR: 1}} {
		name := strings.TrimPrefix(fmt.Sprintf("%T", opt), "*embedding.")
		cases = append(cases,
			badCase{name + " with another table's rows", "embedding: " + name + ": gradient for 6×3 applied to a 5×3 table", func() error { return opt.Apply(tab, NewGrad(6, 3)) }},
			badCase{name + " with another table's dim", "embedding: " + name + ": gradient for 5×2 applied to a 5×3 table", func() error { return opt.Apply(tab, NewGrad(5, 2)) }},
			badCase{name + " with a NaN gradient", "embedding: " + name + ": non-finite gradient", func() error { return opt.Apply(tab, nan) }},
		)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.err()
			requirePrefixOnce(t, err)
			assert.EqualError(t, err, tc.want)
		})
	}
	assert.Empty(t, g.Rows, "nothing accumulated")
	assert.Equal(t, before, tab.Data, "nothing updated")
}

// TestRowAdagradMatchesReference: row-wise Adagrad against a textbook
// implementation over steps that touch different rows (rows skipped on a
// step keep their values and accumulators), with duplicates in a step.
func TestRowAdagradMatchesReference(t *testing.T) {
	const rows, dim = 6, 3
	tab, err := NewTable(rows, dim, 0.5, rand.New(rand.NewPCG(4, 4)))
	require.NoError(t, err)
	ref := slices.Clone(tab.Data)
	acc := make([]float64, rows)
	for i := range acc {
		acc[i] = 0.1
	}
	opt := &RowAdagrad{LR: 0.3}
	rng := rand.New(rand.NewPCG(5, 5))
	steps := [][]int32{{1, 2}, {2, 2, 5}, {4}, {1, 5}, {3}}
	for _, touched := range steps {
		g := NewGrad(rows, dim)
		sum := map[int32][]float64{}
		for _, r := range touched {
			v := []float32{float32(rng.NormFloat64()), float32(rng.NormFloat64()), float32(rng.NormFloat64())}
			require.NoError(t, g.Add(r, 1, v))
			if sum[r] == nil {
				sum[r] = make([]float64, dim)
			}
			for j := range v {
				sum[r][j] += float64(v[j])
			}
		}
		require.NoError(t, opt.Apply(tab, g))
		for r, gr := range sum {
			var ss float64
			for _, x := range gr {
				ss += x * x
			}
			acc[r] += ss / dim
			for j := range gr {
				ref[int(r)*dim+j] -= float32(0.3 * gr[j] / (math.Sqrt(acc[r]) + 1e-8))
			}
		}
		assert.InDeltaSlice(t, ref, tab.Data, 1e-5)
	}
	assert.Equal(t, []float32{0, 0, 0}, tab.Row(0), "the OOV row never trains")
	assert.Equal(t, rows, len(opt.acc), "one accumulator per row")
	assert.Equal(t, 4, StateBytesPerRow(opt, 64))
	assert.Equal(t, 512, StateBytesPerRow(&LazyAdam{}, 64))
}

// TestLazyAdamSkipsUntouchedRows: lazy Adam against a reference lazy update
// written from its definition, on steps that touch different rows: a row
// skipped for several steps keeps its value and its moments (no decay while
// untouched), and when touched again is updated with the global step's bias
// correction. Dense Adam would move the skipped rows (their moments decay
// and keep pushing), so this is what tells lazy from dense.
func TestLazyAdamSkipsUntouchedRows(t *testing.T) {
	const rows, dim = 6, 2
	const lr, b1, b2, eps = 0.1, 0.9, 0.999, 1e-8
	tab, err := NewTable(rows, dim, 0.5, rand.New(rand.NewPCG(2, 2)))
	require.NoError(t, err)
	ref := make([]float64, len(tab.Data))
	for i, x := range tab.Data {
		ref[i] = float64(x)
	}
	m, v := make([]float64, len(ref)), make([]float64, len(ref))
	opt := &LazyAdam{LR: lr}
	rng := rand.New(rand.NewPCG(9, 9))
	schedule := [][]int32{{1, 2}, {1}, {1}, {3}, {2, 1}, {4}, {2}} // row 2 idles for steps 2-4; row 5 never trains
	for step, touched := range schedule {
		g := NewGrad(rows, dim)
		for _, r := range touched {
			require.NoError(t, g.Add(r, 1, []float32{float32(rng.NormFloat64()), float32(rng.NormFloat64())}))
		}
		before := slices.Clone(tab.Data)
		require.NoError(t, opt.Apply(tab, g))
		tt := float64(step + 1)
		for _, r := range touched {
			for j := 0; j < dim; j++ {
				i := int(r)*dim + j
				gr := float64(g.Row(r)[j])
				m[i] = b1*m[i] + (1-b1)*gr
				v[i] = b2*v[i] + (1-b2)*gr*gr
				mh, vh := m[i]/(1-math.Pow(b1, tt)), v[i]/(1-math.Pow(b2, tt))
				ref[i] -= lr * mh / (math.Sqrt(vh) + eps)
			}
		}
		for r := int32(0); r < rows; r++ {
			if !slices.Contains(touched, r) {
				assert.Equal(t, before[int(r)*dim:(int(r)+1)*dim], tab.Row(r), "step %d: untouched row %d must not move", step, r)
			}
		}
		for i := range ref {
			assert.InDelta(t, ref[i], float64(tab.Data[i]), 1e-5, "step %d: param %d", step, i)
		}
	}
}
