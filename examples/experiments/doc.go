// Command experiments reproduces the paper's ablations on the generated
// world and writes a Markdown table and PNG plots:
//
//   - candidate generation with feature families added one at a time
//     (watches, + searches, + demographics, + example age) across tower
//     depths 0..4, held-out recall@50 (the shape of the paper's Figure 6);
//
//   - sampled softmax with and without the logQ correction;
//
//   - ranking with hidden layers from none to 1024→512→256 (the paper's
//     Table 1), weighted per-user loss on held-out users, and weighted
//     against unweighted logistic regression.
//
//     go run ./examples/experiments -out results   # a few minutes on 2 cores
package main
