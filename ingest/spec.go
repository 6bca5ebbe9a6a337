package ingest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"

	"github.com/ytdnn/ytdnn/events"
)

// WatchColumns maps the watch log: one row per watch.
type WatchColumns struct {
	// Path is the log's folder (or file) under the data directory ["watches"].
	Path string `json:"path"`
	// User, Item and Time name the user, video and time columns
	// ["user_id", "item_id", "timestamp"].
	User string `json:"user"`
	Item string `json:"item"`
	Time string `json:"time"`
	// TimeUnit is the unit of integer times: "s", "ms", "us", "ns", or
	// "auto" (by magnitude) ["auto"]. Parquet TIMESTAMP and INT96 columns
	// carry their own unit; CSV also takes RFC 3339 text.
	TimeUnit string `json:"time_unit,omitempty"`
	// SearchTokens optionally names a column of search-query tokens (a
	// list, or text of space-separated tokens) that came with the watch.
	SearchTokens string `json:"search_tokens,omitempty"`
	// UserFeatures are user attributes on each row (the latest one of a
	// user is the one served).
	UserFeatures []events.Column `json:"user_features,omitempty"`
}

// ImpressionColumns maps the impression log: one row per video shown.
type ImpressionColumns struct {
	// Path is the log's folder under the data directory ["impressions"].
	Path     string `json:"path"`
	User     string `json:"user"`
	Item     string `json:"item"`
	Time     string `json:"time"`
	TimeUnit string `json:"time_unit,omitempty"`
	// Clicked names the click column (boolean, 0/1 or "true"/"false")
	// ["clicked"].
	Clicked string `json:"clicked"`
	// WatchTime names the watch-time column (seconds, ≥ 0; read only on
	// clicked rows) ["watch_seconds"].
	WatchTime string `json:"watch_time"`
}

// CatalogueColumns maps the video catalogue: one row per video.
type CatalogueColumns struct {
	// Path is the catalogue's folder or file under the data directory
	// ["catalogue"].
	Path string `json:"path"`
	// Item names the video column ["item_id"].
	Item string `json:"item"`
	// TimeUnit is the unit of integer events.KindTime columns ["auto"].
	TimeUnit string `json:"time_unit,omitempty"`
	// Features are the video's features the ranker reads.
	Features []events.Column `json:"features,omitempty"`
}

// Spec is the column mapping of a team's logs, the file form of what the
// pipeline reads: it mirrors feature.Spec (ID features get their own space;
// the video space is shared by every video column). Zero fields take the
// defaults in brackets.
type Spec struct {
	Watches     WatchColumns      `json:"watches"`
	Impressions ImpressionColumns `json:"impressions"`
	Catalogue   CatalogueColumns  `json:"catalogue"`
	// MaxVideos caps the video vocabulary (top-N by count; 0: no cap).
	MaxVideos int `json:"max_videos,omitempty"`
	// MaxHistory is how many recent watches candidate generation sees
	// [layout.DefaultMaxHistory]; RankHistory how many the ranker sees
	// [layout.DefaultRankHistory]; MaxTokens how many recent search tokens
	// candidate generation sees [layout.DefaultMaxTokens]. Each is 0 (the
	// default) or 1..10000.
	MaxHistory  int `json:"max_history,omitempty"`
	RankHistory int `json:"rank_history,omitempty"`
	MaxTokens   int `json:"max_tokens,omitempty"`
	// RankingSignals declares the ranking signals derived from the events
	// (a layout.Signals object, read by the feature layout, not by ingest).
	RankingSignals json.RawMessage `json:"ranking_signals,omitempty"`
}

// DefaultSpec is the mapping used without a spec file: user_id, item_id,
// timestamp (+ clicked, watch_seconds for impressions), folders watches/,
// impressions/ and catalogue/, no user or video features.
func DefaultSpec() Spec {
	var s Spec
	s.defaults()
	return s
}

func (s *Spec) defaults() {
	def := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	def(&s.Watches.Path, "watches")
	def(&s.Watches.User, "user_id")
	def(&s.Watches.Item, "item_id")
	def(&s.Watches.Time, "timestamp")
	def(&s.Watches.TimeUnit, "auto")
	def(&s.Impressions.Path, "impressions")
	def(&s.Impressions.User, "user_id")
	def(&s.Impressions.Item, "item_id")
	def(&s.Impressions.Time, "timestamp")
	def(&s.Impressions.TimeUnit, "auto")
	def(&s.Impressions.Clicked, "clicked")
	def(&s.Impressions.WatchTime, "watch_seconds")
	def(&s.Catalogue.Path, "catalogue")
	def(&s.Catalogue.Item, "item_id")
	def(&s.Catalogue.TimeUnit, "auto")
}

// Validate applies the defaults and checks the spec.
func (s *Spec) Validate() error {
	s.defaults()
	units := map[string]bool{"auto": true, "s": true, "ms": true, "us": true, "ns": true}
	for _, u := range []string{s.Watches.TimeUnit, s.Impressions.TimeUnit, s.Catalogue.TimeUnit} {
		if !units[u] {
			return fmt.Errorf("ingest: time_unit %q: want auto, s, ms, us or ns", u)
		}
	}
	for _, n := range []struct {
		name string
		v    int
	}{{"max_history", s.MaxHistory}, {"rank_history", s.RankHistory}, {"max_tokens", s.MaxTokens}} {
		if n.v < 0 || n.v > 10_000 {
			return fmt.Errorf("ingest: %s %d must be 0 (the default) or in 1..10000", n.name, n.v)
		}
	}
	if s.MaxVideos < 0 {
		return fmt.Errorf("ingest: max_videos %d must be non-negative", s.MaxVideos)
	}
	seen := map[string]bool{}
	check := func(where string, cols []events.Column, allowTime bool) error {
		for _, c := range cols {
			switch {
			case c.Column == "":
				return fmt.Errorf("ingest: %s: a feature without a column name", where)
			case c.Kind != events.KindID && c.Kind != events.KindContinuous && !(allowTime && c.Kind == events.KindTime):
				return fmt.Errorf("ingest: %s: column %q has kind %q", where, c.Column, c.Kind)
			case c.MaxVocab < 0:
				return fmt.Errorf("ingest: %s: column %q has a negative max_vocab", where, c.Column)
			case seen[c.Column]:
				return fmt.Errorf("ingest: feature column %q mapped twice", c.Column)
			}
			seen[c.Column] = true
		}
		return nil
	}
	if err := check("watches.user_features", s.Watches.UserFeatures, false); err != nil {
		return err
	}
	return check("catalogue.features", s.Catalogue.Features, true)
}

// ReadSpec reads a spec file (JSON; unknown fields are an error) and
// validates it.
func ReadSpec(path string) (Spec, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return Spec{}, err
	}
	var s Spec
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return Spec{}, fmt.Errorf("ingest: spec %s: %w", path, err)
	}
	if err := s.Validate(); err != nil {
		return Spec{}, fmt.Errorf("%w (spec %s)", err, path)
	}
	return s, nil
}
