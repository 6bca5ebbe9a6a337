package nn

import (
	"github.com/ytdnn/ytdnn/tower"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	G "gorgonia.org/gorgonia"

	"github.com/ytdnn/ytdnn/internal/par"
)

// panicLoss panics inside the loss op's Do, as a bug in a loss would.
type panicLoss struct{}

func (panicLoss) Loss(out, grad []float32) float32 { panic("index out of range [7] with length 3") }

// TestOpPanicIsStepError: a panic inside a custom op, which gorgonia runs on
// its own goroutine, comes back from Step as an error instead of killing the
// process.
func TestOpPanicIsStepError(t *testing.T) {
	m, err := tower.New([]int{3, 4, 2}, false, rand.New(rand.NewPCG(1, 1)))
	require.NoError(t, err)
	gr, err := NewGraph(m, 2, panicLoss{})
	require.NoError(t, err)
	_, err = gr.Step()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "index out of range")
}

// TestLossGradDependsOnLoss: the gradient op reads a buffer the loss op
// fills, so the graph must order them by an edge, not by luck of the sort.
func TestLossGradDependsOnLoss(t *testing.T) {
	m, err := tower.New([]int{3, 4, 2}, false, rand.New(rand.NewPCG(1, 1)))
	require.NoError(t, err)
	gr, err := NewGraph(m, 2, NewWeightedLogistic(4))
	require.NoError(t, err)
	found := false
	for _, n := range gr.g.AllNodes() {
		if _, ok := n.Op().(*lossGradOp); !ok {
			continue
		}
		found = true
		var children []*G.Node
		for it := gr.g.From(n.ID()); it.Next(); {
			children = append(children, it.Node().(*G.Node))
		}
		assert.Contains(t, children, gr.cost, "the loss-gradient node takes the loss node as an input")
	}
	assert.True(t, found, "graph has a loss-gradient op")
}

// TestSampledSoftmaxGOMAXPROCSChanges: the rows are split over the cores
// with a per-chunk buffer; GOMAXPROCS growing while a step runs (the runtime
// may change it in containers) must not index past that buffer. The count
// read grows by one on every read, as if GOMAXPROCS changed in between.
func TestSampledSoftmaxGOMAXPROCSChanges(t *testing.T) {
	reads := 0
	defer par.SetProcs(func(int) int { reads++; return reads })()
	const B, D, K = 512, 4, 256 // B ≥ 65536/K: the rows are split
	s := NewSampledSoftmax(B, D, K)
	r := rand.New(rand.NewPCG(1, 1))
	for _, v := range [][]float32{s.TrueW, s.NegW} {
		randFill(r, v, 1)
	}
	for i := range s.RowWeight {
		s.RowWeight[i] = 1
	}
	u := make([]float32, B*D)
	randFill(r, u, 1)
	grad := make([]float32, B*D)
	for i := 0; i < 4; i++ {
		s.Loss(u, grad)
	}
}
