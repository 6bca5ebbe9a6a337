// Package par splits loops over the cores.
package par

import (
	"runtime"
	"sync"
)

// For calls fn on contiguous chunks of [0, n), one per core when n is at
// least minWork (with less, fn runs once on the calling goroutine). w is the
// chunk's index, below Workers(). fn must be safe to run concurrently on
// disjoint chunks.
func For(n, minWork int, fn func(w, lo, hi int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
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

// Workers is the number of chunks For may use.
func Workers() int { return runtime.GOMAXPROCS(0) }
