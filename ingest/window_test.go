package ingest

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReadWindow: MinTime and Until read the log between two times: rows
// outside are skipped and counted (not rejected), and daily partitions two
// days or more outside are not opened at all (a corrupt file there is never
// seen).
func TestReadWindow(t *testing.T) {
	dir := t.TempDir()
	day := func(d int) time.Time { return time.Unix(t0, 0).UTC().AddDate(0, 0, d) }
	for d := 0; d < 10; d++ {
		var b strings.Builder
		b.WriteString("user_id,item_id,timestamp\n")
		for h := 0; h < 24; h += 6 {
			fmt.Fprintf(&b, "%d,%d,%d\n", 1+h/6, 100+d, day(d).Add(time.Duration(h)*time.Hour).Unix())
		}
		writeText(t, filepath.Join(dir, "watches", "dt="+day(d).Format(time.DateOnly), "part-0.csv"), b.String())
	}
	// Days 0 and 9 are corrupt: a read that opened them would fail.
	writeText(t, filepath.Join(dir, "watches", "dt="+day(0).Format(time.DateOnly), "part-1.csv"), "not,a\nlog")
	writeText(t, filepath.Join(dir, "watches", "dt="+day(9).Format(time.DateOnly), "part-1.csv"), "not,a\nlog")
	spec := specOf(t, `{"watches": {"time_unit": "s"}}`)

	lg, err := build(t, dir, spec, testOpts{MinTime: day(4).Add(12 * time.Hour), Until: day(6).Add(6 * time.Hour)})
	require.NoError(t, err)
	assert.Equal(t, day(4).Add(12*time.Hour).UnixMilli(), lg.Start, "the first row at or after MinTime")
	assert.Equal(t, day(6).UnixMilli(), lg.End, "the last row before Until")
	assert.Equal(t, int64(2+4+1), lg.Watches, "day 4's last two rows, day 5's four, day 6's first")
	assert.Equal(t, 3, lg.FilesBeforeMinTime, "days 0 and 1 ended two days or more before MinTime: 3 files")
	assert.Equal(t, 2, lg.FilesAfterUntil, "day 9 began two days or more after Until: 2 files")
	assert.Equal(t, int64(4+4+2), lg.BeforeMinTime, "days 2, 3 and the first half of 4 were read and skipped")
	assert.Equal(t, int64(3+4+4), lg.AfterUntil, "the rest of day 6, days 7 and 8 were read and skipped")
	assert.Equal(t, int64(0), lg.WatchReport.Rejected)

	_, err = build(t, dir, spec, testOpts{})
	assert.Error(t, err, "without the window the corrupt days are read")
}
