package modeldir

import (
	"bytes"
	"fmt"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ytdnn/ytdnn/events"
	"github.com/ytdnn/ytdnn/internal/binfmt"
)

// TestReadCatalogueAllocatesWhatTheFileHolds: a catalogue that declares
// many columns and items but holds no column data allocates in proportion
// to the bytes it holds, not to items × columns.
func TestReadCatalogueAllocatesWhatTheFileHolds(t *testing.T) {
	const cols, items = 200, 50_000
	var buf bytes.Buffer
	_, err := binfmt.WriteContainer(&buf, catMagic, catVersion, func(bw *binfmt.Writer) {
		bw.I64(cols)
		for k := 0; k < cols; k++ {
			bw.String(fmt.Sprintf("c%d", k))
			bw.String(events.KindID)
		}
		ids := make([]int64, items)
		for i := range ids {
			ids[i] = int64(i)
		}
		bw.I64s(ids) // and no columns
	})
	require.NoError(t, err)
	raw := buf.Bytes()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err = readCatalogue(bytes.NewReader(raw))
	runtime.ReadMemStats(&after)
	require.Error(t, err, "the columns are missing")
	alloc := after.TotalAlloc - before.TotalAlloc
	assert.Less(t, alloc, uint64(16*len(raw)), "allocated %d bytes reading a %d-byte file", alloc, len(raw))
}

// TestCatalogueRoundTrip: every kind of column survives the file: IDs,
// numbers, times (a null time stays null, never 1970), and multi-valued
// columns; lengths that run past the values are refused.
func TestCatalogueRoundTrip(t *testing.T) {
	c := &events.Catalogue{
		Features: []events.Column{{Column: "channel", Kind: events.KindID}, {Column: "views", Kind: events.KindContinuous},
			{Column: "uploaded", Kind: events.KindTime}, {Column: "tags", Kind: events.KindIDs}},
		Items: map[int64][]events.Feat{
			1: {{ID: 5}, {Num: 2.5}, {Num: 1.7e12}, {IDs: []int64{12, 60}}},
			2: {{ID: events.NullID}, {Num: 0}, {ID: events.NullID}, {}},
		},
	}
	var buf bytes.Buffer
	_, err := writeCatalogue(&buf, c)
	require.NoError(t, err)
	got, err := readCatalogue(bytes.NewReader(buf.Bytes()))
	require.NoError(t, err)
	assert.Equal(t, c.Features, got.Features)
	assert.Equal(t, c.Items[1], got.Items[1])
	assert.Equal(t, events.NullID, got.Items[2][2].ID, "a null time stays null")
	assert.Empty(t, got.Items[2][3].IDs)

	var bad bytes.Buffer
	_, err = binfmt.WriteContainer(&bad, catMagic, catVersion, func(bw *binfmt.Writer) {
		bw.I64(1)
		bw.String("tags")
		bw.String(events.KindIDs)
		bw.I64s([]int64{1, 2})
		bw.I64s([]int64{2, 5}) // lengths summing to 7
		bw.I64s([]int64{1, 2, 3})
	})
	require.NoError(t, err)
	_, err = readCatalogue(bytes.NewReader(bad.Bytes()))
	assert.ErrorContains(t, err, `column "tags": lengths past its 3 values`)
}
