// Package progress draws a one-line progress bar on a terminal and stays
// quiet otherwise: New returns a nil *Bar, whose methods do nothing, for a
// writer that is not a terminal. A bar redraws at most ten times a second,
// and stops drawing after a failed write (the task goes on).
//
// # Concurrency
//
// A Bar is not safe for concurrent use.
package progress
