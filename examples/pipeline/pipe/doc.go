// Package pipe is the road from a team's logs to a model directory: it
// maps an ingest.Spec to the feature layout (package layout), streams
// next-watch examples and impressions out of an ingest.Log into
// train.CandgenSource and train.RankingSource, evaluates on each user's
// last watch, and writes the model directory atomically (package
// modeldir). Serving reads the same layout from the directory, so training
// and serving cannot disagree. examples/pipeline is its command line;
// examples/serve serves its model directories.
package pipe
