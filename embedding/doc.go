// Package embedding holds the categorical side of ytdnn: vocabularies that
// map raw IDs to dense indices, float32 embedding tables (one per ID space,
// shared by every feature in that space), bag (multivalent) lookups, and
// row-sparse gradients with SGD, Adagrad and lazy Adam optimizers.
//
// # Indices and OOV
//
// A Vocab keeps the top N keys by count (ties broken deterministically) at
// indices 1..N, most frequent first; index 0, OOV, stands for everything else.
// Row OOV of every Table is zero and no optimizer touches it, so unknown IDs
// contribute a zero embedding.
//
// # Shapes and dtype
//
// Tables are float32, Rows×Dim, row-major. Dim grows with log(cardinality):
// see Dim and DimPerLog2.
//
// # Cost
//
// Lookup is O(len(ids)·Dim). A Grad stores only touched rows: a training step
// costs O(rows touched·Dim) time and memory, never O(Rows·Dim), so a
// million-row table trains without a dense gradient. Adagrad and LazyAdam keep
// their per-element state (Rows×Dim) allocated once.
//
// # Concurrency
//
// Vocab is immutable and safe for concurrent use. Table reads are safe for
// concurrent use; updates, Grad and optimizers are not.
//
// # Example
//
//	c := embedding.NewCounter()
//	c.Add(42, 10)
//	c.Add(7, 3)
//	v := c.Vocab(1000)           // 42 → 1, 7 → 2, anything else → OOV (0)
//	t, _ := embedding.NewTable(v.Size(), embedding.Dim(v.Size()), 0.05, nil)
//	bag := make([]float32, t.Dim)
//	t.LookupBag(bag, []int32{v.Index(42), v.Index(7)})
package embedding
