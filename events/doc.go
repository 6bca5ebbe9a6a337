// Package events holds what ytdnn reads out of a team's logs, independent
// of the files it came from: a user's events (watches and impressions, each
// with its time in Unix milliseconds), the video catalogue and the columns
// that map features. Package ingest produces them from Parquet and CSV;
// package layout turns them into both stages' examples, at training and at
// serving. It imports nothing, so a service links no file reader.
//
// # Order
//
// A user's events are in time order, impressions before watches at equal
// times (Impression < Watch), so a click's watch never precedes its own
// impression.
package events
