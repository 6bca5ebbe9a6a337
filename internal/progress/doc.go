// Package progress draws a one-line progress bar on a terminal and stays
// quiet otherwise.
package progress
