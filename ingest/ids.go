package ingest

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/ytdnn/ytdnn/events"
)

// idType is how an ID space's values are read.
type idType uint8

const (
	idUnknown idType = iota // not declared, not yet seen
	idInt                   // canonical integers
	idText                  // exact text, through a dictionary
)

func (t idType) String() string {
	switch t {
	case idInt:
		return events.IDTypeInt
	case idText:
		return events.IDTypeText
	}
	return "unknown"
}

// idSpace is one space of IDs: users, videos, search tokens or one ID
// feature column. Its type is declared by the spec or inferred, before any
// row is read, from the Parquet column types of every file that maps it.
type idSpace struct {
	what     string // for messages: "user IDs", "column \"region\""
	field    string // the spec field that declares the type
	typ      idType
	declared bool
	def      idType // the type when no file says (CSV and folder values only)
	seen     [3]string
	dict     *events.Dict // text spaces
	prior    *events.Dict // Options.Dicts' dictionary of this space, continued
}

// observe records that a file's column holds values of type t.
func (s *idSpace) observe(t idType, file, column string) {
	if s.seen[t] == "" {
		s.seen[t] = fmt.Sprintf("%s (column %q)", file, column)
	}
}

// resolve fixes the space's type: declared, else what the Parquet files
// say (integers and text in one space is an error naming both files), else
// the default.
func (s *idSpace) resolve() error {
	if !s.declared {
		switch i, t := s.seen[idInt], s.seen[idText]; {
		case i != "" && t != "":
			return fmt.Errorf("ingest: %s are integers in %s and text in %s: declare %s \"int\" or \"text\" in the spec", s.what, i, t, s.field)
		case i != "":
			s.typ = idInt
		case t != "":
			s.typ = idText
		default:
			s.typ = s.def
		}
	}
	switch {
	case s.prior != nil && s.typ != idText:
		return fmt.Errorf("ingest: %s were text in the run whose dictionaries this read continues, they are %s here: declare %s \"text\" in the spec", s.what, s.typ, s.field)
	case s.prior != nil:
		s.dict = s.prior.Clone()
	case s.typ == idText:
		s.dict = events.NewDict()
	}
	return nil
}

// continueDicts makes each text space continue d's dictionary of it (nil:
// none), so that a text keeps the code an earlier read gave it.
func (sp *spaces) continueDicts(d *events.Dicts) {
	if d == nil {
		return
	}
	sp.users.prior, sp.videos.prior, sp.tokens.prior = d.Users, d.Videos, d.Tokens
	for col, s := range sp.feats {
		s.prior = d.Feature(col)
	}
}

// spaces are a read's ID spaces.
type spaces struct {
	users, videos, tokens *idSpace
	feats                 map[string]*idSpace // by column
}

func newSpaces(s *Spec) *spaces {
	mk := func(what, field string, declared string, def idType) *idSpace {
		t, _ := declaredType(field, declared) // Validate checked it
		return &idSpace{what: what, field: field, typ: t, declared: t != idUnknown, def: def}
	}
	users, _ := agreedType("", map[string]string{"w": s.Watches.UserIDType, "i": s.Impressions.UserIDType, "u": s.Users.UserIDType})
	videos, _ := agreedType("", map[string]string{"w": s.Watches.ItemIDType, "i": s.Impressions.ItemIDType, "c": s.Catalogue.ItemIDType})
	sp := &spaces{
		users:  mk("user IDs", "user_id_type", users.String(), idInt),
		videos: mk("video IDs", "item_id_type", videos.String(), idInt),
		tokens: mk("search tokens", "watches.search_tokens_id_type", s.Watches.SearchTokensIDType, idText),
		feats:  map[string]*idSpace{},
	}
	for _, c := range append(append(append(append([]events.Column(nil), s.Watches.UserFeatures...), s.Impressions.Features...), s.Catalogue.Features...), s.Users.Features...) {
		if c.Kind == events.KindID || c.Kind == events.KindIDs {
			sp.feats[c.Column] = mk(fmt.Sprintf("values of column %q", c.Column), fmt.Sprintf("the id_type of column %q", c.Column), c.IDType, idInt)
		}
	}
	return sp
}

func (sp *spaces) all() []*idSpace {
	out := []*idSpace{sp.users, sp.videos, sp.tokens}
	for _, s := range sp.feats {
		out = append(out, s)
	}
	return out
}

func (sp *spaces) resolve() error {
	for _, s := range sp.all() {
		if err := s.resolve(); err != nil {
			return err
		}
	}
	return nil
}

// dicts returns the dictionaries of the text spaces.
func (sp *spaces) dicts() *events.Dicts {
	d := &events.Dicts{Users: sp.users.dict, Videos: sp.videos.dict, Tokens: sp.tokens.dict, Features: map[string]*events.Dict{}}
	for col, s := range sp.feats {
		if s.dict != nil {
			d.Features[col] = s.dict
		}
	}
	return d
}

// nullText are the texts that mean null in a text cell of an ID, time or
// click column (a CSV cell, a Parquet string, a partition folder's value):
// the empty text and the markers Spark, Hive, MySQL, pandas and Python
// write. Number columns take the same list less nan and NaN, which are
// rejected there as not a number.
var nullText = map[string]bool{"": true, "NULL": true, "null": true, "None": true, "nan": true, "NaN": true, `\N`: true}

func isNullNumber(s string) bool { return s != "nan" && s != "NaN" && nullText[s] }

// fromText reads a text ID (never null: the caller checks).
func (s *idSpace) fromText(t string) (int64, *RowError) {
	if s.typ == idText {
		if len(t) > events.MaxIDText {
			return 0, rowErr(ReasonIDLong, "%d bytes (at most %d)", len(t), events.MaxIDText)
		}
		return s.dict.Add(t), nil
	}
	if !canonical(t) {
		return 0, rowErr(ReasonNotCanonical, "%q under id_type int (digits, no sign, padding, spaces or decimals; declare %s \"text\" to keep IDs as written)", clip(t), s.field)
	}
	v, err := strconv.ParseInt(t, 10, 64)
	if err != nil {
		return 0, rowErr(ReasonIDRange, "%s is outside int64", clip(t))
	}
	return s.fromInt(v)
}

// fromInt reads an integer ID.
func (s *idSpace) fromInt(v int64) (int64, *RowError) {
	if s.typ == idText {
		return s.dict.Add(strconv.FormatInt(v, 10)), nil
	}
	if v == events.NullID {
		return 0, rowErr(ReasonIDRange, "%d is reserved for null (events.NullID)", v)
	}
	return v, nil
}

// fromUint reads an unsigned integer ID.
func (s *idSpace) fromUint(u uint64) (int64, *RowError) {
	if s.typ == idText {
		return s.dict.Add(strconv.FormatUint(u, 10)), nil
	}
	if u > math.MaxInt64 {
		return 0, rowErr(ReasonIDRange, "%d is outside int64", u)
	}
	return int64(u), nil
}

// canonical reports whether s is an integer written the one canonical way:
// "0", or an optional '-' then digits without a leading zero.
func canonical(s string) bool {
	if s == "0" {
		return true
	}
	d := strings.TrimPrefix(s, "-")
	return allDigits(d) && d[0] != '0'
}

// hiveNull is the folder value Hive and Spark write for a null partition
// value.
const hiveNull = "__HIVE_DEFAULT_PARTITION__"

// unescapePath undoes Spark's escaping of partition values (each %XX, two
// hex digits, is the byte XX; any other '%' is itself), as Spark's
// ExternalCatalogUtils.unescapePathName does.
func unescapePath(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			if v, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
				b.WriteRune(rune(v))
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
