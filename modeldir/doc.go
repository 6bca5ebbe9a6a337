// Package modeldir is the one model-directory format, what training writes
// and a service loads:
//
//	pipeline.json   the manifest: format version, the layout (layout.Config),
//	                the end of the training window, whether a ranker is
//	                present, the training run's numbers
//	candgen.model   candgen.Model
//	ranking.model   ranking.Model (when the logs had impressions)
//	catalogue.bin   the videos' catalogue features (checksummed container)
//	index.hnsw      optional retrieval.HNSW over candidate generation's items
//
// Write writes a directory atomically (a temporary directory renamed into
// place once every file is written and synced; an existing directory is
// refused). Load checks that the parts fit together: the manifest's
// format, the layout, the catalogue's columns, each model's stored feature
// spec against the layout (naming the first renamed, reordered or
// re-shaped feature), and the index against candidate generation's items.
// Every file must be a regular file within its size bound before it is
// read.
//
// The package imports neither the training framework nor the log readers:
// a service that loads directories links neither.
package modeldir
