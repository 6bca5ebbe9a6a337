package fastblas

import (
	"runtime"
	"sync"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"

	"github.com/ytdnn/ytdnn/internal/vec"
)

// Implementation is gonum's BLAS with a fast Sgemm. Install it with
// gorgonia.Use(fastblas.Implementation{}).
type Implementation struct {
	gonum.Implementation
}

// Kernel names the micro-kernel in use: "avx512", "avx2" or "purego".
func Kernel() string { return kernelName }

const (
	kc = 256 // depth of a packed panel
	mc = 120 // rows of a packed A block (a multiple of MR)
	nc = 2048

	maxMR, maxNR = 6, 32
)

// The tile of the selected micro-kernel (set once at start-up).
var (
	mr, nr     = 6, 16
	kernel     = kernelGo
	kernelName = "purego"
	// kernelS, where the CPU has one, is the micro-kernel that reads op(A)
	// in place (element (i, p) at a + i·rs + p·cs) instead of packed.
	kernelS func(k int, a *float32, rs, cs int, b, c *float32, ldc int, alpha float32)
)

// inPlaceCols: when op(B) has at most this many columns, each row strip of
// op(A) meets so few column strips that packing it costs about as much as
// the products it feeds (the sampled-softmax gradients: n = D = 64), so A is
// read in place.
const inPlaceCols = 64

// inPlaceColsSerial is inPlaceCols for SgemmSerial, a served slate's
// products: the ranker's 300×256 by 256×128 layer is 15-20% faster with
// its activations read in place than packed (an A strip meets only four
// column strips of a 128-wide B).
const inPlaceColsSerial = 128

// Small and thin products skip packing (it would cost more than it saves)
// and run on the calling goroutine (thinGemm): a one-row product, such as
// one exact-search query against a block of items, must not fan out into
// goroutines as gonum's Sgemm does (one per 64×64 block).
const (
	smallWork = 32 * 32 * 32
	thin      = 8
)

// bufPool keeps packing buffers across calls. Unlike a sync.Pool it is not
// emptied by the garbage collector, so steady-state calls allocate (and
// zero) nothing; it holds at most maxPooled buffers.
var bufPool pool

const maxPooled = 16

type pool struct {
	mu   sync.Mutex
	free []*[]float32
}

func (p *pool) Put(b *[]float32) {
	p.mu.Lock()
	if len(p.free) < maxPooled {
		p.free = append(p.free, b)
	}
	p.mu.Unlock()
}

func getBuf(n int) *[]float32 {
	bufPool.mu.Lock()
	var b *[]float32
	if k := len(bufPool.free); k > 0 {
		b = bufPool.free[k-1]
		bufPool.free = bufPool.free[:k-1]
	}
	bufPool.mu.Unlock()
	if b == nil {
		b = new([]float32)
	}
	if cap(*b) < n {
		*b = make([]float32, n)
	}
	*b = (*b)[:n]
	return b
}

// Sgemm computes C = alpha·op(A)·op(B) + beta·C (row-major, as gonum).
func (impl Implementation) Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	sgemm(false, tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// sgemm is Sgemm (serial: SgemmSerial). Small products, and thin ones (a
// few rows or columns: matrix-vector shaped, where packing costs more than
// it saves), run on the calling goroutine without packing (thinGemm).
func sgemm(serial bool, tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkArgs(tA, tB, m, n, k, a, lda, b, ldb, c, ldc)
	if m*n*k < smallWork || m < thin || n < thin {
		thinGemm(tA != blas.NoTrans, tB != blas.NoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	workers := runtime.GOMAXPROCS(0)
	if serial {
		workers = 1
	}
	gemm(workers, serial, tA != blas.NoTrans, tB != blas.NoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func checkArgs(tA, tB blas.Transpose, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if tA != blas.NoTrans && tA != blas.Trans && tA != blas.ConjTrans {
		panic("fastblas: bad transpose")
	}
	if tB != blas.NoTrans && tB != blas.Trans && tB != blas.ConjTrans {
		panic("fastblas: bad transpose")
	}
	if m < 0 || n < 0 || k < 0 {
		panic("fastblas: negative dimension")
	}
	ra, ca := m, k
	if tA != blas.NoTrans {
		ra, ca = k, m
	}
	rb, cb := k, n
	if tB != blas.NoTrans {
		rb, cb = n, k
	}
	if lda < max(1, ca) || ldb < max(1, cb) || ldc < max(1, n) {
		panic("fastblas: bad leading dimension")
	}
	short := func(s []float32, r, c, ld int) bool { return r > 0 && c > 0 && len(s) < (r-1)*ld+c }
	if short(a, ra, ca, lda) || short(b, rb, cb, ldb) || short(c, m, n, ldc) {
		panic("fastblas: short slice")
	}
}

// apLen is the length of an A-packing buffer: a packed block, then the
// scratch tile of the edge tiles.
const apLen = kc*mc + maxMR*maxNR

// SgemmSerial is Sgemm on the calling goroutine alone. Sgemm splits a
// large product's row blocks across GOMAXPROCS goroutines, which shortens
// one product on an idle machine; a server already runs a request per
// core, where the extra goroutines only add their cost and contention.
func (impl Implementation) SgemmSerial(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	sgemm(true, tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// Gemm is Sgemm with boolean transposes and no size cut-over (exported for
// tests and benchmarks).
func Gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	gemm(runtime.GOMAXPROCS(0), false, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// gemm is Gemm on at most workers goroutines (serial: SgemmSerial's).
func gemm(workers int, serial bool, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if beta != 1 {
		for i := 0; i < m; i++ {
			row := c[i*ldc : i*ldc+n]
			if beta == 0 {
				clear(row)
			} else {
				for j := range row {
					row[j] *= beta
				}
			}
		}
	}
	if alpha == 0 || k == 0 {
		return
	}
	bp := getBuf(kc * roundUp(min(n, nc), nr))
	defer bufPool.Put(bp)
	for jc := 0; jc < n; jc += nc {
		nb := min(nc, n-jc)
		inPlace := kernelS != nil && (nb <= inPlaceCols || serial && nb <= inPlaceColsSerial)
		for pc := 0; pc < k; pc += kc {
			kb := min(kc, k-pc)
			packB(*bp, b, ldb, transB, pc, jc, kb, nb)
			blocks := (m + mc - 1) / mc
			w := min(workers, blocks)
			if w <= 1 {
				ap := getBuf(apLen)
				for ic := 0; ic < m; ic += mc {
					if inPlace {
						macroInPlace(*ap, *bp, a, lda, transA, c, ldc, alpha, ic, pc, jc, min(mc, m-ic), kb, nb)
					} else {
						macro(*ap, *bp, a, lda, transA, c, ldc, alpha, ic, pc, jc, min(mc, m-ic), kb, nb)
					}
				}
				bufPool.Put(ap)
				continue
			}
			{
				// Copies for the goroutines (a block of their own): capturing the
				// loop's variables would move them to the heap on every path, the
				// serial one too.
				pc, jc, kb, nb, inPlace := pc, jc, kb, nb, inPlace
				var wg sync.WaitGroup
				var next sync.Mutex
				blk := 0
				for g := 0; g < w; g++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						ap := getBuf(apLen)
						defer bufPool.Put(ap)
						for {
							next.Lock()
							i := blk
							blk++
							next.Unlock()
							if i >= blocks {
								return
							}
							ic := i * mc
							mb := min(mc, m-ic)
							if inPlace {
								macroInPlace(*ap, *bp, a, lda, transA, c, ldc, alpha, ic, pc, jc, mb, kb, nb)
							} else {
								macro(*ap, *bp, a, lda, transA, c, ldc, alpha, ic, pc, jc, mb, kb, nb)
							}
						}
					}()
				}
				wg.Wait()
			}
		}
	}
}

func roundUp(x, r int) int { return (x + r - 1) / r * r }

// packB packs op(B)[pc:pc+kb, jc:jc+nb] into NR-wide strips: strip s holds,
// for each p, the NR values op(B)[pc+p, jc+s·NR : jc+s·NR+NR] (zero padded).
func packB(dst []float32, b []float32, ldb int, trans bool, pc, jc, kb, nb int) {
	for s := 0; s < nb; s += nr {
		w := min(nr, nb-s)
		strip := dst[s*kb : s*kb+kb*nr]
		if trans {
			// Column j of the strip is row jc+s+j of B: read it
			// contiguously, write it with stride NR (the strip stays in L1).
			for j := 0; j < w; j++ {
				src := b[(jc+s+j)*ldb+pc:][:kb]
				for p, v := range src {
					strip[p*nr+j] = v
				}
			}
			if w < nr {
				for p := 0; p < kb; p++ {
					clear(strip[p*nr+w : p*nr+nr])
				}
			}
			continue
		}
		for p := 0; p < kb; p++ {
			row := strip[p*nr : p*nr+nr]
			src := b[(pc+p)*ldb+jc+s:]
			copy(row[:w], src[:w])
			clear(row[w:])
		}
	}
}

// packA packs op(A)[ic:ic+mb, pc:pc+kb] into MR-tall strips: strip s holds,
// for each p, the MR values op(A)[ic+s·MR : ic+s·MR+MR, pc+p] (zero padded).
func packA(dst []float32, a []float32, lda int, trans bool, ic, pc, mb, kb int) {
	for s := 0; s < mb; s += mr {
		h := min(mr, mb-s)
		strip := dst[s*kb : s*kb+kb*mr]
		if trans {
			if h == 6 && mr == 6 {
				for p := 0; p < kb; p++ {
					src := a[(pc+p)*lda+ic+s:][:6]
					d := strip[p*6 : p*6+6 : p*6+6]
					d[0], d[1], d[2], d[3], d[4], d[5] = src[0], src[1], src[2], src[3], src[4], src[5]
				}
				continue
			}
			for p := 0; p < kb; p++ {
				src := a[(pc+p)*lda+ic+s:]
				col := strip[p*mr : p*mr+mr]
				copy(col[:h], src[:h])
				clear(col[h:])
			}
			continue
		}
		if h == 6 && mr == 6 {
			// Six rows at once: contiguous writes, six sequential reads.
			r0 := a[(ic+s)*lda+pc:][:kb]
			r1 := a[(ic+s+1)*lda+pc:][:kb]
			r2 := a[(ic+s+2)*lda+pc:][:kb]
			r3 := a[(ic+s+3)*lda+pc:][:kb]
			r4 := a[(ic+s+4)*lda+pc:][:kb]
			r5 := a[(ic+s+5)*lda+pc:][:kb]
			dst := strip[:kb*6]
			for p := range r0 {
				d := dst[p*6 : p*6+6 : p*6+6]
				d[0], d[1], d[2], d[3], d[4], d[5] = r0[p], r1[p], r2[p], r3[p], r4[p], r5[p]
			}
			continue
		}
		for i := 0; i < h; i++ {
			src := a[(ic+s+i)*lda+pc:]
			for p := 0; p < kb; p++ {
				strip[p*mr+i] = src[p]
			}
		}
		for i := h; i < mr; i++ {
			for p := 0; p < kb; p++ {
				strip[p*mr+i] = 0
			}
		}
	}
}

// macro multiplies one packed A block by the packed B panel into C.
func macro(ap, bp, a []float32, lda int, transA bool, c []float32, ldc int, alpha float32, ic, pc, jc, mb, kb, nb int) {
	packA(ap, a, lda, transA, ic, pc, mb, kb)
	tile := ap[len(ap)-maxMR*maxNR:] // in the pooled buffer: a local array would escape to the heap through the kernel's function value
	for s := 0; s < nb; s += nr {
		w := min(nr, nb-s)
		bs := bp[s*kb:]
		for r := 0; r < mb; r += mr {
			h := min(mr, mb-r)
			as := ap[r*kb:]
			if h == mr && w == nr {
				kernel(kb, &as[0], &bs[0], &c[(ic+r)*ldc+jc+s], ldc, alpha)
				continue
			}
			// Edge tile: compute into a scratch tile, add the valid part.
			clear(tile[:mr*nr])
			kernel(kb, &as[0], &bs[0], &tile[0], nr, 1)
			for i := 0; i < h; i++ {
				crow := c[(ic+r+i)*ldc+jc+s:]
				for j := 0; j < w; j++ {
					crow[j] += alpha * tile[i*nr+j]
				}
			}
		}
	}
}

// macroInPlace is macro for a narrow op(B): full six-row strips of op(A)
// are read in place by kernelS; only a last, partial strip is packed (zero
// padded).
func macroInPlace(ap, bp, a []float32, lda int, transA bool, c []float32, ldc int, alpha float32, ic, pc, jc, mb, kb, nb int) {
	tile := ap[len(ap)-maxMR*maxNR:] // in the pooled buffer: a local array would escape to the heap through the kernel's function value
	rs, cs := lda, 1
	if transA {
		rs, cs = 1, lda
	}
	for r := 0; r < mb; r += mr {
		h := min(mr, mb-r)
		packed := h < mr
		var as *float32
		switch {
		case packed:
			packA(ap, a, lda, transA, ic+r, pc, h, kb)
		case transA:
			as = &a[pc*lda+ic+r]
		default:
			as = &a[(ic+r)*lda+pc]
		}
		for s := 0; s < nb; s += nr {
			w := min(nr, nb-s)
			bs := bp[s*kb:]
			if !packed && w == nr {
				kernelS(kb, as, rs, cs, &bs[0], &c[(ic+r)*ldc+jc+s], ldc, alpha)
				continue
			}
			clear(tile[:mr*nr])
			if packed {
				kernel(kb, &ap[0], &bs[0], &tile[0], nr, 1)
			} else {
				kernelS(kb, as, rs, cs, &bs[0], &tile[0], nr, 1)
			}
			for i := 0; i < h; i++ {
				crow := c[(ic+r+i)*ldc+jc+s:]
				for j := 0; j < w; j++ {
					crow[j] += alpha * tile[i*nr+j]
				}
			}
		}
	}
}

// kernelGo is the portable micro-kernel: C[i, j] += alpha·Σp A[p·MR+i]·B[p·NR+j]
// for the MR×NR tile at c with row stride ldc.
func kernelGo(k int, a, b, c *float32, ldc int, alpha float32) {
	as := unsafeSlice(a, k*mr)
	bs := unsafeSlice(b, k*nr)
	var acc [maxMR * maxNR]float32
	for p := 0; p < k; p++ {
		brow := bs[p*nr : p*nr+nr]
		acol := as[p*mr : p*mr+mr]
		for i, av := range acol {
			row := acc[i*nr : i*nr+nr]
			for j, bv := range brow {
				row[j] += av * bv
			}
		}
	}
	cs := unsafeSlice(c, (mr-1)*ldc+nr)
	for i := 0; i < mr; i++ {
		row := cs[i*ldc : i*ldc+nr]
		for j := range row {
			row[j] += alpha * acc[i*nr+j]
		}
	}
}

// thinGemm is C = alpha·op(A)·op(B) + beta·C for small or thin shapes, on
// the calling goroutine, without allocating: dot products of contiguous
// rows when op(B) is Bᵀ, axpys of B's rows otherwise.
func thinGemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		switch beta {
		case 0:
			clear(row)
		case 1:
		default:
			vec.Scale(beta, row)
		}
	}
	if alpha == 0 || k == 0 {
		return
	}
	switch {
	case !transA && (transB || n == 1 && ldb == 1): // rows of A against rows of B
		// (A one-column B is one contiguous row of Bᵀ: a matrix-vector
		// product, a dot per row, not k one-element axpys.)
		for i := 0; i < m; i++ {
			ai := a[i*lda : i*lda+k]
			row := c[i*ldc : i*ldc+n]
			for j := range row {
				row[j] += alpha * vec.Dot(ai, b[j*ldb:j*ldb+k])
			}
		}
	case !transB: // C row i += alpha·op(A)[i,p]·B row p
		for i := 0; i < m; i++ {
			row := c[i*ldc : i*ldc+n]
			for p := 0; p < k; p++ {
				var av float32
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if av != 0 {
					vec.Axpy(alpha*av, b[p*ldb:p*ldb+n], row)
				}
			}
		}
	default: // Aᵀ·Bᵀ: column i of A against rows of B
		for i := 0; i < m; i++ {
			row := c[i*ldc : i*ldc+n]
			for j := range row {
				var sum float32
				bj := b[j*ldb : j*ldb+k]
				for p, bv := range bj {
					sum += a[p*lda+i] * bv
				}
				row[j] += alpha * sum
			}
		}
	}
}
