package baseline

import (
	"math"
	"testing"
)

// TestTally: hits at 10/50/100 by the label's rank, NDCG@10 = 1/log2(rank+2)
// inside the top 10 only, averaged over the requests.
func TestTally(t *testing.T) {
	ids := make([]int64, 100)
	for i := range ids {
		ids[i] = int64(i)
	}
	var tl Tally
	tl.Add(ids, 3)   // rank 3: hits at 10, 50, 100
	tl.Add(ids, 30)  // rank 30: hits at 50, 100
	tl.Add(ids, 999) // absent
	tl.Add(ids, 0)   // the top: NDCG term 1
	if tl.HR(0) != 2.0/4 || tl.HR(1) != 3.0/4 || tl.HR(2) != 3.0/4 {
		t.Fatalf("hit rates %v %v %v", tl.HR(0), tl.HR(1), tl.HR(2))
	}
	if want := (1/math.Log2(5) + 1) / 4; math.Abs(tl.NDCG()-want) > 1e-12 {
		t.Fatalf("NDCG %v, want %v", tl.NDCG(), want)
	}
	out := map[string]any{}
	tl.Put(out, "mostpop_", "all")
	if out["mostpop_hr@50_all"] != 0.75 || len(out) != 4 {
		t.Fatalf("Put wrote %v", out)
	}
}

func TestTallyMerge(t *testing.T) {
	var a, b Tally
	a.Add([]int64{1, 2}, 1) // hit at rank 0
	b.Add([]int64{1, 2}, 3) // miss
	b.Add([]int64{3}, 3)    // hit at rank 0
	a.Merge(b)
	if a.N != 3 || math.Abs(a.HR(0)-2.0/3) > 1e-12 || math.Abs(a.NDCG()-2.0/3) > 1e-12 {
		t.Fatalf("merged tally %+v", a)
	}
}
