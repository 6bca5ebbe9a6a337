// Package par splits loops over the cores.
package par
