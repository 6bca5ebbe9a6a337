// Command experiments reproduces the paper's ablations and writes Markdown
// tables and PNG plots, each cell the mean ± standard error over -seeds
// seeds (3 by default).
//
// On the generated world (the default):
//
//   - candidate generation with feature families added one at a time
//     (watches, + searches, + demographics, + example age) across tower
//     depths 0..4, held-out HR@50 with the history filtered (the shape of
//     the paper's Figure 6);
//
//   - sampled softmax with and without the logQ correction;
//
//   - ranking with hidden layers from none to 1024→512→256 (the paper's
//     Table 1), weighted per-user loss on held-out users, and weighted
//     against unweighted logistic regression.
//
// On MovieLens with -data DIR (a folder with demographics: u.user or
// users.dat): the features × depth table (watches, + demographics: gender,
// age, occupation and zip region, + example age; MovieLens has no
// searches) and the logQ ablation, under the movielens example's protocol
// (trained on the ratings before each user's validation target with early
// stopping on validation, scored once on each user's last rating).
//
//	go run ./examples/experiments -out results                     # about 18 minutes on 2 cores
//	go run ./examples/experiments -data path/to/ml-100k -out results # about 45 minutes
package main
