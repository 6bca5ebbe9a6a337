package events_test

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/ytdnn/ytdnn/events"
)

// TestDictKeepsTextsExact: each distinct text gets its own ID, in order of
// first appearance, and maps back; spellings of one number stay apart.
func TestDictKeepsTextsExact(t *testing.T) {
	d := events.NewDict()
	for i, s := range []string{"7", "007", "+7", " 7 ", "7", "NULL"} {
		id := d.Add(s)
		if i == 4 {
			assert.Equal(t, int64(1), id, "a text seen before keeps its ID")
		}
	}
	assert.Equal(t, 5, d.Len())
	for id, want := range map[int64]string{1: "7", 2: "007", 3: "+7", 4: " 7 ", 5: "NULL"} {
		got, ok := d.Text(id)
		require.True(t, ok)
		assert.Equal(t, want, got)
		back, ok := d.Lookup(want)
		require.True(t, ok)
		assert.Equal(t, id, back)
	}
	for _, id := range []int64{0, 6, -1, events.NullID} {
		_, ok := d.Text(id)
		assert.False(t, ok, "ID %d", id)
	}
	_, ok := d.Lookup("8")
	assert.False(t, ok, "a text never added is unknown")
	assert.Equal(t, int64(math.MinInt64), events.NullID)
}

func testDicts() *events.Dicts {
	users, videos, region := events.NewDict(), events.NewDict(), events.NewDict()
	users.Add("u001")
	users.Add("001")
	videos.Add("v:7")
	region.Add("US")
	region.Add("a:b")
	return &events.Dicts{Users: users, Videos: videos, Features: map[string]*events.Dict{"region": region}}
}

func TestDictsRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	_, err := testDicts().WriteTo(&buf)
	require.NoError(t, err)
	got, err := events.ReadDicts(bytes.NewReader(buf.Bytes()))
	require.NoError(t, err)
	assert.Nil(t, got.Tokens, "an integer space stays nil")
	assert.Nil(t, got.Feature("device"))
	id, ok := got.Users.Lookup("001")
	require.True(t, ok)
	assert.Equal(t, int64(2), id)
	s, ok := got.Feature("region").Text(2)
	require.True(t, ok)
	assert.Equal(t, "a:b", s)
	s, _ = got.Videos.Text(1)
	assert.Equal(t, "v:7", s)
	assert.True(t, (&events.Dicts{}).Empty())
	assert.False(t, got.Empty())
}

// TestReadDictsRefusesBadFiles: truncation, a flipped byte, a trailing
// byte, a repeated text and a hostile count are errors wrapping ErrFormat.
func TestReadDictsRefusesBadFiles(t *testing.T) {
	var buf bytes.Buffer
	_, err := testDicts().WriteTo(&buf)
	require.NoError(t, err)
	good := buf.Bytes()
	flip := bytes.Clone(good)
	flip[len(flip)/2] ^= 0x40
	// One space holding the text "x" twice, with a valid checksum.
	var dup []byte
	dup = append(dup, "YTID"...)
	dup = binary.LittleEndian.AppendUint32(dup, 1)
	for _, v := range []uint64{1} { // spaces
		dup = binary.LittleEndian.AppendUint64(dup, v)
	}
	dup = binary.LittleEndian.AppendUint32(dup, 1) // users
	dup = binary.LittleEndian.AppendUint64(dup, 0) // no name
	dup = binary.LittleEndian.AppendUint64(dup, 2) // two texts
	for range 2 {
		dup = binary.LittleEndian.AppendUint64(dup, 1)
		dup = append(dup, 'x')
	}
	dup = binary.LittleEndian.AppendUint32(dup, crc32.Checksum(dup, crc32.MakeTable(crc32.Castagnoli)))
	// A count of 2^31-1 texts in a file of a few bytes.
	hostile := []byte("YTID\x01\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\xff\x7f\x00\x00\x00\x00")
	for name, raw := range map[string][]byte{
		"truncated":     good[:len(good)-7],
		"flipped byte":  flip,
		"trailing byte": append(bytes.Clone(good), 0),
		"bad magic":     append([]byte("NOPE"), good[4:]...),
		"hostile count": hostile,
		"repeated text": dup,
		"empty":         nil,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := events.ReadDicts(bytes.NewReader(raw))
			assert.ErrorIs(t, err, events.ErrFormat)
			if name == "repeated text" {
				assert.ErrorContains(t, err, "appears twice")
			}
		})
	}
}
