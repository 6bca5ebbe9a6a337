//go:build !race

package ranking

const raceEnabled = false
