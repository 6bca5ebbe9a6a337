// Package candgen is the paper's candidate generation stage: next-watch
// prediction as extreme multiclass classification,
// P(w = i | U, C) = softmax(v_i·u + b_i), with u the output of a ReLU tower
// over the user's features (averaged watch-history and search-token
// embeddings, categorical demographics, normalized values, example age).
//
// # Training
//
// Train fits vocabularies and normalizers in one pass, then trains with
// sampled softmax: each minibatch shares one set of negatives drawn from a
// sampling.Sampler (unigram by default), every logit is corrected by
// subtracting log of the candidate's expected count (importance weighting;
// Config.NoLogQ turns it off for ablations), and negatives equal to a row's
// label are dropped. The tower is a gorgonia graph built once with a static
// batch (the last batch is padded); embedding and softmax tables live
// outside the graph and receive row-sparse lazy-Adam updates, so memory per
// step does not grow with the vocabulary. NextWatch builds leak-free
// next-watch examples with a per-user cap.
//
// # Serving
//
// Example age is set to 0 at serving. UserVector(s) run the tower in plain Go;
// Recommend and RecommendBatch find the top n by v·u + b through a
// retrieval.Index over Items (the bias folded in as an extra dimension): the
// exact blocked search by default, or any index set with SetIndex.
//
// # Files
//
// Save writes spec, vocabularies, normalizers and weights atomically; Load
// checks the format version and checksum.
//
// # Concurrency
//
// A trained Model's serving methods are safe for concurrent use. Train is
// single-goroutine (gorgonia graphs are not goroutine-safe).
//
// # Example
//
//	spec := feature.Spec{
//		Spaces:   []feature.Space{{Name: "video", MaxVocab: 100000}},
//		Features: []feature.Feature{{Name: "watches", Kind: feature.Bag, Space: "video", MaxLen: 50}},
//	}
//	m, stats, err := candgen.Train(ctx, candgen.Config{Spec: spec, Tower: candgen.SmallTower}, examples)
//	recs, err := m.Recommend(context.Background(), userFeatures, 100, alreadyWatched)
package candgen
