package nn

// expSub replaces every x in row by e^(x-m) (x ≤ m; -Inf gives 0) and
// returns their sum. A vector kernel runs where the CPU has one.
func expSub(row []float32, m float32) float32 {
	if n := len(row) &^ 15; n > 0 && expSubVec != nil {
		s := expSubVec(row[:n], m)
		for j := n; j < len(row); j++ {
			e := expf(row[j] - m)
			row[j] = e
			s += e
		}
		return s
	}
	return expSubGo(row, m)
}

func expSubGo(row []float32, m float32) float32 {
	var z0, z1 float32
	j := 0
	for ; j+1 < len(row); j += 2 {
		e0, e1 := expf(row[j]-m), expf(row[j+1]-m)
		row[j], row[j+1] = e0, e1
		z0 += e0
		z1 += e1
	}
	for ; j < len(row); j++ {
		e := expf(row[j] - m)
		row[j] = e
		z0 += e
	}
	return z0 + z1
}

// expSubVec, when set, handles a multiple of 16 elements.
var expSubVec func(row []float32, m float32) float32
