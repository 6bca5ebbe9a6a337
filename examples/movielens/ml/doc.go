// Package ml loads MovieLens and runs the YoutubeDNN protocol for the
// movielens example.
package ml
