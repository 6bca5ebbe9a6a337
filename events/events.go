package events

// Kind tells watches from impressions. At equal times impressions sort
// first, so a click's watch never precedes its own impression.
type Kind uint8

// The event kinds.
const (
	Impression Kind = iota
	Watch
)

// Kinds of mapped feature columns.
const (
	KindID         = "id"         // a categorical value: its own embedding space
	KindContinuous = "continuous" // a number, normalized by its CDF
	KindTime       = "time"       // catalogue only: a timestamp; the feature is the video's age at the event
	KindIDs        = "ids"        // catalogue only: several values (a list column, or text like "12,60"): a bag in its own space
)

// Column maps one feature column of the logs.
type Column struct {
	// Column is the column's name in the files.
	Column string `json:"column"`
	// Kind is KindID, KindContinuous or (catalogue only) KindTime.
	Kind string `json:"kind"`
	// MaxVocab caps an ID feature's vocabulary (top-N by count; 0: no cap).
	MaxVocab int `json:"max_vocab,omitempty"`
	// IDType is how an ID-kind column's values are read: IDTypeInt
	// (canonical integers), IDTypeText (exact text, through a Dict), or
	// empty: from the files' column type (package ingest).
	IDType string `json:"id_type,omitempty"`
}

// ID types of an ID column (see Column.IDType).
const (
	IDTypeInt  = "int"
	IDTypeText = "text"
)

// Feat is one mapped feature's value: ID for KindID (NullID when the value
// was null), IDs for KindIDs (none when null), Num otherwise (a KindTime
// value is Unix milliseconds; a null time has ID NullID).
type Feat struct {
	ID  int64
	IDs []int64
	Num float64
}

// Event is one row of the watch or impression log.
type Event struct {
	User int64 // the user's ID
	Time int64 // Unix milliseconds
	Item int64 // the video's ID
	Kind Kind
	// Clicked and WatchTime (seconds) are an impression's outcome.
	Clicked   bool
	WatchTime float32
	// Tokens are a watch's search tokens; Feats its user features, in the
	// order of the mapped columns.
	Tokens []int64
	Feats  []Feat
}

// UserTable is a table of user attributes, one row per user (activity
// level, account age, counts), joined to the events by user ID: each
// user's values, in the order of Features.
type UserTable struct {
	Features []Column
	Items    map[int64][]Feat
}

// Catalogue is the video catalogue: each video's features, in the order of
// Features.
type Catalogue struct {
	Features []Column
	Items    map[int64][]Feat
}
