package par

import (
	"runtime"
	"sync"
)

// For calls fn on contiguous chunks of [0, n), one per core when n is at
// least minWork (with less, fn runs once on the calling goroutine). w is the
// chunk's index, below the Workers() read at the call: a caller that sizes a
// per-chunk buffer must read Workers once and use ForN, since GOMAXPROCS can
// change in between. fn must be safe to run concurrently on disjoint chunks.
func For(n, minWork int, fn func(w, lo, hi int)) { ForN(Workers(), n, minWork, fn) }

// ForN is For with at most workers chunks: w is always below workers.
func ForN(workers, n, minWork int, fn func(w, lo, hi int)) {
	workers = min(workers, n)
	if n < minWork || workers <= 1 {
		fn(0, 0, n)
		return
	}
	var wg sync.WaitGroup
	for w := 1; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(w, w*n/workers, (w+1)*n/workers)
		}()
	}
	fn(0, 0, n/workers)
	wg.Wait()
}

// Workers is the number of chunks For may use: GOMAXPROCS, read anew on
// every call.
func Workers() int { return procs(0) }

var procs = runtime.GOMAXPROCS

// SetProcs replaces the GOMAXPROCS reader behind Workers until restore is
// called, so tests can make the count change between two reads as the
// runtime may. Not safe for concurrent use with For or Workers.
func SetProcs(f func(int) int) (restore func()) {
	old := procs
	procs = f
	return func() { procs = old }
}
