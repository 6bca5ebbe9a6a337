// Command twostage runs the whole paper on a generated YouTube-like world:
// it generates the world, trains candidate generation (sampled softmax),
// builds the retrieval index, trains the weighted-logistic ranker on
// impressions, evaluates both stages and the end-to-end slate against the
// world's ground truth, prints a few users' recommendations, and ends with
// one JSON line of metrics.
//
//	go run ./examples/twostage            # default world, under 3 minutes on 2 cores
//	go run ./examples/twostage -users 20000 -videos 50000
package main
