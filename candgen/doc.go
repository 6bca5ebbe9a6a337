// Package candgen is the paper's candidate generation stage as a served
// model (§3): next-watch prediction as extreme multiclass classification,
// P(w = i | U, C) = softmax(v_i·u + b_i), with u the output of a ReLU tower
// over the user's features (averaged watch-history and search-token
// embeddings, categorical demographics, normalized values, example age).
//
// The package is plain Go: it imports no training framework, so a service
// that recommends links none. Package train produces a Model (sampled
// softmax with the logQ correction); NewModel assembles one from its parts;
// ReadModel and Load read one from a file. NextWatch builds leak-free
// next-watch examples with a per-user cap.
//
// # Serving
//
// Example age is set to 0 at serving (§3.3). UserVector(s) run the tower;
// Recommend and RecommendBatch find the top n by v·u + b through a
// retrieval.Index over Items (the bias folded in as an extra dimension: the
// query is [u, 1], an item [v_j, b_j]): the exact blocked search by
// default, or any index set with SetIndex.
//
// # Shapes
//
// The user vector u has D floats (the tower's last size); the softmax table
// has one row [v_j, b_j] of D+1 floats per index of the video vocabulary,
// row 0 (out of vocabulary) never retrieved.
//
// # Files
//
// WriteTo writes the header (user-feature count, example-age slot, label
// space), the encoder (spec, vocabularies, normalizers), the embedding
// tables, the tower and the softmax table in one checksummed container;
// Save writes it atomically. ReadModel checks the format version, the
// checksum and that the parts fit together; its errors wrap ErrFormat.
//
// # Concurrency
//
// A Model's serving methods are safe for concurrent use.
//
// # Example
//
//	m, stats, err := train.Candgen(ctx, train.CandgenConfig{Spec: spec, Tower: train.SmallTower()}, examples)
//	recs, err := m.Recommend(ctx, userFeatures, 100, alreadyWatched)
package candgen
