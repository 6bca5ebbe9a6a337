// Package embedding holds the categorical side of ytdnn: vocabularies that
// map raw IDs to dense indices, float32 embedding tables (one per ID space,
// shared by every feature in that space), bag (multivalent) lookups, and
// row-sparse gradients with their optimizers: SGD, Adagrad, lazy Adam
// (LazyAdam) and row-wise Adagrad (RowAdagrad).
//
// # Indices and OOV
//
// A Vocab keeps the top N keys by count (ties broken deterministically) at
// indices 1..N, most frequent first; index 0, OOV, stands for everything else.
// Row OOV of a Table made by NewTable is zero, lookups read it as zeros
// whatever it holds, and no gradient or optimizer touches it, so unknown IDs
// contribute a zero embedding.
//
// # Shapes and dtype
//
// Tables are float32, Rows×Dim, row-major. Dim grows with log(cardinality):
// see Dim and DimPerLog2.
//
// # Cost
//
// Lookup is O(len(ids)·Dim), LookupBag the same into one row. A Grad stores
// only touched rows: a training step costs O(rows touched·Dim) time and
// memory, never O(Rows·Dim), so a million-row table trains without a dense
// gradient; its row→slot map is one int32 per table row. The optimizers'
// state is allocated once, on their first Apply: LazyAdam 2·Rows·Dim
// floats, Adagrad Rows·Dim, RowAdagrad Rows, SGD none (StateBytesPerRow).
//
// # Files
//
// Vocabularies and tables are parts of a model file (candgen's, ranking's):
// Vocab.WriteTo and Table.WriteTo write them into the file's container when
// given its writer (or on their own, with no header or checksum, to any
// io.Writer), ReadVocab and ReadTable read them back, little-endian:
//
//	table:      rows u64, dim u64, len u64 = rows·dim, len float32 values
//	vocabulary: n u64, then n × (ID i64, count i64)
//
// The readers check every count before it sizes an allocation (a table's
// dim at most 2¹⁶), that a table holds rows·dim finite values and that no
// ID repeats. Their errors wrap ErrFormat and carry no package prefix: the
// model's reader adds its own. Keys are int64 IDs only.
//
// A table optimizer's state (moments, accumulators) is saved with
// SaveState, set with LoadState, moved to a refitted vocabulary's indices
// with State.Remap (RowMap gives the move; CopyRows moves a table's rows),
// and stored with State.WriteTo and ReadState, for a run that continues
// from a previous one (a warm start).
//
// # Errors
//
// Buffers of the wrong length and gradients that do not fit the table are
// errors (not panics) starting "embedding: ".
//
// # Concurrency
//
// Vocab is immutable and safe for concurrent use; a Counter is not. Table
// reads are safe for concurrent use; updates, Grad and optimizers are not.
// LazyAdam and RowAdagrad spread the rows of one Apply over the cores
// themselves.
//
// # Example
//
//	c := embedding.NewCounter()
//	c.Add(42, 10)
//	c.Add(7, 3)
//	v := c.Vocab(1000) // 42 → 1, 7 → 2, anything else → OOV (0)
//	t, err := embedding.NewTable(v.Size(), embedding.Dim(v.Size()), 0.05, nil)
//	if err != nil { ... }
//	bag := make([]float32, t.Dim)
//	err = t.LookupBag(bag, []int32{v.Index(42), v.Index(7)})
package embedding
