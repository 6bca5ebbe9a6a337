// Package pipe is the road from a team's logs to a served model: it turns
// an ingest.Spec into the features of both stages, streams next-watch
// examples and impressions out of an ingest.Log into candgen.TrainSource
// and ranking.TrainSource, evaluates on each user's last watch, writes a
// model directory atomically, and gives the serving side the same feature
// code, so training and serving cannot disagree. examples/pipeline is its
// command line; examples/serve serves its model directories.
package pipe
