// Package gradcheck compares analytic gradients with central finite
// differences; the candgen and ranking tests use it on embedding and softmax
// rows.
package gradcheck
