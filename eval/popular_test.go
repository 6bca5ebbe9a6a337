package eval

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestMostPopular(t *testing.T) {
	labels := []int64{5, 3, 5, 7, 3, 5, 9}
	counts := CountLabels(labels, func(l int64) int64 { return l })
	assert.Equal(t, map[int64]int{5: 3, 3: 2, 7: 1, 9: 1}, counts)
	assert.Equal(t, []int64{5, 3, 7, 9}, MostPopular(counts), "by count, ties by ascending ID")
	assert.Empty(t, MostPopular(nil))
}

func TestTopExcluding(t *testing.T) {
	pop := []int64{5, 3, 7, 9}
	for _, c := range []struct {
		name    string
		exclude []int64
		k       int
		want    []int64
	}{
		{"history skipped", []int64{3}, 2, []int64{5, 7}},
		{"nothing excluded", nil, 3, []int64{5, 3, 7}},
		{"k larger than the list", []int64{5}, 10, []int64{3, 7, 9}},
		{"k zero", nil, 0, []int64{}},
		{"k negative", nil, -1, []int64{}},
		{"all excluded", pop, 2, []int64{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := slices.Clone(pop)
			assert.Equal(t, c.want, TopExcluding(pop, c.exclude, c.k))
			assert.Equal(t, in, pop, "input mutated")
		})
	}
}
