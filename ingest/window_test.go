package ingest

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/ytdnn/ytdnn/events"
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

// TestReadContinuesDicts: a read that continues an earlier read's
// dictionaries keeps every text's code, whatever files it skips (a
// warm-started run's look-back); without them codes shift with the files
// read. A space that was text must stay text.
func TestReadContinuesDicts(t *testing.T) {
	dir := t.TempDir()
	day := func(d int) time.Time { return time.Unix(t0, 0).UTC().AddDate(0, 0, d) }
	for d := 0; d < 6; d++ {
		writeText(t, filepath.Join(dir, "watches", "dt="+day(d).Format(time.DateOnly), "part-0.csv"),
			fmt.Sprintf("user_id,item_id,timestamp\n1,vid-%d,%d\n2,vid-%d,%d\n", d, day(d).Unix(), d+1, day(d).Add(time.Hour).Unix()))
	}
	spec := specOf(t, `{"watches": {"time_unit": "s", "item_id_type": "text"}}`)
	whole, err := build(t, dir, spec, testOpts{})
	require.NoError(t, err)
	code := func(lg *Log, text string) int64 {
		id, ok := lg.Dicts.Videos.Lookup(text)
		require.True(t, ok, text)
		return id
	}
	late := testOpts{MinTime: day(4)} // days 0 and 1 are not opened
	lg, err := build(t, dir, spec, late)
	require.NoError(t, err)
	require.Equal(t, 2, lg.FilesBeforeMinTime)
	assert.NotEqual(t, code(whole, "vid-5"), code(lg, "vid-5"), "codes follow the files read")

	late.Dicts = whole.Dicts
	lg, err = build(t, dir, spec, late)
	require.NoError(t, err)
	for d := 0; d <= 6; d++ {
		text := fmt.Sprintf("vid-%d", d)
		assert.Equal(t, code(whole, text), code(lg, text), text)
	}
	for _, e := range allEvents(t, lg) {
		text, _ := lg.Dicts.Videos.Text(e.Item)
		assert.Equal(t, code(whole, text), e.Item, "the events carry the continued codes")
	}
	_, ok := whole.Dicts.Videos.Lookup("vid-new")
	assert.False(t, ok)

	t.Run("text_then_int", func(t *testing.T) {
		_, err := build(t, dir, specOf(t, `{"watches": {"time_unit": "s", "user_id_type": "int"}}`), testOpts{Dicts: &events.Dicts{Users: whole.Dicts.Videos}})
		assert.ErrorContains(t, err, `user IDs were text in the run whose dictionaries this read continues`)
	})
}

// TestPartitionDayBelowRoot: only partition folders below the dataset's
// folder date a file; a data folder that itself sits under dt=… is not
// dated by it.
func TestPartitionDayBelowRoot(t *testing.T) {
	root := filepath.Join("/lake", "dt=2022-01-01", "export", "watches")
	_, ok := partitionDay(root, filepath.Join(root, "part-0.csv"))
	assert.False(t, ok, "the folder above the root does not count")
	d, ok := partitionDay(root, filepath.Join(root, "dt=2022-04-28", "hour=3", "part-0.csv"))
	require.True(t, ok)
	assert.Equal(t, "2022-04-28", d.Format(time.DateOnly))
	_, ok = partitionDay(root, filepath.Join(root, "dt=28 April", "part-0.csv"))
	assert.False(t, ok, "not a date")
}
