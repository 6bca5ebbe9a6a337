package feature

import (
	"fmt"
	"slices"
)

// Builder fills examples of a spec by feature name, so that producers never
// hard-code slot numbers. A Builder is immutable and safe for concurrent
// use.
type Builder struct {
	spec Spec
	slot map[string]int
}

// NewBuilder validates spec and returns its Builder.
func NewBuilder(spec Spec) (*Builder, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	b := &Builder{spec: spec, slot: make(map[string]int, len(spec.Features))}
	for i, f := range spec.Features {
		b.slot[f.Name] = i
	}
	return b, nil
}

// Spec returns the builder's spec.
func (b *Builder) Spec() Spec { return b.spec }

// New returns an empty example of the spec (every ID feature OOV, every
// number 0).
func (b *Builder) New() Example { return b.spec.New() }

// Has reports whether the spec has a feature of that name.
func (b *Builder) Has(name string) bool { _, ok := b.slot[name]; return ok }

// index returns the slot of the named feature of one of the kinds; an
// unknown name or another kind is a programmer error and panics.
func (b *Builder) index(name string, kinds ...Kind) int {
	i, ok := b.slot[name]
	if !ok {
		panic(fmt.Sprintf("feature: the spec has no feature %q", name))
	}
	for _, k := range kinds {
		if b.spec.Features[i].Kind == k {
			return i
		}
	}
	// A copy in the message: passing kinds itself would move every call's
	// variadic slice to the heap.
	panic(fmt.Sprintf("feature: feature %q is %v, not %v", name, b.spec.Features[i].Kind, slices.Clone(kinds)))
}

// Slot returns the slot of the named feature (its index in the spec's
// Features) for producers that fill many examples: resolve the names once,
// then write Example.IDs[slot] and Example.Nums[slot] directly. It panics,
// as SetIDs does, on a name the spec lacks or a feature of none of kinds.
func (b *Builder) Slot(name string, kinds ...Kind) int {
	return b.index(name, kinds...)
}

// SetIDs sets the IDs of the named ID or Bag feature (ex keeps ids: do
// not modify them afterwards). It panics if the spec has no such feature
// (a programmer error: names come from the code that declared the spec).
func (b *Builder) SetIDs(ex *Example, name string, ids []int64) {
	ex.IDs[b.index(name, ID, Bag)] = ids
}

// SetNum sets the value of the named Continuous or Value feature; it
// panics as SetIDs does.
func (b *Builder) SetNum(ex *Example, name string, x float64) {
	ex.Nums[b.index(name, Continuous, Value)] = x
}

// Diff reports the first difference between two specs, naming it, or nil
// when they declare the same spaces and features in the same order: names,
// kinds, spaces, MaxLen, MaxVocab and Dim (a want Dim of 0, the default
// dimension, accepts the one a warm-started model kept; see
// Fitter.Continue). got is what was stored (a model file), want what the
// code expects.
func Diff(got, want Spec) error {
	for i := 0; i < max(len(got.Features), len(want.Features)); i++ {
		switch {
		case i >= len(got.Features):
			return fmt.Errorf("feature %q (position %d) is missing", want.Features[i].Name, i)
		case i >= len(want.Features):
			return fmt.Errorf("feature %q (position %d) is not expected", got.Features[i].Name, i)
		}
		g, w := got.Features[i], want.Features[i]
		switch {
		case g.Name != w.Name:
			return fmt.Errorf("feature %d is %q, expected %q", i, g.Name, w.Name)
		case g.Kind != w.Kind:
			return fmt.Errorf("feature %q is %v, expected %v", g.Name, g.Kind, w.Kind)
		case g.Space != w.Space:
			return fmt.Errorf("feature %q reads space %q, expected %q", g.Name, g.Space, w.Space)
		case g.MaxLen != w.MaxLen:
			return fmt.Errorf("feature %q keeps %d IDs, expected %d", g.Name, g.MaxLen, w.MaxLen)
		}
	}
	for i := 0; i < max(len(got.Spaces), len(want.Spaces)); i++ {
		switch {
		case i >= len(got.Spaces):
			return fmt.Errorf("space %q is missing", want.Spaces[i].Name)
		case i >= len(want.Spaces):
			return fmt.Errorf("space %q is not expected", got.Spaces[i].Name)
		}
		g, w := got.Spaces[i], want.Spaces[i]
		switch {
		case g.Name != w.Name:
			return fmt.Errorf("space %d is %q, expected %q", i, g.Name, w.Name)
		case g.MaxVocab != w.MaxVocab || (g.Dim != w.Dim && w.Dim != 0):
			return fmt.Errorf("space %q keeps %d IDs of dimension %d, expected %d of %d", g.Name, g.MaxVocab, g.Dim, w.MaxVocab, w.Dim)
		}
	}
	return nil
}
