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
