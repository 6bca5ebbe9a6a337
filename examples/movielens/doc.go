// Command movielens trains and evaluates candidate generation on MovieLens
// with DeepMatch's published YoutubeDNN protocol, so results compare across
// libraries, plus a validation split for choosing what the test never sees:
//
//   - every rating is a watch; each user's ratings are sorted by (timestamp,
//     movie id); the last one is the test target and the one before it the
//     validation target;
//   - every earlier prefix → next item is a training example (history = up to
//     -hist previous items);
//   - the number of epochs is chosen on validation (-patience: a model
//     trained on the examples before the validation targets stops after
//     that many epochs without a better validation HR@50, the mean of
//     unfiltered and filtered); the final model then trains on every example
//     before the test targets for that many epochs and is scored once on test;
//   - -tune also searches the learning rate, the negatives, L2 and dropout
//     (ml.TuneGrid) on validation, and reports test once, for the best point;
//   - evaluation ranks all movies exactly and reports HR@10/50/100 and NDCG@10
//     unfiltered (_all) and with the user's history excluded (_filtered), with
//     a most-popular baseline on the same split; each request is served at
//     its own time, or at example age 0 with -serve-at-end (the paper's
//     serving at the end of the training window).
//
// Features: history mean embedding, gender, age, occupation, zip region,
// genres of watched movies, example age. The demographic and movie files are
// optional; their features are dropped when absent.
//
//	go run ./examples/movielens -data path/to/ml-100k
//
// DIR holds MovieLens-100K (u.data, u.user, u.item), MovieLens-1M or -10M
// (ratings.dat, users.dat, movies.dat) or MovieLens-20M/25M/latest
// (ratings.csv, movies.csv; no user file). The data is not part of this
// repository (its licence forbids redistribution).
package main
