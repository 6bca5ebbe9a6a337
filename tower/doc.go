// Package tower holds the dense ReLU tower (multilayer perceptron) of both
// stages as plain Go: its weights, a forward pass for serving and its
// encoding inside a model file. Training builds a gorgonia graph over the
// same weight slices (internal/nn); this package imports no training
// framework, so a service that scores with a tower links none.
//
// # Shapes
//
// An MLP has Sizes[0] inputs and one dense layer per following size. W[l]
// is Sizes[l]×Sizes[l+1], row-major; B[l] has Sizes[l+1] entries. Every
// layer but the last applies ReLU; the last does when ReLUOut is set
// (candidate generation's user vector u, as in the paper's Figure 3) and is
// linear otherwise (the ranker's logit). Forward takes batch×In inputs and
// writes batch×Out outputs, row-major, float32.
//
// # Cost and concurrency
//
// Forward is one matrix product per layer (internal/linalg) and allocates
// nothing once its per-goroutine scratch has grown; it is safe for
// concurrent use as long as nothing updates the weights; its large products
// use every core. ForwardShared is Forward for a batch whose rows share
// most inputs (one user's candidates, a served slate): the shared columns'
// part of the first layer is computed once, and its products run on the
// calling goroutine (a server's concurrency comes from its requests);
// FirstProduct precomputes a part per item.
package tower
