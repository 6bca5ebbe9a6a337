// Package baseline holds the most-popular recommender the examples compare
// against.
package baseline
