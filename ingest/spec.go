package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"

	"github.com/ytdnn/ytdnn/events"
)

// TimeFormat is how a table's times are read (its fields sit at the
// table's level in the JSON: "time_unit", "time_layout", "time_zone").
type TimeFormat struct {
	// TimeUnit is the unit of integer (and decimal) times: "s", "ms",
	// "us", "ns", or "auto" (by magnitude, see the package doc) ["auto"].
	// Parquet TIMESTAMP, DATE and INT96 columns carry their own unit.
	TimeUnit string `json:"time_unit,omitempty"`
	// TimeLayout, when set, is the Go time layout (as in time.Parse) every
	// text time of the table is read with; TimeZone the IANA zone of text
	// times and dates without one (and of Parquet DATE and local
	// TIMESTAMP values) ["UTC"].
	TimeLayout string `json:"time_layout,omitempty"`
	TimeZone   string `json:"time_zone,omitempty"`
}

// WatchColumns maps the watch log: one row per watch.
type WatchColumns struct {
	// Path is the log's folder (or file) under the data directory ["watches"].
	Path string `json:"path"`
	// User, Item and Time name the user, video and time columns
	// ["user_id", "item_id", "timestamp"].
	User string `json:"user"`
	Item string `json:"item"`
	Time string `json:"time"`
	// UserIDType and ItemIDType are how the user and video IDs are read:
	// "int", "text" or empty (from the files' column type). See the
	// package doc, # IDs.
	UserIDType string `json:"user_id_type,omitempty"`
	ItemIDType string `json:"item_id_type,omitempty"`
	TimeFormat
	// SearchTokens optionally names a column of search-query tokens (a
	// list, or text of space-separated tokens) that came with the watch;
	// SearchTokensIDType is how they are read ("int", "text" or empty:
	// integer columns are int, text ones text).
	SearchTokens       string `json:"search_tokens,omitempty"`
	SearchTokensIDType string `json:"search_tokens_id_type,omitempty"`
	// UserFeatures are user attributes on each row (the latest one of a
	// user is the one served).
	UserFeatures []events.Column `json:"user_features,omitempty"`
	// FromImpressions says the log holds impressions only: the watches are
	// the impression log's clicked rows with a watch time of at least
	// MinWatchSeconds (one log feeds both stages; no watch folder is read,
	// and the watch columns above are unused).
	FromImpressions bool    `json:"from_impressions,omitempty"`
	MinWatchSeconds float64 `json:"min_watch_seconds,omitempty"`
}

// ImpressionColumns maps the impression log: one row per video shown.
type ImpressionColumns struct {
	// Path is the log's folder under the data directory ["impressions"].
	Path string `json:"path"`
	// User, Item, Time and their types and time settings as in
	// WatchColumns.
	User       string `json:"user"`
	Item       string `json:"item"`
	Time       string `json:"time"`
	UserIDType string `json:"user_id_type,omitempty"`
	ItemIDType string `json:"item_id_type,omitempty"`
	TimeFormat
	// Clicked names the click column (boolean, or exactly 0, 1, true,
	// false) ["clicked"].
	Clicked string `json:"clicked"`
	// WatchTime names the watch-time column (null, or finite, ≥ 0 and
	// within float32 on every row; required on clicked rows)
	// ["watch_seconds"], in WatchTimeUnit: "s" or "ms" ["s"].
	WatchTime     string `json:"watch_time"`
	WatchTimeUnit string `json:"watch_time_unit,omitempty"`
	// Features are columns of the impression row itself, the context of
	// the showing (the app surface or tab, say): id or continuous. The
	// ranker reads them as "impression_C".
	Features []events.Column `json:"features,omitempty"`
}

// UserColumns maps a table of user attributes: one row per user, joined
// to the events by user ID.
type UserColumns struct {
	// Path is the table's folder or file under the data directory
	// ["users"]; required once Features maps a column of it.
	Path string `json:"path"`
	// User names the user column ["user_id"]; UserIDType as in
	// WatchColumns (the user space is shared).
	User       string `json:"user"`
	UserIDType string `json:"user_id_type,omitempty"`
	// Features are the user's attributes (id or continuous); the models
	// read each as "user_C", like the watch rows' user features.
	Features []events.Column `json:"features,omitempty"`
}

// CatalogueColumns maps the video catalogue: one row per video.
type CatalogueColumns struct {
	// Path is the catalogue's folder or file under the data directory
	// ["catalogue"]; required once Features maps a column of it.
	Path string `json:"path"`
	// Item names the video column ["item_id"]; ItemIDType as in
	// WatchColumns (the video space is shared by all three).
	Item       string `json:"item"`
	ItemIDType string `json:"item_id_type,omitempty"`
	// TimeFormat reads the events.KindTime columns.
	TimeFormat
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
	// Users maps an optional table of user attributes, one row per user.
	Users UserColumns `json:"users"`
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
	def(&s.Users.Path, "users")
	def(&s.Users.User, "user_id")
	def(&s.Catalogue.Item, "item_id")
	def(&s.Catalogue.TimeUnit, "auto")
}

// Validate applies the defaults and checks the spec: time units, zones and
// layouts, ID types (one per space: the user space, the video space shared
// by all three logs, each feature column), feature kinds and sizes.
func (s *Spec) Validate() error {
	s.defaults()
	units := map[string]bool{"auto": true, "s": true, "ms": true, "us": true, "ns": true}
	for _, t := range []struct {
		where string
		TimeFormat
	}{{"watches", s.Watches.TimeFormat}, {"impressions", s.Impressions.TimeFormat}, {"catalogue", s.Catalogue.TimeFormat}} {
		if !units[t.TimeUnit] {
			return fmt.Errorf("ingest: %s.time_unit %q: want auto, s, ms, us or ns", t.where, t.TimeUnit)
		}
		if _, err := newTimeRule(t.TimeUnit, t.TimeLayout, t.TimeZone, 0); err != nil {
			return fmt.Errorf("ingest: %s.%w", t.where, err)
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
	if s.Watches.SearchTokensIDType != "" && s.Watches.SearchTokens == "" {
		return errors.New("ingest: watches.search_tokens_id_type without search_tokens")
	}
	if _, err := declaredType("watches.search_tokens_id_type", s.Watches.SearchTokensIDType); err != nil {
		return err
	}
	if _, err := agreedType("user IDs", map[string]string{
		"watches.user_id_type": s.Watches.UserIDType, "impressions.user_id_type": s.Impressions.UserIDType,
		"users.user_id_type": s.Users.UserIDType,
	}); err != nil {
		return err
	}
	if _, err := agreedType("video IDs", map[string]string{
		"watches.item_id_type": s.Watches.ItemIDType, "impressions.item_id_type": s.Impressions.ItemIDType,
		"catalogue.item_id_type": s.Catalogue.ItemIDType,
	}); err != nil {
		return err
	}
	seen := map[string]bool{}
	check := func(where string, cols []events.Column, allowTime bool) error {
		for _, c := range cols {
			switch {
			case c.Column == "":
				return fmt.Errorf("ingest: %s: a feature without a column name", where)
			case c.Kind != events.KindID && c.Kind != events.KindContinuous && !(allowTime && (c.Kind == events.KindTime || c.Kind == events.KindIDs)):
				return fmt.Errorf("ingest: %s: column %q has kind %q", where, c.Column, c.Kind)
			case c.MaxVocab < 0:
				return fmt.Errorf("ingest: %s: column %q has a negative max_vocab", where, c.Column)
			case c.IDType != "" && c.Kind != events.KindID && c.Kind != events.KindIDs:
				return fmt.Errorf("ingest: %s: column %q has an id_type but kind %q", where, c.Column, c.Kind)
			case seen[c.Column]:
				return fmt.Errorf("ingest: feature column %q mapped twice", c.Column)
			}
			if _, err := declaredType(fmt.Sprintf("%s: column %q: id_type", where, c.Column), c.IDType); err != nil {
				return err
			}
			seen[c.Column] = true
		}
		return nil
	}
	if u := s.Impressions.WatchTimeUnit; u != "" && u != "s" && u != "ms" {
		return fmt.Errorf("ingest: impressions.watch_time_unit %q: want s or ms", u)
	}
	if m := s.Watches.MinWatchSeconds; !(m >= 0) || math.IsInf(m, 0) {
		return fmt.Errorf("ingest: watches.min_watch_seconds %v must be a non-negative number", m)
	}
	if s.Watches.FromImpressions && (len(s.Watches.UserFeatures) > 0 || s.Watches.SearchTokens != "") {
		return errors.New("ingest: watches.from_impressions: the watches come from the impression rows, which carry no user_features or search_tokens")
	}
	if err := check("watches.user_features", s.Watches.UserFeatures, false); err != nil {
		return err
	}
	if err := check("impressions.features", s.Impressions.Features, false); err != nil {
		return err
	}
	if err := check("users.features", s.Users.Features, false); err != nil {
		return err
	}
	return check("catalogue.features", s.Catalogue.Features, true)
}

// declaredType reads an id_type field.
func declaredType(field, v string) (idType, error) {
	switch v {
	case "":
		return idUnknown, nil
	case events.IDTypeInt:
		return idInt, nil
	case events.IDTypeText:
		return idText, nil
	}
	return idUnknown, fmt.Errorf("ingest: %s %q: want \"int\", \"text\" or none (from the files)", field, v)
}

// agreedType is the type the fields of one ID space declare: they must
// agree (unset fields follow the set ones).
func agreedType(space string, fields map[string]string) (idType, error) {
	t, by := idUnknown, ""
	names := make([]string, 0, len(fields))
	for f := range fields {
		names = append(names, f)
	}
	slices.Sort(names)
	for _, f := range names {
		ft, err := declaredType(f, fields[f])
		if err != nil {
			return idUnknown, err
		}
		if ft == idUnknown {
			continue
		}
		if t != idUnknown && ft != t {
			return idUnknown, fmt.Errorf("ingest: %s are one space: %s %q and %s %q disagree", space, by, fields[by], f, fields[f])
		}
		t, by = ft, f
	}
	return t, nil
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
