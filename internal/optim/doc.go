// Package optim holds the element-wise Adam and Adagrad updates shared by
// the dense (tower) and row-sparse (embedding) optimizers.
package optim
