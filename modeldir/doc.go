// Package modeldir is the one model-directory format, what training writes
// and a service loads:
//
//	pipeline.json   the manifest: format version (3), the layout
//	                (layout.Config), the end of the training window, whether
//	                a ranker is present, the training run's numbers, and the
//	                size and SHA-256 of every other file
//	candgen.model   candgen.Model
//	ranking.model   ranking.Model (when the logs had impressions)
//	catalogue.bin   the videos' catalogue features (checksummed container)
//	index.hnsw      optional retrieval.HNSW over candidate generation's items
//	ids.dict        optional events.Dicts: the log's text IDs, kept exact
//	stats.bin       optional layout.FixedStats: running statistics at the end
//	users.bin       optional: the user attribute table
//	candgen.state   optional train.State: candidate generation's optimizers,
//	ranking.state   and the ranker's, for a later run to continue from (a
//	                warm start; ReadState reads them, Load does not)
//
// # One run, one directory
//
// The manifest, written last, binds every file of its directory: Write
// hashes each file as it writes it and records its size and SHA-256. Load
// checks each file against the manifest before decoding it, so a model,
// catalogue or index copied in from another training run (another seed,
// other data) is refused, naming the file; so is a file of the format that
// the manifest does not list (an index.hnsw beside a directory trained
// without one) and a manifest that lists a file this format does not have.
// Directories of an older format (2 and before: files unbound) are refused
// by their format number: retrain them.
//
// # Files are read only when regular and bounded
//
// Every file, the manifest and the index included, is inspected with
// os.Lstat before it is opened: it must be a regular file (not a link, a
// device, a pipe or a folder) within its size bound (1 MiB for the
// manifest, 16 GiB for the catalogue, 64 GiB for a model or the index),
// and the file opened must be the one inspected. Nothing is read past the
// recorded size, and what a decoder allocates grows with the bytes the file
// holds, never with a count it claims. The directory itself is opened as
// the caller names it; a service that loads versions from a root resolves
// the version inside that root first (examples/serve does).
//
// # Checks
//
// Write writes a directory atomically (a temporary directory renamed into
// place once every file is written and synced; an existing directory is
// refused). Load checks that the parts fit together: the manifest's
// format and file sums, the layout, the catalogue's columns, each model's
// stored feature spec against the layout (naming the first renamed,
// reordered or re-shaped feature), and the index against candidate
// generation's items.
//
// # Cost
//
// Load reads every file twice: once to hash it, once to decode it (the
// second read usually comes from the page cache).
//
// The package imports neither the training framework nor the log readers:
// a service that loads directories links neither.
package modeldir
