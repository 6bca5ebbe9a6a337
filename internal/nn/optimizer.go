package nn

import (
	"github.com/ytdnn/ytdnn/internal/optim"
)

// Params returns the MLP's parameters and the gradients of the last Step
// in the layout the dense optimizers of internal/optim update: W[0], B[0],
// W[1], B[1], …, with L2 decay on the weights only. The slices are reused
// from call to call.
func (gr *Graph) Params() optim.Params {
	m := gr.mlp
	ps := &gr.params
	if ps.P == nil {
		for l := range m.W {
			ps.P = append(ps.P, m.W[l], m.B[l])
			ps.Decay = append(ps.Decay, true, false)
		}
		ps.G = make([][]float32, len(ps.P))
	}
	for l := range m.W {
		ps.G[2*l], ps.G[2*l+1] = gr.WGrad(l), gr.BGrad(l)
	}
	return *ps
}
