package train

import (
	"runtime"
	"slices"
	"testing"

	"github.com/ytdnn/ytdnn/sampling"
)

// TestTrainStepAllocations: after warm-up a training step reuses the graph's
// buffers (the tape machine is rewound, not reset) and allocates far less
// than the 4.6 MB of op outputs a reset machine allocates each step.
func TestTrainStepAllocations(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a full-size trainer")
	}
	tr := benchTrainer(t, 1682)
	for k := 0; k < 3; k++ {
		benchBatch(t, tr, k)
	}
	if !tr.gr.Rewinds() {
		t.Fatal("the training graph resets its tape machine every step")
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	const steps = 5
	for k := 0; k < steps; k++ {
		benchBatch(t, tr, k)
	}
	runtime.ReadMemStats(&after)
	perStep := (after.TotalAlloc - before.TotalAlloc) / steps
	t.Logf("%d bytes allocated per step", perStep)
	if perStep > 256<<10 {
		t.Fatalf("%d bytes allocated per step, want under 256 KiB", perStep)
	}
}

// TestAccidentalHits: after a step every row drops exactly the negatives
// that equal its label (over a small vocabulary, so that hits are common),
// and the per-batch index is cleared for the next batch.
func TestAccidentalHits(t *testing.T) {
	tr := benchTrainer(t, 60)
	total := 0
	for k := 0; k < 3; k++ {
		benchBatch(t, tr, k)
		h := softmaxOf(tr)
		for r, ei := range tr.rows {
			// The definition, sampling.AccidentalHits, scans all K.
			hit := make([]bool, len(h.negIDs))
			if _, err := sampling.AccidentalHits(hit, tr.data[ei].t, h.negIDs); err != nil {
				t.Fatal(err)
			}
			var want []int32
			for j, h := range hit {
				if h {
					want = append(want, int32(j))
				}
			}
			got := append([]int32(nil), h.lossFn.Hits[r]...)
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Fatalf("batch %d row %d: hits %v, want %v", k, r, got, want)
			}
			total += len(want)
		}
		for id, x := range h.negHead {
			if x != -1 {
				t.Fatalf("negHead[%d] = %d after the step", id, x)
			}
		}
	}
	if total == 0 {
		t.Fatal("no accidental hits at all over 60 classes: the test checks nothing")
	}
}
