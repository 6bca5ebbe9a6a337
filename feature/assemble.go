package feature

import (
	"fmt"

	"github.com/ytdnn/ytdnn/internal/vec"
)

// Columns returns the input columns feature i fills in an assembled row:
// the first one and how many (an ID or Bag feature its space's dimension,
// Continuous 3, Value 1).
func (e *Encoder) Columns(i int) (offset, width int) {
	end := e.width
	if i+1 < len(e.offset) {
		end = e.offset[i+1]
	}
	return e.offset[i], end - e.offset[i]
}

// AssembleFeatures writes the input columns of the listed features of ex
// (feature indices, in any order) into dst, packed one after the other in
// the order listed: for each, what EncodeTo and Assemble write at its
// Columns, bit for bit. dst must hold their total width. It is the serving
// path's encoder: it allocates nothing and skips the features not listed
// (a slate's features shared by every candidate are assembled once). Bad
// values of a listed feature are EncodeTo's errors, naming it; an example
// with other slot counts than the spec's, a dst of another length, or p not
// fitting the encoder is an error too.
func (e *Encoder) AssembleFeatures(dst []float32, ex *Example, p *Params, features []int) error {
	if len(ex.IDs) != len(e.Spec.Features) || len(ex.Nums) != len(e.Spec.Features) {
		return fmt.Errorf("feature: example has %d ID and %d numeric slots, spec has %d features", len(ex.IDs), len(ex.Nums), len(e.Spec.Features))
	}
	if p == nil || len(p.Tables) != len(e.Spec.Spaces) {
		return fmt.Errorf("feature: AssembleFeatures: parameters do not fit the encoder")
	}
	o := 0
	for _, i := range features {
		if i < 0 || i >= len(e.Spec.Features) {
			return fmt.Errorf("feature: AssembleFeatures: no feature %d", i)
		}
		_, w := e.Columns(i)
		if o+w > len(dst) {
			return fmt.Errorf("feature: AssembleFeatures: dst holds %d floats, the features need more", len(dst))
		}
		if err := e.Spec.checkFeature(i, ex); err != nil {
			return err
		}
		seg := dst[o : o+w]
		o += w
		f := &e.Spec.Features[i]
		switch f.Kind {
		case ID, Bag:
			t := p.Tables[e.space[i]]
			v := e.Vocabs[e.space[i]]
			if t == nil || t.Dim != w {
				return fmt.Errorf("feature: AssembleFeatures: the table of feature %q does not have the encoder's dimension %d", f.Name, w)
			}
			ids := lastN(ex.IDs[i], f.MaxLen)
			if f.Kind == ID && len(ids) == 1 {
				if id := v.Index(ids[0]); id > 0 && int(id) < t.Rows {
					copy(seg, t.Row(id))
				} else {
					clear(seg)
				}
				continue
			}
			// A bag's mean, as embedding.Table.LookupBag takes it: OOV
			// IDs add nothing but count.
			clear(seg)
			if len(ids) == 0 {
				continue
			}
			for _, id := range ids {
				if j := v.Index(id); j > 0 && int(j) < t.Rows {
					vec.Axpy(1, t.Row(j), seg)
				}
			}
			vec.Scale(1/float32(len(ids)), seg)
		case Continuous:
			if err := e.CDFs[i].Powers(seg, ex.Nums[i]); err != nil {
				return err
			}
		case Value:
			seg[0] = float32(ex.Nums[i])
		}
	}
	if o != len(dst) {
		return fmt.Errorf("feature: AssembleFeatures: dst holds %d floats, the features %d", len(dst), o)
	}
	return nil
}
