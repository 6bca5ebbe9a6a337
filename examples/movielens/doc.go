// Command movielens trains and evaluates candidate generation on MovieLens
// with DeepMatch's published YoutubeDNN protocol, so results compare across
// libraries:
//
//   - every rating is a watch; each user's ratings are sorted by (timestamp,
//     movie id); the last one is the test target;
//   - every earlier prefix → next item is a training example (history = up to
//     -hist previous items);
//   - evaluation ranks all movies exactly and reports HR@10/50/100 and NDCG@10
//     unfiltered (_all) and with the user's history excluded (_filtered), with
//     a most-popular baseline on the same split.
//
// Features: history mean embedding, gender, age, occupation, zip region,
// genres of watched movies, example age. The demographic and movie files are
// optional; their features are dropped when absent.
//
//	go run ./examples/movielens -data path/to/ml-100k
//
// DIR holds MovieLens-100K (u.data, u.user, u.item) or MovieLens-1M
// (ratings.dat, users.dat, movies.dat). The data is not part of this
// repository (its licence forbids redistribution).
package main
