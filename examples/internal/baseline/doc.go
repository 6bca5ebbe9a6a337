// Package baseline holds the most-popular recommender the examples compare
// against, and the HR@K/NDCG@10 tally their held-out evaluations share.
package baseline
