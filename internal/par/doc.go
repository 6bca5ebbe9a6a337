// Package par is the one parallel-for of ytdnn: For and ForN split [0, n)
// into contiguous chunks, one per worker (GOMAXPROCS by default), run them
// on goroutines and wait. The calling goroutine runs the first chunk, and
// work under minWork runs as one chunk on it, with no goroutine started.
// Chunk indices are below the worker count, so a caller can give each
// chunk its own buffer (read Workers once and call ForN).
//
// # Concurrency
//
// fn runs concurrently on disjoint chunks and must be safe to. For and
// ForN are safe for concurrent use; SetProcs (for tests) is not.
package par
