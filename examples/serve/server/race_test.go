//go:build race

package server

// raceEnabled: under the race detector sync.Pool drops a random share of
// what is put back, so pooled buffers are made again: the tests do not
// count allocations there.
const raceEnabled = true
