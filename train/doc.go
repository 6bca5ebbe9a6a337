// Package train trains both stages of the paper's recommender and returns
// their served models: Candgen and CandgenSource produce a candgen.Model
// (sampled softmax with the logQ correction, §3), Ranking and RankingSource
// a ranking.Model (weighted logistic regression, §4).
//
// # One trainer
//
// Both stages run one trainer: a fitting pass over the examples
// (vocabularies top-N by count, CDF sketches of the continuous features),
// embedding tables drawn outside the graph, the tower built once as a
// gorgonia graph with a static batch (the last batch padded), then epochs
// in memory or streamed through a bounded shuffle buffer, with input
// dropout, row-sparse table optimizers (lazy Adam or row-wise Adagrad), a
// dense optimizer for the tower and early stopping on a validation score.
// What differs is the head: candidate generation's softmax table with
// negatives shared by the batch and accidental hits dropped, the ranker's
// single logit with per-example weights.
//
// # Warm start
//
// A stage's training can continue from a previous run's model and its
// training state (CandgenConfig.WarmStart, RankingConfig.WarmStart; Warm):
// vocabularies refitted on the decayed previous counts plus the new ones,
// every kept ID's rows and optimizer state carried bit for bit under its
// new index, new IDs given fresh rows, the normalizers mixed, the tower
// and its optimizer carried over. Stats.State is the state a run leaves
// for the next; State.WriteTo and ReadState store it.
//
// # Configuration
//
// CandgenConfig and RankingConfig embed Options, the settings both stages
// share. Zero fields take documented defaults (the Default constants),
// applied in one place; the whole config is validated, every error at
// once, before any example is read (Validate).
//
// # Memory
//
// Per step memory does not grow with the vocabulary: table gradients are
// row-sparse. A video costs 4·(Dim + D + 1) bytes of tables plus the table
// optimizer's state (Options.TableOptimizer).
//
// # Concurrency
//
// A training call steps the graph on one goroutine (gorgonia graphs are
// not goroutine-safe) and assembles each batch's rows on all cores. Errors
// are prefixed "train: candgen: " or "train: ranking: ".
package train
