// Package ranking is the paper's ranking stage as a served model (§4): a
// ReLU tower over impression features (shared-space embeddings,
// CDF-normalized continuous features with their squares and roots) to one
// logit. Trained by weighted logistic regression (package train: a clicked
// impression weighs its watch time, an unclicked one 1), the learned odds
// exp(Wx+b) estimate expected watch time; Rank sorts candidates by it.
//
// The package is plain Go: it imports no training framework, so a service
// that ranks links none. NewModel assembles a ranker from its parts (what
// training produces); ReadModel and Load read one from a file.
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
// video) share one table and enter the tower separately. Unknown IDs map to
// a zero row.
//
// # Files
//
// WriteTo writes the encoder (spec, vocabularies, normalizers), the tables
// and the tower in one checksummed container; ReadModel checks the format
// version, the checksum and that the parts fit together (errors wrap
// ErrFormat).
//
// # Serving a slate
//
// A served request ranks hundreds of candidates for one user. Logits finds
// the features whose value is the same in every example of the batch (the
// user's), encodes them once and computes their part of the first layer
// once (tower.MLP.ForwardShared). The features of the candidate video
// alone (its ID, catalogue attributes, statistics held fixed) can be
// precomputed per video once per model: NewItemPart, then RankWith or
// LogitsWith add each candidate's precomputed row. Both give the logits of
// the examples scored one by one, up to floating-point summation order.
//
// # Concurrency
//
// Scoring (Logits, ExpectedWatchTime, Rank, RankWith) is safe for
// concurrent use and reuses pooled buffers across calls: once they have
// grown to a slate, Logits and LogitsWith allocate nothing (Rank, RankWith
// and ExpectedWatchTime allocate their results).
//
// # Example
//
//	m, stats, err := train.Ranking(ctx, train.RankingConfig{Spec: spec, Tower: []int{256, 128}}, impressions)
//	ranked, err := m.Rank(candidateIDs, candidateFeatures)
//	// ranked[0].ExpectedWatchTime is the best candidate's estimate.
package ranking
