package events

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/ytdnn/ytdnn/internal/binfmt"
)

// NullID stands for a null in an ID-kind feature column (a user attribute
// or a catalogue video feature): an unknown value. It is math.MinInt64,
// which no ID ever read takes (package ingest rejects that integer as an
// ID), so a null never shares an embedding with a real category such as 0:
// package layout maps it to no ID, which the feature layer reads as OOV.
const NullID int64 = math.MinInt64

// MaxIDText is the longest text ID, in bytes.
const MaxIDText = 4096

// ErrFormat is wrapped by the error for a malformed or corrupted
// dictionary file.
var ErrFormat = binfmt.ErrFormat

// Dict maps the distinct texts of one text ID space to the int64 IDs used
// everywhere else (1, 2, 3, … in the order the texts were first added) and
// back. Texts are kept exactly as written: "007", "7" and " 7" are three
// IDs. Memory: the texts plus about 50 bytes per distinct text. Lookup and
// Text are safe for concurrent use when nothing adds; Add is not.
type Dict struct {
	texts []string         // texts[i] has ID i+1
	ids   map[string]int64 // text → ID
}

// NewDict returns an empty dictionary.
func NewDict() *Dict { return &Dict{ids: map[string]int64{}} }

// Add returns the ID of text, giving it the next ID if it is new. A text
// longer than MaxIDText is a programmer error (readers check it first) and
// panics.
func (d *Dict) Add(text string) int64 {
	if id, ok := d.ids[text]; ok {
		return id
	}
	if len(text) > MaxIDText {
		panic(fmt.Sprintf("events: a text ID of %d bytes (at most %d)", len(text), MaxIDText))
	}
	text = strings.Clone(text) // never pin a reader's line buffer
	d.texts = append(d.texts, text)
	id := int64(len(d.texts))
	d.ids[text] = id
	return id
}

// Lookup returns the ID of text; ok is false if the dictionary does not
// hold it (a text never seen in training: an unknown ID).
func (d *Dict) Lookup(text string) (id int64, ok bool) {
	id, ok = d.ids[text]
	return id, ok
}

// Text returns the text of an ID; ok is false for an ID the dictionary did
// not give.
func (d *Dict) Text(id int64) (text string, ok bool) {
	if id < 1 || id > int64(len(d.texts)) {
		return "", false
	}
	return d.texts[id-1], true
}

// Len is the number of distinct texts.
func (d *Dict) Len() int { return len(d.texts) }

// Clone returns an independent copy: adding to it leaves d as it is.
func (d *Dict) Clone() *Dict {
	c := &Dict{texts: slices.Clone(d.texts), ids: make(map[string]int64, len(d.ids))}
	for t, id := range d.ids {
		c.ids[t] = id
	}
	return c
}

// Dicts holds the dictionaries of a log's text ID spaces. A nil dictionary
// (or a feature column absent from Features) means that space's IDs are
// integers, used as they are. The video space is shared by the watch log,
// the impression log and the catalogue; each ID-kind feature column is its
// own space.
type Dicts struct {
	Users, Videos, Tokens *Dict
	// Features maps an ID-kind feature column (user attribute or video
	// feature) to its dictionary.
	Features map[string]*Dict
}

// Feature returns the dictionary of a feature column, or nil when the
// column's IDs are integers.
func (d *Dicts) Feature(column string) *Dict { return d.Features[column] }

// Empty reports whether every space's IDs are integers.
func (d *Dicts) Empty() bool {
	return d.Users == nil && d.Videos == nil && d.Tokens == nil && len(d.Features) == 0
}

// Dictionary file: the binfmt container (magic "YTID", version, CRC-32C at
// the end) holding, little-endian:
//
//	spaces  u64                 number of spaces that follow
//	per space:
//	  kind  u32                 1 users, 2 videos, 3 tokens, 4 feature
//	  name  u64 len + bytes     the feature column (empty for the others)
//	  texts u64 n, then n × (u64 len + bytes)   text i has ID i+1
const (
	dictMagic   = "YTID"
	dictVersion = 1
	maxSpaces   = 1 << 16
)

const (
	spaceUsers uint32 = iota + 1
	spaceVideos
	spaceTokens
	spaceFeature
)

// WriteTo writes the dictionaries as one file (layout above), features in
// column-name order.
func (d *Dicts) WriteTo(w io.Writer) (int64, error) {
	bw := binfmt.NewWriter(w, dictMagic, dictVersion)
	type space struct {
		kind uint32
		name string
		d    *Dict
	}
	var all []space
	for _, s := range []space{{spaceUsers, "", d.Users}, {spaceVideos, "", d.Videos}, {spaceTokens, "", d.Tokens}} {
		if s.d != nil {
			all = append(all, s)
		}
	}
	names := make([]string, 0, len(d.Features))
	for name := range d.Features {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if d.Features[name] != nil {
			all = append(all, space{spaceFeature, name, d.Features[name]})
		}
	}
	bw.U64(uint64(len(all)))
	for _, s := range all {
		bw.U32(s.kind)
		bw.String(s.name)
		bw.Strings(s.d.texts)
	}
	err := bw.Close()
	return bw.N(), err
}

// ReadDicts reads a file written by Dicts.WriteTo: every length is checked
// before it sizes anything, a text that repeats within a space or a space
// given twice is an error, and so is a byte after the checksum. Its errors
// wrap ErrFormat (or are the reader's).
func ReadDicts(r io.Reader) (*Dicts, error) {
	br, err := binfmt.NewReader(r, dictMagic, dictVersion)
	if err != nil {
		return nil, fmt.Errorf("dictionary: %w", err)
	}
	d := &Dicts{Features: map[string]*Dict{}}
	n := br.Len(maxSpaces, "spaces")
	for i := 0; i < n && br.Err() == nil; i++ {
		kind := br.U32()
		name := br.String(MaxIDText)
		texts := br.Strings(binfmt.MaxElems, MaxIDText)
		if br.Err() != nil {
			break
		}
		dict := &Dict{texts: texts, ids: make(map[string]int64, len(texts))}
		for j, t := range texts {
			if _, dup := dict.ids[t]; dup {
				br.Fail("space %d: text %q appears twice", i, clip(t))
				break
			}
			dict.ids[t] = int64(j + 1)
		}
		var slot **Dict
		switch kind {
		case spaceUsers:
			slot = &d.Users
		case spaceVideos:
			slot = &d.Videos
		case spaceTokens:
			slot = &d.Tokens
		case spaceFeature:
			if _, dup := d.Features[name]; dup {
				br.Fail("feature column %q given twice", clip(name))
			}
			d.Features[name] = dict
			continue
		default:
			br.Fail("space %d has kind %d", i, kind)
			continue
		}
		if *slot != nil {
			br.Fail("space kind %d given twice", kind)
		}
		*slot = dict
	}
	if err := br.Close(); err != nil {
		return nil, fmt.Errorf("dictionary: %w", err)
	}
	return d, nil
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
