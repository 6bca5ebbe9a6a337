package candgen

// Window is one next-watch training example drawn from a watch sequence.
type Window struct {
	// History is the watches strictly before Pos, the last MaxHist of them
	// (a subslice of the input sequence: do not modify it).
	History []int64
	// Label is the watch at Pos.
	Label int64
	// Pos is the label's position in the sequence.
	Pos int
}

// NextWatch turns one user's chronological watches into next-watch
// examples: for every position t ≥ 1 the label is watches[t] and the history
// the up to maxHist watches before it, never after it (no future leakage).
// If maxPerUser > 0 and the user has more positions, a uniformly random
// subset of maxPerUser positions is kept (in order), so heavy users do not
// dominate training; rng picks it (nil means keep the last maxPerUser).
func NextWatch(watches []int64, maxHist, maxPerUser int, rng interface{ Perm(int) []int }) []Window {
	var out []Window
	for t := 1; t < len(watches); t++ {
		lo := 0
		if maxHist > 0 {
			lo = max(0, t-maxHist)
		}
		out = append(out, Window{History: watches[lo:t], Label: watches[t], Pos: t})
	}
	if maxPerUser > 0 && len(out) > maxPerUser {
		if rng == nil {
			return out[len(out)-maxPerUser:]
		}
		keep := make([]bool, len(out))
		for _, i := range rng.Perm(len(out))[:maxPerUser] {
			keep[i] = true
		}
		sel := out[:0]
		for i, w := range out {
			if keep[i] {
				sel = append(sel, w)
			}
		}
		out = sel
	}
	return out
}
