// Package events holds what ytdnn reads out of a team's logs, independent
// of the files it came from: a user's events (watches and impressions, each
// with its time in Unix milliseconds), the video catalogue, the columns
// that map features, and the dictionaries of text IDs. Package ingest
// produces them from Parquet and CSV; package layout turns them into both
// stages' examples, at training and at serving. It imports only the
// standard library and internal/binfmt, so a service links no file reader.
//
// # IDs
//
// Every ID is an int64. A space whose IDs were text in the logs (user IDs
// such as "u001", say) has a Dict: text ↔ ID, built while the logs are
// read, to be stored with the model so a service maps request text to IDs
// and IDs back to text (Dicts.WriteTo, ReadDicts). A null ID-kind feature
// value is NullID, never a real category.
//
// # Order
//
// A user's events are in time order, impressions before watches at equal
// times (Impression < Watch), so a click's watch never precedes its own
// impression.
//
// # Concurrency
//
// A Dict may be read (Lookup, Text) by any number of goroutines once
// nothing adds to it.
package events
