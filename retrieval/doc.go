// Package retrieval answers top-n maximum-inner-product queries over item
// vectors, the serving side of candidate generation: Exact is a blocked
// matrix product with a bounded heap per query; approximate indexes
// implement the same Index interface, so either plugs into candgen.
//
// # Shapes
//
// Vectors and queries are float32, row-major, Dim() wide. Candidate
// generation folds each class's bias into an extra dimension (item [v, b],
// query [u, 1]) so the inner product is the softmax logit.
//
// # Concurrency
//
// Indexes are immutable once built and safe for concurrent searches. The
// exceptions are settings: HNSW.SetEfSearch may be called during searches;
// Exact.Workers must be set before the index is shared.
//
// # Example
//
//	idx, _ := retrieval.NewExact(vectors, 65, nil)
//	hits, _ := idx.Search(context.Background(), query, 100, nil) // hits[0] is the best 100, best first
package retrieval
