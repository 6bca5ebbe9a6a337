// Package ingest reads a team's own logs — a watch log, an impression log
// and a video catalogue, as folders of Parquet shards written by Spark or
// BigQuery, or CSV/TSV files — and streams them to training with bounded
// memory.
//
// # Files
//
// A dataset is a file or a folder: every .parquet, .csv and .tsv file below
// it is read, in name order, skipping names that start with '_' or '.'
// (Spark's _SUCCESS, checksum files). key=value folders (Hive partitioning)
// supply a column a file lacks. Parquet is read with
// github.com/parquet-go/parquet-go: any codec it supports (snappy, zstd,
// gzip, ...), dictionary-encoded columns, any number of row groups (one row
// group's mapped columns are in memory at a time), INT32/INT64/STRING IDs,
// times as INT64 seconds/milliseconds/… (Spec's time_unit), TIMESTAMP or
// Spark's legacy INT96. CSV and TSV files start with a header line; row
// numbers in errors count data rows.
//
// # Column mapping
//
// A Spec (a JSON file, see ReadSpec) names the columns: user, item and time
// of both logs, search tokens and user features of the watch log, click and
// watch time of the impression log, the catalogue's video features. Without
// one, DefaultSpec reads user_id, item_id, timestamp, clicked and
// watch_seconds. IDs written as text are parsed as integers or hashed (see
// ParseID).
//
// # Bad input
//
// A malformed row (a value of the wrong type, a null in a required column,
// a negative watch time, an unparseable time) is counted and skipped; the
// Report keeps the file and row of the first MaxReported. Options.Strict
// makes the first one an error. A missing column is an error naming the
// column and the file; a truncated or non-Parquet file an error naming the
// file.
//
// # Grouping by user with bounded memory
//
// Next-watch examples need each user's events in time order, and Spark's
// output is not sorted by user. Build partitions the events by hash(user)
// into spill files (Options.PartitionEvents events each, up to 1,024
// files), sorts each partition in memory, and Log.EachUser then streams the
// users in time order. Memory: one partition while sorting (about 100 bytes
// an event), one user while reading. Temporary disk: about 30 bytes per
// event plus 1-10 bytes per search token and 9-18 per user feature, once
// (each unsorted partition is removed when its sorted copy is written).
//
// # Concurrency
//
// A Log may be read by one EachUser at a time.
package ingest
