// Package feature is the declarative input layer both stages share: a Spec
// names ID spaces (one embedding table each) and features (ID, Bag,
// Continuous, Value); a Fitter learns vocabularies and CDF normalizers in one
// pass; an Encoder maps raw examples to indices and normalized values and
// assembles network input rows from the embedding tables, and sends the
// rows' gradients back to the tables as row-sparse updates.
//
// # Input layout
//
// Features enter the network in Spec order, each in its own columns: an ID or
// Bag feature takes its space's embedding dimension (a Bag is averaged), a
// Continuous feature three columns (x̃, x̃², √x̃), a Value one. Features in the
// same space share the table but not the columns, so the layers above can
// specialise.
//
// # Concurrency
//
// Encoder is immutable and safe for concurrent use; Fitter and Params (while
// training) are not.
//
// # Example
//
//	spec := feature.Spec{
//		Spaces:   []feature.Space{{Name: "video", MaxVocab: 100000}},
//		Features: []feature.Feature{
//			{Name: "watches", Kind: feature.Bag, Space: "video", MaxLen: 50},
//			{Name: "age", Kind: feature.Continuous},
//		},
//	}
//	f, _ := feature.NewFitter(spec)
//	ex := spec.New()
//	ex.IDs[0], ex.Nums[1] = []int64{3, 9}, 31
//	_ = f.Observe(&ex, true)
//	enc, _ := f.Encoder()
package feature
