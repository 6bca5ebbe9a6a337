// Package server is the HTTP two-stage recommendation service of
// examples/serve: candidate generation retrieves a few hundred videos, the
// ranker orders them by expected watch time, and the top n are returned.
// Models are loaded from a directory and can be swapped atomically while
// requests continue.
package server
