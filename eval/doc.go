// Package eval is the one home of held-out evaluation: the ranking metrics
// (weighted per-user loss, AUC, calibration), the retrieval metrics over
// ranked ID lists (hit rate, NDCG, recall at K, accumulated by a Tally), the
// most-popular baseline, and the one vocabulary of metric names every
// example reports under. It imports the standard library only, so a server
// can use it without the training framework.
//
// # Ranking metrics
//
// Over Scored impressions (a score, clicked or not, watch time):
//
//   - WeightedPerUserLoss, the paper's ranking metric (Covington, Adams and
//     Sargin, "Deep Neural Networks for YouTube Recommendations", RecSys
//     2016, §4, Table 1). Per page of one user, over every pair (p, n) of a
//     clicked p and an unclicked n: loss = Σ T_p·[s_n > s_p] / Σ T_p, with
//     T_p the clicked impression's watch time, s the scores and a tie
//     counting ½.
//   - AUC, the area under the ROC curve of the scores for "clicked": the
//     Mann-Whitney statistic (R₊ − n₊(n₊+1)/2) / (n₊·n₋), R₊ the sum of the
//     clicked impressions' 1-based ranks by ascending score, ties given
//     their mean rank (Hanley and McNeil 1982).
//   - Calibration, a reliability table: impressions sorted by score (the
//     predicted expected watch time exp(logit)) into equal-count bins, each
//     with its mean prediction and its mean observed watch time per
//     impression (0 for an unclicked one).
//
// # Retrieval metrics
//
// Over a ranked list of IDs, best first, with 0-based positions r:
//
//   - HR@K, hit rate, for one held-out label per request (the next-watch
//     protocol): 1 when the label is among the first K, else 0; averaged
//     over requests.
//   - NDCG@K (Järvelin and Kekäläinen 2002), binary relevance: DCG =
//     Σ 1/log2(r+2) over the relevant items at r < K, over the ideal DCG of
//     min(|relevant|, K) items at the top. With one label: 1/log2(r+2) when
//     r < K, else 0.
//   - Recall@K, for several relevant items per request (an approximate
//     index against the exact top K, say): |first K ∩ relevant| /
//     |relevant|, averaged over requests. With one label it is HR@K.
//
// HR, NDCG and Recall score one request; a Tally accumulates requests and
// reports the means at its cut-offs (DefaultKs 10, 50, 100 and NDCG at
// DefaultNDCGK 10 unless set). MeanSE gives the mean ± standard error of
// a metric over seeds or runs.
//
// # Most-popular baseline
//
// MostPopular ranks IDs by training count (CountLabels counts examples of
// any type), and TopExcluding takes its first K outside a user's history.
//
// # Names
//
// One vocabulary: a Metric's name, "@K" for a cut-off, and for retrieval
// "_all" (nothing excluded from the ranked list) or "_filtered" (the user's
// history excluded), by History:
//
//	hr@10_all  hr@50_all  hr@100_all  ndcg@10_all  recall@50_all
//	hr@10_filtered  hr@50_filtered  hr@100_filtered  ndcg@10_filtered  recall@50_filtered
//	auc  weighted_per_user_loss
//
// Metric.At builds them; Tally.Metrics returns a map under them. A prefix
// names what was measured (Put adds it): none for the model under test,
// "mostpop_" for the most-popular baseline, "val_" for the validation
// split, "candgen_", "ranking_" or "hnsw_" for one stage or index of a
// two-stage run: "mostpop_hr@50_filtered", "ranking_auc".
//
// # Shapes
//
// IDs are int64 (a video, a movie), scores and watch times float64. Ranked
// lists may have any length: K larger than the list counts what the list
// holds. Nothing is modified: inputs are read, sorting works on copies.
//
// # Edge cases
//
//   - NaN or ±Inf in any score or watch time: WeightedPerUserLoss and AUC
//     return NaN and Calibration nil (NaN never equals itself, so it would
//     neither sort nor tie).
//   - Empty input: WeightedPerUserLoss with no clicked-unclicked pair is 0;
//     AUC with one class (or none) is NaN; Calibration of nothing is nil,
//     and bins beyond the number of items are left out; an empty Tally's
//     means are NaN and its Metrics map empty; Recall with no relevant item
//     is NaN, and Tally.AddRelevant does not count such a request; MeanSE
//     of nothing is NaN ± NaN, of one value that value ± 0.
//   - Ties: a tied clicked-unclicked pair counts half in
//     WeightedPerUserLoss and AUC. Ranked lists carry no scores, so the
//     retrieval metrics have no ties: the list's order decides.
//   - A label absent from the ranked list is a miss at every K; K < 1 counts
//     nothing. An ID listed twice counts once.
//
// # Concurrency
//
// The functions are pure and safe for concurrent use. A Tally is not:
// give each goroutine its own and Merge them.
package eval
