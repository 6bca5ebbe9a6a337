// Package vec holds the small float32 vector loops of the training step
// (y += a·x and the Adam update) with AVX2 Go-assembly versions on amd64 and
// pure-Go fallbacks elsewhere and under the `purego` tag. The assembly uses
// separate multiplies and adds (no FMA), in the Go code's order, so both
// paths round alike.
package vec
