// Package export writes item vectors and their ids in the formats the
// engines that scale retrieval out read: NumPy's .npy (FAISS through NumPy,
// hnswlib, Qdrant's and Milvus's Python clients) and Parquet with an INT64
// `id` column and a LIST<FLOAT> `vector` column (Milvus bulk import, Spark,
// DuckDB). It reads both back, for round trips and checks. UserTowerONNX
// and RankerONNX write the towers as ONNX models (opset 13, ai.onnx.ml 2)
// for ONNX Runtime or Triton.
//
// # The .npy format
//
// Version 1.0 of NumPy's format: the magic "\x93NUMPY", the version bytes
// 1 and 0, a little-endian uint16 header length, then an ASCII header — a
// Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (n,
// d), } — padded with spaces and ended by '\n' so that the data starts at a
// multiple of 64 bytes, then the data in C (row-major) order, little-endian.
// Readers accept versions 1.0-3.0 with little-endian '<f4', '<i4' and '<i8'
// data in C order.
//
// # Errors
//
// Errors start "export: ". Malformed input (an .npy header or data that is
// not what it claims, a Parquet file the reader cannot take, vectors of two
// lengths) wraps ErrFormat; a writer's or reader's own error is wrapped as
// it is.
//
// # Concurrency
//
// The functions hold no state; they are safe for concurrent use on
// different writers and readers.
package export
