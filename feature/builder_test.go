package feature

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func builderSpec() Spec {
	return Spec{
		Spaces: []Space{{Name: "video", MaxVocab: 10}},
		Features: []Feature{
			{Name: "watches", Kind: Bag, Space: "video", MaxLen: 5},
			{Name: "last", Kind: ID, Space: "video"},
			{Name: "age", Kind: Continuous},
		},
	}
}

func TestBuilderFillsByName(t *testing.T) {
	b, err := NewBuilder(builderSpec())
	require.NoError(t, err)
	ex := b.New()
	b.SetNum(&ex, "age", 30)
	b.SetIDs(&ex, "watches", []int64{1, 2})
	b.SetIDs(&ex, "last", []int64{2})
	assert.Equal(t, Example{IDs: [][]int64{{1, 2}, {2}, nil}, Nums: []float64{0, 0, 30}}, ex)
	assert.True(t, b.Has("last"))
	assert.False(t, b.Has("Last"))
	for name, f := range map[string]func(){
		"unknown name":          func() { b.SetIDs(&ex, "watched", nil) },
		"IDs of a number":       func() { b.SetIDs(&ex, "age", nil) },
		"number of an ID space": func() { b.SetNum(&ex, "last", 1) },
	} {
		t.Run(name, func(t *testing.T) { assert.Panics(t, f) })
	}
}

func TestDiffNamesTheFeature(t *testing.T) {
	want := builderSpec()
	assert.NoError(t, Diff(want, builderSpec()))
	for _, c := range []struct {
		name   string
		mutate func(s *Spec)
		msg    string
	}{
		{"renamed", func(s *Spec) { s.Features[1].Name = "previous" }, `feature 1 is "previous", expected "last"`},
		{"reordered", func(s *Spec) { s.Features[0], s.Features[1] = s.Features[1], s.Features[0] }, `feature 0 is "last", expected "watches"`},
		{"other kind", func(s *Spec) { s.Features[1].Kind = Bag }, `feature "last" is bag, expected id`},
		{"other length", func(s *Spec) { s.Features[0].MaxLen = 6 }, `feature "watches" keeps 6 IDs, expected 5`},
		{"other space", func(s *Spec) { s.Features[1].Space = "v2" }, `feature "last" reads space "v2", expected "video"`},
		{"extra", func(s *Spec) { s.Features = append(s.Features, Feature{Name: "x", Kind: Value}) }, `feature "x" (position 3) is not expected`},
		{"missing", func(s *Spec) { s.Features = s.Features[:2] }, `feature "age" (position 2) is missing`},
		{"vocabulary cap", func(s *Spec) { s.Spaces[0].MaxVocab = 11 }, `space "video" keeps 11 IDs of dimension 0, expected 10 of 0`},
		{"renamed space", func(s *Spec) { s.Spaces[0].Name = "videos" }, `space 0 is "videos", expected "video"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := builderSpec()
			c.mutate(&got)
			assert.EqualError(t, Diff(got, want), c.msg)
		})
	}
}
