// Package ranking is the paper's ranking stage: a ReLU tower over impression
// features (shared-space embeddings, CDF-normalized continuous features with
// their squares and roots) to one logit, trained by weighted logistic
// regression: a clicked impression weighs its watch time, an unclicked one 1,
// so the learned odds exp(Wx+b) estimate expected watch time. Rank sorts
// candidates by it.
//
// # Metrics
//
// The metrics live in package eval: WeightedPerUserLoss, the paper's
// (mispredicted watch time over pairs of clicked and unclicked impressions
// on one page), AUC and Calibration (by equal-count bins of the
// prediction), over eval.Scored built from ExpectedWatchTime.
//
// # Embeddings
//
// Features in one ID space (impression video, last watched videos, seed
// video) share one table and enter the tower separately. Vocabularies count
// clicked impressions only; unknown IDs map to a zero row.
//
// # Concurrency
//
// Scoring (Logits, ExpectedWatchTime, Rank) is safe for concurrent use and
// reuses pooled buffers across calls; Train is single-goroutine.
//
// # Example
//
//	m, stats, err := ranking.Train(ctx, ranking.Config{Spec: spec, Tower: []int{256, 128}}, impressions)
//	ranked, err := m.Rank(candidateIDs, candidateFeatures)
//	// ranked[0].ExpectedWatchTime is the best candidate's estimate.
package ranking
