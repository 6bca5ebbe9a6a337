// Package benchmarks holds the cross-package go test -bench suites; see
// README.md in this folder for how to run and compare them.
package benchmarks
