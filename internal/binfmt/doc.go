// Package binfmt is the little-endian, checksummed binary container shared by
// every ytdnn model file.
//
// # Layout
//
//	magic   [4]byte   identifies the kind of file ("YTEM", "YTCG", ...)
//	version uint32    format version; readers reject versions they do not know
//	body    ...       written with the Writer helpers below
//	crc     uint32    CRC-32 (Castagnoli) of every byte before it
//
// Strings and slices are written as a uint64 length followed by the elements.
// Every length read back is checked against a caller-provided limit, and a
// slice grows as its bytes arrive (its first allocation is capped at 64 Ki to
// 1 Mi elements), so a corrupted count in a short file ends in a truncation
// error having allocated about what the file holds, never the count. The
// reader does not know the file's size in advance. The container ends at its
// checksum: a byte after it is an error.
package binfmt
