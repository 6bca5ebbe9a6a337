package fastblas

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// reference computes the product in float64.
// reference is C in float64, rounded once; mag holds each element's
// |alpha|·Σ|a||b| + |beta·c|, the scale of its rounding error.
func reference(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) []float32 {
	out, _ := referenceMag(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	return out
}

func referenceMag(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) ([]float32, []float64) {
	out := append([]float32(nil), c...)
	mag := make([]float64, len(c))
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				var av, bv float32
				if tA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if tB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += float64(av) * float64(bv)
				mag[i*ldc+j] += math.Abs(float64(av) * float64(bv))
			}
			out[i*ldc+j] = float32(float64(alpha)*s + float64(beta)*float64(c[i*ldc+j]))
			mag[i*ldc+j] = math.Abs(float64(alpha))*mag[i*ldc+j] + math.Abs(float64(beta)*float64(c[i*ldc+j]))
		}
	}
	return out, mag
}

// rounding is the error float32 arithmetic may leave in one element: a few
// units of float32 rounding (2⁻²⁴) times √(k+1), relative to the element's
// magnitude Σ|a||b| — the old tolerance, 1e-4·(k+1), was 5% at k = 512.
func rounding(k int, mag float64) float64 {
	return 8 * 0x1p-24 * math.Sqrt(float64(k+1)) * (mag + 1e-30)
}

func randSlice(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return v
}

// check runs Gemm on a random problem with padded leading dimensions and
// compares it with the float64 reference.
func check(t testing.TB, rng *rand.Rand, tA, tB bool, m, n, k int, alpha, beta float32) {
	t.Helper()
	pad := rng.IntN(3)
	ra, ca := m, k
	if tA {
		ra, ca = k, m
	}
	rb, cb := k, n
	if tB {
		rb, cb = n, k
	}
	lda, ldb, ldc := ca+pad, cb+pad, n+pad
	a := randSlice(rng, max(0, (ra-1)*lda+ca))
	b := randSlice(rng, max(0, (rb-1)*ldb+cb))
	c := randSlice(rng, max(0, (m-1)*ldc+n))
	want, mag := referenceMag(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	Gemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			g, w := c[i*ldc+j], want[i*ldc+j]
			if math.Abs(float64(g)-float64(w)) > rounding(k, mag[i*ldc+j]) {
				t.Fatalf("%s tA=%v tB=%v m=%d n=%d k=%d: C[%d,%d]=%g want %g", kernelName, tA, tB, m, n, k, i, j, g, w)
			}
		}
	}
	// Padding between rows is untouched.
	for i := 0; i+1 < m; i++ {
		for j := n; j < ldc; j++ {
			if c[i*ldc+j] != want[i*ldc+j] {
				t.Fatalf("padding of C written")
			}
		}
	}
}

func eachKernel(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	orig := kernelName
	defer useKernel(orig)
	for _, name := range []string{"purego", "avx2", "avx512"} {
		if !useKernel(name) {
			t.Logf("kernel %s not supported here", name)
			continue
		}
		t.Run(name, f)
	}
}

func TestGemmMatchesReference(t *testing.T) {
	eachKernel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(1, 2))
		shapes := [][3]int{{1, 1, 1}, {1, 37, 5}, {37, 1, 5}, {5, 7, 1}, {6, 16, 3}, {6, 32, 300}, {13, 33, 257},
			{121, 70, 9}, {250, 129, 513}, {64, 2100, 20}, {1, 1000, 300}, {300, 1, 300},
			{200, 64, 600}, {127, 50, 70}, {1000, 64, 512}}
		for _, s := range shapes {
			for _, tA := range []bool{false, true} {
				for _, tB := range []bool{false, true} {
					check(t, rng, tA, tB, s[0], s[1], s[2], 1.5, 0.5)
				}
			}
		}
		check(t, rng, false, false, 40, 40, 40, 1, 0)
		check(t, rng, true, false, 40, 40, 0, 2, 3)
		check(t, rng, false, true, 40, 40, 40, 0, 1)
	})
}

// TestSgemmMatchesGonum goes through the BLAS entry point (with its
// small-size cut-over) against gonum within float32 rounding.
func TestSgemmMatchesGonum(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, s := range [][3]int{{2, 3, 4}, {100, 90, 80}, {512, 256, 64}} {
		m, n, k := s[0], s[1], s[2]
		a, b := randSlice(rng, m*k), randSlice(rng, k*n)
		c1, c2 := randSlice(rng, m*n), make([]float32, m*n)
		copy(c2, c1)
		Implementation{}.Sgemm(blas.NoTrans, blas.NoTrans, m, n, k, 1, a, k, b, n, 1, c1, n)
		gonum.Implementation{}.Sgemm(blas.NoTrans, blas.NoTrans, m, n, k, 1, a, k, b, n, 1, c2, n)
		for i := range c1 {
			require.InDelta(t, c2[i], c1[i], 1e-3*(1+math.Abs(float64(c2[i]))), "%v at %d", s, i)
		}
	}
	require.Panics(t, func() {
		Implementation{}.Sgemm(blas.NoTrans, blas.NoTrans, 64, 64, 64, 1, make([]float32, 10), 64, make([]float32, 4096), 64, 0, make([]float32, 4096), 64)
	})
}

func FuzzGemmShapes(f *testing.F) {
	f.Add(uint8(7), uint8(9), uint8(11), false, true)
	f.Add(uint8(1), uint8(40), uint8(3), true, true)
	f.Add(uint8(33), uint8(17), uint8(0), true, false)
	f.Fuzz(func(t *testing.T, m, n, k uint8, tA, tB bool) {
		if m == 0 || n == 0 {
			return
		}
		rng := rand.New(rand.NewPCG(uint64(m), uint64(n)*256+uint64(k)))
		check(t, rng, tA, tB, int(m), int(n), int(k), 1, 1)
	})
}

func BenchmarkSgemm(b *testing.B) {
	shapes := []struct {
		name    string
		m, n, k int
		tA, tB  bool
	}{
		{"1024", 1024, 1024, 1024, false, false},
		{"step-512x256x1024", 512, 1024, 256, false, false},
		{"step-wgrad-256x1024x512-AT", 256, 1024, 512, true, false},
		{"step-dx-512x256x1024-BT", 512, 256, 1024, false, true},
		// The candgen step at the MovieLens config: sampled-softmax logits,
		// their gradients, and the tower's first layer.
		{"cg-logits-512x1000x64-BT", 512, 1000, 64, false, true},
		{"cg-du-512x64x1000", 512, 64, 1000, false, false},
		{"cg-dneg-1000x64x512-AT", 1000, 64, 512, true, false},
		{"cg-layer1-512x256x64", 512, 256, 64, false, false},
	}
	for _, s := range shapes {
		rng := rand.New(rand.NewPCG(1, 1))
		ra, ca := s.m, s.k
		if s.tA {
			ra, ca = s.k, s.m
		}
		rb, cb := s.k, s.n
		if s.tB {
			rb, cb = s.n, s.k
		}
		a, bb, c := randSlice(rng, ra*ca), randSlice(rng, rb*cb), make([]float32, s.m*s.n)
		ta, tb := blas.NoTrans, blas.NoTrans
		if s.tA {
			ta = blas.Trans
		}
		if s.tB {
			tb = blas.Trans
		}
		flops := 2 * float64(s.m) * float64(s.n) * float64(s.k)
		for _, impl := range []struct {
			name string
			blas interface {
				Sgemm(blas.Transpose, blas.Transpose, int, int, int, float32, []float32, int, []float32, int, float32, []float32, int)
			}
		}{{"fastblas", Implementation{}}, {"gonum", gonum.Implementation{}}} {
			b.Run(fmt.Sprintf("%s/%s", s.name, impl.name), func(b *testing.B) {
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					impl.blas.Sgemm(ta, tb, s.m, s.n, s.k, 1, a, ca, bb, cb, 0, c, s.n)
				}
				b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

// TestThinProductsSerial: small and thin products through the Sgemm entry
// point, all four transpose pairs, against a float64 reference; a one-row
// product (one exact-search query against a block of items) allocates
// nothing, so it starts no goroutine (gonum's Sgemm started one per
// 64×64 block).
func TestThinProductsSerial(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	impl := Implementation{}
	for _, sh := range [][3]int{{1, 2048, 65}, {3, 500, 64}, {7, 9, 31}, {40, 5, 70}, {1, 1, 1}, {5, 7, 0}} {
		m, n, k := sh[0], sh[1], sh[2]
		for _, tr := range [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}} {
			ta, tb := blas.NoTrans, blas.NoTrans
			ra, ca, rb, cb := m, k, k, n
			if tr[0] {
				ta, ra, ca = blas.Trans, k, m
			}
			if tr[1] {
				tb, rb, cb = blas.Trans, n, k
			}
			a, b := make([]float32, max(ra*ca, 1)), make([]float32, max(rb*cb, 1))
			c := make([]float32, m*n)
			for _, v := range [][]float32{a, b, c} {
				for i := range v {
					v[i] = float32(rng.NormFloat64())
				}
			}
			want := make([]float64, m*n)
			for i := 0; i < m; i++ {
				for j := 0; j < n; j++ {
					var s float64
					for p := 0; p < k; p++ {
						av, bv := a[i*max(ca, 1)+p], float32(0)
						if tr[0] {
							av = a[p*max(ca, 1)+i]
						}
						if tr[1] {
							bv = b[j*max(cb, 1)+p]
						} else {
							bv = b[p*max(cb, 1)+j]
						}
						s += float64(av) * float64(bv)
					}
					want[i*n+j] = 0.5*s + 2*float64(c[i*n+j])
				}
			}
			impl.Sgemm(ta, tb, m, n, k, 0.5, a, max(ca, 1), b, max(cb, 1), 2, c, max(n, 1))
			for i := range c {
				if math.Abs(float64(c[i])-want[i]) > 1e-4*(1+math.Abs(want[i]))*math.Sqrt(float64(k+1)) {
					t.Fatalf("shape %v trans %v: c[%d] = %g, want %g", sh, tr, i, c[i], want[i])
				}
			}
		}
	}
	q, items, out := make([]float32, 65), make([]float32, 2048*65), make([]float32, 2048)
	allocs := testing.AllocsPerRun(20, func() {
		impl.Sgemm(blas.NoTrans, blas.Trans, 1, 2048, 65, 1, q, 65, items, 65, 0, out, 2048)
	})
	if allocs != 0 {
		t.Fatalf("a one-row product allocates %v times per call", allocs)
	}
}

// TestSgemmEntryPoint: the BLAS entry point (with its cut-over to the
// serial path for small and thin shapes) for all four transpose pairs,
// within float32 rounding, and concurrent calls giving the same bits as
// calls one at a time.
func TestSgemmEntryPoint(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	shapes := [][3]int{{3, 5, 7}, {1, 300, 64}, {200, 64, 600}, {97, 130, 65}}
	type job struct {
		ta, tb  blas.Transpose
		m, n, k int
		a, b, c []float32
		lda     int
		ldb     int
	}
	var jobs []job
	for _, sh := range shapes {
		m, n, k := sh[0], sh[1], sh[2]
		for _, ta := range []blas.Transpose{blas.NoTrans, blas.Trans} {
			for _, tb := range []blas.Transpose{blas.NoTrans, blas.Trans} {
				lda, ldb := k, n
				if ta == blas.Trans {
					lda = m
				}
				if tb == blas.Trans {
					ldb = k
				}
				jobs = append(jobs, job{ta, tb, m, n, k, randSlice(rng, m*k), randSlice(rng, k*n), randSlice(rng, m*n), lda, ldb})
			}
		}
	}
	seq := make([][]float32, len(jobs))
	for i, j := range jobs {
		c := slices.Clone(j.c)
		want, mag := referenceMag(j.ta == blas.Trans, j.tb == blas.Trans, j.m, j.n, j.k, 1.5, j.a, j.lda, j.b, j.ldb, 0.5, j.c, j.n)
		Implementation{}.Sgemm(j.ta, j.tb, j.m, j.n, j.k, 1.5, j.a, j.lda, j.b, j.ldb, 0.5, c, j.n)
		for e := range c {
			if math.Abs(float64(c[e])-float64(want[e])) > rounding(j.k, mag[e]) {
				t.Fatalf("%v %v %dx%dx%d: C[%d] = %g, want %g", j.ta, j.tb, j.m, j.n, j.k, e, c[e], want[e])
			}
		}
		seq[i] = c
	}
	var wg sync.WaitGroup
	got := make([][]float32, len(jobs))
	for i, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := slices.Clone(j.c)
			Implementation{}.Sgemm(j.ta, j.tb, j.m, j.n, j.k, 1.5, j.a, j.lda, j.b, j.ldb, 0.5, c, j.n)
			got[i] = c
		}()
	}
	wg.Wait()
	for i := range jobs {
		if !slices.Equal(seq[i], got[i]) {
			t.Fatalf("job %d: concurrent call differs from the call alone", i)
		}
	}
}

// TestSgemmSerial: on the calling goroutine, a product large enough that
// Sgemm splits it gives Sgemm's result bit for bit (every tile is the same
// kernel's work, whichever goroutine runs it, its A packed or, for B up to
// 128 columns wide, read in place), edge tiles included, and,
// once the packing buffers are pooled, allocates nothing: no goroutine,
// no scratch tile on the heap.
func TestSgemmSerial(t *testing.T) {
	eachKernel(t, func(t *testing.T) {
		if kernelName == "avx512" {
			require.NotNil(t, kernelS, "AVX-512 reads A in place up to 128 columns")
		}
		rng := rand.New(rand.NewPCG(8, 9))
		// 3 row blocks, edge tiles in both directions, one and two depth
		// panels; 130 columns packed, 128, 100 and 64 A in place.
		for _, n := range []int{130, 128, 100, 64} {
			for _, k := range []int{75, 300} {
				for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
					testSgemmSerial(t, rng, 301, n, k, tr[0], tr[1])
				}
			}
		}
	})
}

func testSgemmSerial(t *testing.T, rng *rand.Rand, m, n, k int, tA, tB bool) {
	t.Helper()
	ta, tb, lda, ldb := blas.NoTrans, blas.NoTrans, k, n
	if tA {
		ta, lda = blas.Trans, m
	}
	if tB {
		tb, ldb = blas.Trans, k
	}
	a, b := randSlice(rng, m*k), randSlice(rng, k*n)
	c0 := randSlice(rng, m*n)
	want, got := slices.Clone(c0), slices.Clone(c0)
	impl := Implementation{}
	impl.Sgemm(ta, tb, m, n, k, 1.5, a, lda, b, ldb, 1, want, n)
	impl.SgemmSerial(ta, tb, m, n, k, 1.5, a, lda, b, ldb, 1, got, n)
	for i := range want {
		require.Equal(t, math.Float32bits(want[i]), math.Float32bits(got[i]), "%s n=%d k=%d tA=%v tB=%v: element %d", kernelName, n, k, tA, tB, i)
	}
	allocs := testing.AllocsPerRun(5, func() {
		impl.SgemmSerial(ta, tb, m, n, k, 1, a, lda, b, ldb, 1, got, n)
	})
	require.Zero(t, allocs)
}

// TestThinOneColumn: a product with one output column (the ranker's last
// layer) is a dot per row when B's column is contiguous (ldb 1) and the
// general loop otherwise; both match the float64 reference, every
// transpose and padding.
func TestThinOneColumn(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for _, sh := range [][2]int{{300, 128}, {9, 5}, {1, 65}, {4, 0}} {
		m, k := sh[0], sh[1]
		for _, tA := range []bool{false, true} {
			for _, tB := range []bool{false, true} {
				for pad := 0; pad < 3; pad++ {
					ra, ca := m, k
					if tA {
						ra, ca = k, m
					}
					rb, cb := k, 1
					if tB {
						rb, cb = 1, k
					}
					lda, ldb, ldc := ca+pad, cb+pad, 1+pad
					a := randSlice(rng, max(0, (ra-1)*lda+ca))
					b := randSlice(rng, max(0, (rb-1)*ldb+cb))
					c := randSlice(rng, max(0, (m-1)*ldc+1))
					want, mag := referenceMag(tA, tB, m, 1, k, 1.5, a, lda, b, ldb, 0.5, c, ldc)
					thinGemm(tA, tB, m, 1, k, 1.5, a, lda, b, ldb, 0.5, c, ldc)
					for i := range m {
						if g, w := c[i*ldc], want[i*ldc]; math.Abs(float64(g)-float64(w)) > rounding(k, mag[i*ldc]) {
							t.Fatalf("m=%d k=%d tA=%v tB=%v pad=%d: C[%d]=%g want %g", m, k, tA, tB, pad, i, g, w)
						}
					}
				}
			}
		}
	}
}

// BenchmarkSgemmSerialSlate: the ranker's second layer on a served slate
// (300 candidates × 256 by 256 × 128) on one goroutine, its A read in
// place as SgemmSerial does for B up to 128 columns, against packed:
//
//	go test -run '^$' -bench SgemmSerialSlate ./internal/fastblas
func BenchmarkSgemmSerialSlate(b *testing.B) {
	const m, n, k = 300, 128, 256
	rng := rand.New(rand.NewPCG(1, 1))
	a, w, c := randSlice(rng, m*k), randSlice(rng, k*n), make([]float32, m*n)
	for _, v := range []struct {
		name   string
		serial bool
	}{{"in-place", true}, {"packed", false}} {
		b.Run(v.name, func(b *testing.B) {
			for range b.N {
				gemm(1, v.serial, false, false, m, n, k, 1, a, k, w, n, 0, c, n)
			}
		})
	}
}
