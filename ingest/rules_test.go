package ingest

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go/compress/snappy"
	"github.com/parquet-go/parquet-go/deprecated"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/ytdnn/ytdnn/events"
)

// The input rules of the package doc (# IDs, # Times, # Numbers, # Files
// and runs), one test per kind of input, one t.Run per case. Fixtures are
// written by the tests: Parquet with parquet-go, CSV as text.

const t0 = 1_767_225_600 // 2026-01-01T00:00:00Z, seconds

func writeText(t *testing.T, path, text string) string {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(text), 0o644))
	return path
}

// allEvents is every event of a log, user by user.
func allEvents(t *testing.T, lg *Log) []events.Event {
	t.Helper()
	var out []events.Event
	require.NoError(t, lg.EachUser(context.Background(), func(evs []events.Event) error {
		for _, e := range evs {
			e.Tokens, e.Feats = slices.Clone(e.Tokens), slices.Clone(e.Feats)
			out = append(out, e)
		}
		return nil
	}))
	return out
}

func distinct(evs []events.Event, f func(e events.Event) int64) []int64 {
	var out []int64
	for _, e := range evs {
		out = append(out, f(e))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func items(e events.Event) int64 { return e.Item }
func users(e events.Event) int64 { return e.User }

// texts maps IDs back through a space's dictionary.
func texts(t *testing.T, lg *Log, space string, ids []int64) []string {
	t.Helper()
	var out []string
	for _, id := range ids {
		s, ok := dictText(lg, space, id)
		require.True(t, ok, "ID %d has a text in %s", id, space)
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// Section 2: IDs are never merged or split silently.

// csvIDs is a watch log whose IDs are written several ways: padded, signed,
// spaced, pandas's float form.
const csvIDs = "user_id,item_id,timestamp\n" +
	"1,7,1767225600\n" +
	"1,007,1767225601\n" +
	"1,+7,1767225602\n" +
	"1,\" 7 \",1767225603\n" +
	"001,8,1767225604\n" +
	"1,12,1767225605\n" +
	"1,12.0,1767225606\n"

func TestIDsNeverMergeOrSplit(t *testing.T) {
	t.Run("CSV default int: 007, +7, ' 7 ', 001 and 12.0 are rejected, not merged", func(t *testing.T) {
		dir := t.TempDir()
		path := writeText(t, filepath.Join(dir, "watches", "w.csv"), csvIDs)
		lg, err := build(t, dir, Spec{}, testOpts{MaxRejected: 1})
		require.NoError(t, err)
		evs := allEvents(t, lg)
		assert.Equal(t, []int64{7, 12}, distinct(evs, items), "only the canonical 7 and 12 are videos")
		assert.Equal(t, []int64{1}, distinct(evs, users))
		assert.Equal(t, map[Reason]int64{ReasonNotCanonical: 5}, reasons(lg.WatchReport))
		require.NotEmpty(t, lg.WatchReport.First)
		first := lg.WatchReport.First[0]
		assert.Equal(t, path, first.File)
		assert.Equal(t, int64(2), first.Row)
		assert.Equal(t, "item_id", first.Column)
		assert.Contains(t, first.Msg, `"007"`, "the value is named")
	})
	t.Run("CSV declared text: each spelling is its own ID, kept exact", func(t *testing.T) {
		dir := t.TempDir()
		writeText(t, filepath.Join(dir, "watches", "w.csv"), csvIDs)
		lg, err := build(t, dir, specOf(t, `{"watches": {"user_id_type": "text", "item_id_type": "text"}}`), testOpts{})
		require.NoError(t, err)
		evs := allEvents(t, lg)
		assert.Len(t, evs, 7)
		assert.Equal(t, []string{" 7 ", "+7", "007", "12", "12.0", "7", "8"}, texts(t, lg, "videos", distinct(evs, items)))
		assert.Equal(t, []string{"001", "1"}, texts(t, lg, "users", distinct(evs, users)))
	})
	type strRow struct {
		UserID int64  `parquet:"user_id"`
		ItemID string `parquet:"item_id"`
		Ts     int64  `parquet:"timestamp"`
	}
	rows := []strRow{{1, "007", t0}, {1, "7", t0 + 1}, {2, "7", t0 + 2}}
	t.Run("Parquet STRING IDs are text by their type", func(t *testing.T) {
		dir := t.TempDir()
		writeParquet(t, filepath.Join(dir, "watches", "part-0.parquet"), rows, &snappy.Codec{}, 100)
		lg, err := build(t, dir, Spec{}, testOpts{})
		require.NoError(t, err)
		evs := allEvents(t, lg)
		assert.Equal(t, []string{"007", "7"}, texts(t, lg, "videos", distinct(evs, items)))
		assert.Equal(t, []int64{1, 2}, distinct(evs, users), "INT64 users are integers")
	})
	t.Run("Parquet STRING IDs under declared int: canonical or rejected", func(t *testing.T) {
		dir := t.TempDir()
		writeParquet(t, filepath.Join(dir, "watches", "part-0.parquet"), rows, &snappy.Codec{}, 100)
		lg, err := build(t, dir, specOf(t, `{"watches": {"item_id_type": "int"}}`), testOpts{MaxRejected: 1})
		require.NoError(t, err)
		assert.Equal(t, []int64{7}, distinct(allEvents(t, lg), items))
		assert.Equal(t, map[Reason]int64{ReasonNotCanonical: 1}, reasons(lg.WatchReport))
	})
	type intRow struct {
		UserID int64 `parquet:"user_id"`
		ItemID int64 `parquet:"item_id"`
		Ts     int64 `parquet:"timestamp"`
	}
	type catRow struct {
		ItemID  string `parquet:"item_id"`
		Channel int64  `parquet:"channel"`
	}
	catSpec := `"catalogue": {"features": [{"column": "channel", "kind": "id"}]}`
	t.Run("one video space: INT64 in watches and STRING in the catalogue is an error naming both", func(t *testing.T) {
		dir := t.TempDir()
		writeParquet(t, filepath.Join(dir, "watches", "part-0.parquet"), []intRow{{1, 7, t0}, {1, 8, t0 + 1}}, &snappy.Codec{}, 100)
		writeParquet(t, filepath.Join(dir, "catalogue", "part-0.parquet"), []catRow{{"7", 3}, {"007", 4}}, &snappy.Codec{}, 100)
		_, err := build(t, dir, specOf(t, `{`+catSpec+`}`), testOpts{})
		require.Error(t, err)
		assert.ErrorContains(t, err, filepath.Join("watches", "part-0.parquet"))
		assert.ErrorContains(t, err, filepath.Join("catalogue", "part-0.parquet"))
		assert.ErrorContains(t, err, "item_id_type")
	})
	t.Run("one video space: declared int reads the catalogue's text as the watches' integers", func(t *testing.T) {
		dir := t.TempDir()
		writeParquet(t, filepath.Join(dir, "watches", "part-0.parquet"), []intRow{{1, 7, t0}, {1, 8, t0 + 1}}, &snappy.Codec{}, 100)
		writeParquet(t, filepath.Join(dir, "catalogue", "part-0.parquet"), []catRow{{"7", 3}, {"8", 4}}, &snappy.Codec{}, 100)
		lg, err := build(t, dir, specOf(t, `{"catalogue": {"item_id_type": "int", "features": [{"column": "channel", "kind": "id"}]}}`), testOpts{})
		require.NoError(t, err)
		cat := catalogueOf(lg)
		assert.Equal(t, []events.Feat{{ID: 3}}, cat.Items[7])
		assert.Equal(t, []events.Feat{{ID: 4}}, cat.Items[8])
	})
	t.Run("the reserved null ID and IDs beyond int64 are rejected", func(t *testing.T) {
		dir := t.TempDir()
		writeText(t, filepath.Join(dir, "watches", "w.csv"), "user_id,item_id,timestamp\n"+
			"1,-9223372036854775808,1767225600\n1,9223372036854775808,1767225601\n1,9223372036854775807,1767225602\n")
		lg, err := build(t, dir, Spec{}, testOpts{MaxRejected: 1})
		require.NoError(t, err)
		assert.Equal(t, []int64{math.MaxInt64}, distinct(allEvents(t, lg), items))
		assert.Equal(t, map[Reason]int64{ReasonIDRange: 2}, reasons(lg.WatchReport))
	})
	t.Run("unsigned Parquet IDs beyond int64 are rejected", func(t *testing.T) {
		type uRow struct {
			UserID int64  `parquet:"user_id"`
			ItemID uint64 `parquet:"item_id"`
			Ts     int64  `parquet:"timestamp"`
		}
		dir := t.TempDir()
		writeParquet(t, filepath.Join(dir, "watches", "part-0.parquet"), []uRow{{1, 5, t0}, {1, math.MaxUint64, t0 + 1}}, &snappy.Codec{}, 100)
		lg, err := build(t, dir, Spec{}, testOpts{MaxRejected: 1})
		require.NoError(t, err)
		assert.Equal(t, []int64{5}, distinct(allEvents(t, lg), items))
		assert.Equal(t, map[Reason]int64{ReasonIDRange: 1}, reasons(lg.WatchReport))
	})
}

func TestNullIDs(t *testing.T) {
	markers := []string{"NULL", "null", "None", "nan", "NaN", `\N`, ""}
	for _, typ := range []string{"int", "text"} {
		t.Run("CSV markers are null IDs under "+typ, func(t *testing.T) {
			dir := t.TempDir()
			text := "user_id,item_id,timestamp\n1,5,1767225600\n"
			for i, m := range markers {
				text += "1," + m + "," + time.Unix(t0+int64(i+1), 0).UTC().Format(time.RFC3339) + "\n"
			}
			text += "NULL,6,1767225700\n"
			writeText(t, filepath.Join(dir, "watches", "w.csv"), text)
			spec := Spec{} // CSV IDs are int by default
			if typ == "text" {
				spec = specOf(t, `{"watches": {"item_id_type": "text", "user_id_type": "text"}}`)
			}
			lg, err := build(t, dir, spec, testOpts{MaxRejected: 1})
			require.NoError(t, err)
			evs := allEvents(t, lg)
			require.Len(t, evs, 1, "no marker became a video or a user")
			assert.Equal(t, map[Reason]int64{ReasonNullID: int64(len(markers) + 1)}, reasons(lg.WatchReport))
		})
	}
	t.Run("Parquet nulls and marker strings are null IDs", func(t *testing.T) {
		type row struct {
			UserID int64   `parquet:"user_id"`
			ItemID *string `parquet:"item_id,optional"`
			Ts     int64   `parquet:"timestamp"`
		}
		s := func(v string) *string { return &v }
		dir := t.TempDir()
		writeParquet(t, filepath.Join(dir, "watches", "part-0.parquet"), []row{
			{1, s("a"), t0}, {1, nil, t0 + 1}, {1, s("NULL"), t0 + 2}, {1, s("None"), t0 + 3}, {1, s("nan"), t0 + 4},
		}, &snappy.Codec{}, 100)
		lg, err := build(t, dir, Spec{}, testOpts{MaxRejected: 1})
		require.NoError(t, err)
		evs := allEvents(t, lg)
		assert.Equal(t, []string{"a"}, texts(t, lg, "videos", distinct(evs, items)))
		assert.Equal(t, map[Reason]int64{ReasonNullID: 4}, reasons(lg.WatchReport))
	})
	spec := `{"watches": {"user_features": [{"column": "region", "kind": "id"}]}}`
	regionOf := func(t *testing.T, lg *Log) map[int64]int64 { // item → region ID
		out := map[int64]int64{}
		for _, e := range allEvents(t, lg) {
			require.Len(t, e.Feats, 1)
			out[e.Item] = e.Feats[0].ID
		}
		return out
	}
	t.Run("a null attribute (Parquet) is unknown, never category 0", func(t *testing.T) {
		type row struct {
			UserID int64  `parquet:"user_id"`
			ItemID int64  `parquet:"item_id"`
			Ts     int64  `parquet:"timestamp"`
			Region *int32 `parquet:"region,optional"`
		}
		zero := int32(0)
		dir := t.TempDir()
		writeParquet(t, filepath.Join(dir, "watches", "part-0.parquet"), []row{{1, 1, t0, nil}, {1, 2, t0 + 1, &zero}}, &snappy.Codec{}, 100)
		lg, err := build(t, dir, specOf(t, spec), testOpts{})
		require.NoError(t, err)
		assert.Equal(t, map[int64]int64{1: nullID, 2: 0}, regionOf(t, lg))
	})
	t.Run("a null attribute (CSV) is unknown, never category 0", func(t *testing.T) {
		dir := t.TempDir()
		writeText(t, filepath.Join(dir, "watches", "w.csv"), "user_id,item_id,timestamp,region\n1,1,1767225600,\n1,2,1767225601,NULL\n1,3,1767225602,0\n")
		lg, err := build(t, dir, specOf(t, spec), testOpts{})
		require.NoError(t, err)
		assert.Equal(t, map[int64]int64{1: nullID, 2: nullID, 3: 0}, regionOf(t, lg))
	})
	type part struct {
		UserID int64 `parquet:"user_id"`
		ItemID int64 `parquet:"item_id"`
		Ts     int64 `parquet:"timestamp"`
	}
	t.Run("Hive's __HIVE_DEFAULT_PARTITION__ folder is null", func(t *testing.T) {
		dir := t.TempDir()
		writeParquet(t, filepath.Join(dir, "watches", "region=__HIVE_DEFAULT_PARTITION__", "part-0.parquet"), []part{{1, 1, t0}}, &snappy.Codec{}, 100)
		writeParquet(t, filepath.Join(dir, "watches", "region=3", "part-0.parquet"), []part{{1, 2, t0 + 1}}, &snappy.Codec{}, 100)
		lg, err := build(t, dir, specOf(t, spec), testOpts{})
		require.NoError(t, err)
		assert.Equal(t, map[int64]int64{1: nullID, 2: 3}, regionOf(t, lg))
	})
	t.Run("Spark's escapes in partition folders are undone", func(t *testing.T) {
		dir := t.TempDir()
		writeParquet(t, filepath.Join(dir, "watches", "region=a%3Ab", "part-0.parquet"), []part{{1, 1, t0}}, &snappy.Codec{}, 100)
		writeParquet(t, filepath.Join(dir, "watches", "region=100%25 sure", "part-0.parquet"), []part{{1, 2, t0 + 1}}, &snappy.Codec{}, 100)
		lg, err := build(t, dir, specOf(t, `{"watches": {"user_features": [{"column": "region", "kind": "id", "id_type": "text"}]}}`), testOpts{})
		require.NoError(t, err)
		got := map[int64]string{}
		for item, id := range regionOf(t, lg) {
			got[item], _ = dictText(lg, "region", id)
		}
		assert.Equal(t, map[int64]string{1: "a:b", 2: "100% sure"}, got)
	})
}

// TestColumnTypesRefused: a column whose type cannot hold what it maps is
// refused, naming the file and the column — never its first element, never
// a rejection of every row.
func TestColumnTypesRefused(t *testing.T) {
	type listID struct {
		UserID int64   `parquet:"user_id"`
		ItemID []int64 `parquet:"item_id,list"`
		Ts     int64   `parquet:"timestamp"`
	}
	type inner struct {
		ID int64 `parquet:"id"`
	}
	type structID struct {
		UserID int64 `parquet:"user_id"`
		ItemID inner `parquet:"item_id"`
		Ts     int64 `parquet:"timestamp"`
	}
	type doubleID struct {
		UserID float64 `parquet:"user_id"`
		ItemID int64   `parquet:"item_id"`
		Ts     int64   `parquet:"timestamp"`
	}
	type listTime struct {
		UserID int64   `parquet:"user_id"`
		ItemID int64   `parquet:"item_id"`
		Ts     []int64 `parquet:"timestamp,list"`
	}
	for _, tc := range []struct {
		name, column string
		write        func(path string)
	}{
		{"list<int64> mapped as an ID", "item_id", func(p string) {
			writeParquet(t, p, []listID{{1, []int64{4, 5}, t0}}, &snappy.Codec{}, 100)
		}},
		{"struct mapped as an ID", "item_id", func(p string) { writeParquet(t, p, []structID{{1, inner{4}, t0}}, &snappy.Codec{}, 100) }},
		{"DOUBLE ID column", "user_id", func(p string) { writeParquet(t, p, []doubleID{{1, 4, t0}}, &snappy.Codec{}, 100) }},
		{"list mapped as a time", "timestamp", func(p string) {
			writeParquet(t, p, []listTime{{1, 4, []int64{t0}}}, &snappy.Codec{}, 100)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "watches", "part-0.parquet")
			tc.write(path)
			_, err := build(t, dir, Spec{}, testOpts{MaxRejected: 1})
			require.Error(t, err)
			assert.True(t, isColumnType(err), "%v", err)
			assert.ErrorContains(t, err, path)
			assert.ErrorContains(t, err, `"`+tc.column+`"`)
		})
	}
}

// Section 3: every common time form is read exactly; overflow is never
// silent.

func watchTimes(t *testing.T, lg *Log) []int64 {
	var out []int64
	for _, e := range allEvents(t, lg) {
		out = append(out, e.Time)
	}
	return out
}

func TestTimes(t *testing.T) {
	type row struct {
		UserID int64 `parquet:"user_id"`
		ItemID int64 `parquet:"item_id"`
		Ts     int64 `parquet:"timestamp"`
	}
	t.Run("nanoseconds and 1e16 under time_unit s are rejected, not wrapped (Parquet)", func(t *testing.T) {
		dir := t.TempDir()
		writeParquet(t, filepath.Join(dir, "watches", "part-0.parquet"), []row{
			{1, 1, t0}, {1, 2, t0 * 1_000_000_000}, {1, 3, 1e16}, {1, 4, t0 + 100},
		}, &snappy.Codec{}, 100)
		lg, err := build(t, dir, specOf(t, `{"watches": {"time_unit": "s"}}`), testOpts{MaxRejected: 1})
		require.NoError(t, err)
		assert.Equal(t, []int64{t0 * 1000, (t0 + 100) * 1000}, watchTimes(t, lg))
		assert.Equal(t, map[Reason]int64{ReasonTimeRange: 2}, reasons(lg.WatchReport))
	})
	t.Run("nanoseconds under time_unit s are rejected, not wrapped (CSV)", func(t *testing.T) {
		dir := t.TempDir()
		writeText(t, filepath.Join(dir, "watches", "w.csv"), "user_id,item_id,timestamp\n1,1,1767225600\n1,2,1767225600000000000\n1,3,99999999999999999999\n")
		lg, err := build(t, dir, specOf(t, `{"watches": {"time_unit": "s"}}`), testOpts{MaxRejected: 1})
		require.NoError(t, err)
		assert.Equal(t, []int64{t0 * 1000}, watchTimes(t, lg))
		assert.Equal(t, map[Reason]int64{ReasonTimeRange: 2}, reasons(lg.WatchReport))
	})
	t.Run("auto: each unit by magnitude, year 9999 is not read as 1978", func(t *testing.T) {
		dir := t.TempDir()
		writeText(t, filepath.Join(dir, "watches", "w.csv"), "user_id,item_id,timestamp\n"+
			"1,1,1767225600\n2,1,1767225600000\n3,1,1767225600000000\n4,1,1767225600000000000\n"+
			"5,1,253402300799\n6,1,253402300799000\n7,1,86400\n")
		lg, err := build(t, dir, Spec{}, testOpts{MaxRejected: 1})
		require.NoError(t, err)
		assert.Equal(t, []int64{t0 * 1000, t0 * 1000, t0 * 1000, t0 * 1000}, watchTimes(t, lg))
		assert.Equal(t, map[Reason]int64{ReasonTimeAmbiguous: 3}, reasons(lg.WatchReport))
	})
	t.Run("one row dated 2100 is rejected and does not move the window", func(t *testing.T) {
		dir := t.TempDir()
		writeParquet(t, filepath.Join(dir, "watches", "part-0.parquet"), []row{{1, 1, t0}, {1, 2, t0 + 3600}, {2, 3, 4_102_444_800}}, &snappy.Codec{}, 100)
		lg, err := build(t, dir, specOf(t, `{"watches": {"time_unit": "s"}}`), testOpts{MaxRejected: 1})
		require.NoError(t, err)
		assert.Equal(t, int64((t0+3600)*1000), lg.End, "the window ends at the last sane row")
		assert.Equal(t, map[Reason]int64{ReasonTimeFuture: 1}, reasons(lg.WatchReport))
		lg, err = build(t, dir, specOf(t, `{"watches": {"time_unit": "s"}}`), testOpts{MaxTime: time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)})
		require.NoError(t, err)
		assert.Equal(t, int64(4_102_444_800_000), lg.End, "a later MaxTime accepts it")
	})
	type dateRow struct {
		UserID int64 `parquet:"user_id"`
		ItemID int64 `parquet:"item_id"`
		Day    int32 `parquet:"timestamp,date"`
	}
	const apr10 = 1_649_548_800_000 // 2022-04-10T00:00:00Z
	t.Run("Parquet DATE is days", func(t *testing.T) {
		dir := t.TempDir()
		writeParquet(t, filepath.Join(dir, "watches", "part-0.parquet"), []dateRow{{1, 1, 19092}}, &snappy.Codec{}, 100)
		lg, err := build(t, dir, Spec{}, testOpts{})
		require.NoError(t, err)
		assert.Equal(t, []int64{apr10}, watchTimes(t, lg))
		lg, err = build(t, dir, specOf(t, `{"watches": {"time_zone": "Asia/Tokyo"}}`), testOpts{})
		require.NoError(t, err)
		assert.Equal(t, []int64{apr10 - 9*3600_000}, watchTimes(t, lg), "midnight in the spec's zone")
	})
	t.Run("TIMESTAMP units, local TIMESTAMP and INT96", func(t *testing.T) {
		type tsRow struct {
			UserID int64            `parquet:"user_id"`
			ItemID int64            `parquet:"item_id"`
			Us     int64            `parquet:"us,timestamp(microsecond)"`
			Ns     int64            `parquet:"ns,timestamp(nanosecond)"`
			Local  int64            `parquet:"local,timestamp(millisecond:local)"`
			I96    deprecated.Int96 `parquet:"i96"`
		}
		// 2022-04-10T12:00:00.123Z: Julian day 2459680, 12h of nanoseconds.
		nanos := uint64(12*3600+0)*1e9 + 123e6
		r := tsRow{1, 1, (apr10+12*3600_000+123)*1000 + 456, (apr10+12*3600_000+123)*1_000_000 + 789, apr10 + 12*3600_000 + 123,
			deprecated.Int96{uint32(nanos), uint32(nanos >> 32), 2_459_680}}
		want := int64(apr10 + 12*3600_000 + 123)
		for _, col := range []string{"us", "ns", "i96"} {
			dir := t.TempDir()
			writeParquet(t, filepath.Join(dir, "watches", "part-0.parquet"), []tsRow{r}, &snappy.Codec{}, 100)
			lg, err := build(t, dir, specOf(t, `{"watches": {"time": "`+col+`"}}`), testOpts{})
			require.NoError(t, err, col)
			assert.Equal(t, []int64{want}, watchTimes(t, lg), col)
		}
		dir := t.TempDir()
		writeParquet(t, filepath.Join(dir, "watches", "part-0.parquet"), []tsRow{r}, &snappy.Codec{}, 100)
		lg, err := build(t, dir, specOf(t, `{"watches": {"time": "local", "time_zone": "Europe/Paris"}}`), testOpts{})
		require.NoError(t, err)
		assert.Equal(t, []int64{want - 2*3600_000}, watchTimes(t, lg), "a wall clock in Paris (UTC+2 in April)")
	})
	t.Run("text dates and date-times, with a zone or in the spec's", func(t *testing.T) {
		dir := t.TempDir()
		writeText(t, filepath.Join(dir, "watches", "w.csv"), "user_id,item_id,timestamp\n"+
			"1,1,2022-04-10\n"+
			"2,1,2022-04-10T12:00:00+02:00\n"+
			"3,1,2022-04-10 12:00:00 UTC\n"+
			"4,1,2022-04-10 12:00:00.250\n"+
			"5,1,2022-04-10T12:00:00.250Z\n"+
			"6,1,1649592000.25\n")
		lg, err := build(t, dir, Spec{}, testOpts{})
		require.NoError(t, err)
		assert.Zero(t, lg.WatchReport.Rejected)
		noon := int64(apr10 + 12*3600_000)
		assert.Equal(t, []int64{apr10, noon - 2*3600_000, noon, noon + 250, noon + 250, noon + 250}, watchTimes(t, lg))
	})
	t.Run("time_layout and time_zone", func(t *testing.T) {
		dir := t.TempDir()
		writeText(t, filepath.Join(dir, "watches", "w.csv"), "user_id,item_id,timestamp\n1,1,10/04/2022 12:00\n")
		lg, err := build(t, dir, specOf(t, `{"watches": {"time_layout": "02/01/2006 15:04", "time_zone": "Europe/Paris"}}`), testOpts{})
		require.NoError(t, err)
		assert.Equal(t, []int64{apr10 + 10*3600_000}, watchTimes(t, lg))
	})
	t.Run("Parquet string dates (KuaiRand's upload_dt) in the catalogue", func(t *testing.T) {
		type catRow struct {
			ItemID   int64  `parquet:"item_id"`
			UploadDt string `parquet:"upload_dt"`
		}
		dir := t.TempDir()
		writeParquet(t, filepath.Join(dir, "watches", "part-0.parquet"), []row{{1, 1, t0}}, &snappy.Codec{}, 100)
		writeParquet(t, filepath.Join(dir, "catalogue", "part-0.parquet"), []catRow{{1, "2022-04-10"}, {2, "2022-04-11"}}, &snappy.Codec{}, 100)
		lg, err := build(t, dir, specOf(t, `{"catalogue": {"features": [{"column": "upload_dt", "kind": "time"}]}}`), testOpts{})
		require.NoError(t, err)
		cat := catalogueOf(lg)
		assert.Equal(t, []events.Feat{{Num: apr10}}, cat.Items[1])
		assert.Equal(t, []events.Feat{{Num: apr10 + 86_400_000}}, cat.Items[2])
	})
	t.Run("decimal seconds such as 1700000000.0 are read exactly", func(t *testing.T) {
		dir := t.TempDir()
		writeText(t, filepath.Join(dir, "watches", "w.csv"), "user_id,item_id,timestamp\n1,1,1700000000.0\n1,2,1700000001.5\n")
		lg, err := build(t, dir, Spec{}, testOpts{})
		require.NoError(t, err)
		assert.Equal(t, []int64{1_700_000_000_000, 1_700_000_001_500}, watchTimes(t, lg))
	})
}

// Section 4: one rule per number column, in the type that is used, the
// same for Parquet and CSV.

type impRule struct {
	UserID  int64   `parquet:"user_id"`
	ItemID  int64   `parquet:"item_id"`
	Ts      int64   `parquet:"timestamp"`
	Clicked int32   `parquet:"clicked"`
	Watch   float64 `parquet:"watch_seconds"`
}

// impLog writes a watch and an impression log (Parquet or CSV) and builds
// them.
func impLog(t *testing.T, rows []impRule, asCSV bool, o testOpts) (*Log, string, error) {
	t.Helper()
	dir := t.TempDir()
	writeText(t, filepath.Join(dir, "watches", "w.csv"), "user_id,item_id,timestamp\n1,1,1767225600\n")
	var path string
	if asCSV {
		var b strings.Builder
		b.WriteString("user_id,item_id,timestamp,clicked,watch_seconds\n")
		for _, r := range rows {
			w := strings.ToLower(strings.TrimPrefix(formatFloat(r.Watch), "+"))
			if math.IsNaN(r.Watch) {
				w = "NaN"
			}
			b.WriteString(strings.Join([]string{itoa(r.UserID), itoa(r.ItemID), itoa(r.Ts), itoa(int64(r.Clicked)), w}, ",") + "\n")
		}
		path = writeText(t, filepath.Join(dir, "impressions", "i.csv"), b.String())
	} else {
		path = filepath.Join(dir, "impressions", "part-0.parquet")
		writeParquet(t, path, rows, &snappy.Codec{}, 100)
	}
	lg, err := build(t, dir, Spec{}, o)
	return lg, path, err
}

func TestNumbers(t *testing.T) {
	for _, format := range []string{"Parquet", "CSV"} {
		asCSV := format == "CSV"
		t.Run(format+": watch time beyond float32 is a rejected row naming file, row and column", func(t *testing.T) {
			rows := []impRule{{1, 1, t0, 1, 30}, {1, 2, t0, 1, 1e39}}
			lg, path, err := impLog(t, rows, asCSV, testOpts{MaxRejected: 1})
			require.NoError(t, err)
			assert.Equal(t, int64(1), lg.Impressions)
			assert.Equal(t, map[Reason]int64{ReasonFloat32: 1}, reasons(lg.ImpressionReport))
			_, _, err = impLog(t, rows, asCSV, testOpts{Strict: true})
			var re *RowError
			require.ErrorAs(t, err, &re, "under -strict it is the error")
			assert.Equal(t, "watch_seconds", re.Column)
			assert.Equal(t, int64(2), re.Row)
			assert.Equal(t, filepath.Base(path), filepath.Base(re.File))
		})
		t.Run(format+": clicked is exactly 0 or 1", func(t *testing.T) {
			lg, _, err := impLog(t, []impRule{{1, 1, t0, 1, 30}, {1, 2, t0, 0, 0}, {1, 3, t0, 2, 30}, {1, 4, t0, -1, 30}}, asCSV, testOpts{MaxRejected: 1})
			require.NoError(t, err)
			assert.Equal(t, int64(2), lg.Impressions)
			assert.Equal(t, map[Reason]int64{ReasonBool: 2}, reasons(lg.ImpressionReport))
		})
		t.Run(format+": NaN, infinite and negative watch times are rejected on unclicked rows too", func(t *testing.T) {
			lg, _, err := impLog(t, []impRule{{1, 1, t0, 0, 0}, {1, 2, t0, 0, math.NaN()}, {1, 3, t0, 0, -5}, {1, 4, t0, 1, math.Inf(1)}, {1, 5, t0, 1, -1}}, asCSV, testOpts{MaxRejected: 1})
			require.NoError(t, err)
			assert.Equal(t, int64(1), lg.Impressions)
			assert.Equal(t, map[Reason]int64{ReasonNumber: 2, ReasonNegative: 2}, reasons(lg.ImpressionReport))
		})
	}
	t.Run("CSV: clicked text other than 0, 1, true, false is rejected", func(t *testing.T) {
		dir := t.TempDir()
		writeText(t, filepath.Join(dir, "watches", "w.csv"), "user_id,item_id,timestamp\n1,1,1767225600\n")
		writeText(t, filepath.Join(dir, "impressions", "i.csv"), "user_id,item_id,timestamp,clicked,watch_seconds\n"+
			"1,1,1767225600,True,3\n1,2,1767225600,false,\n1,3,1767225600,yes,3\n1,4,1767225600,1.0,3\n")
		lg, err := build(t, dir, Spec{}, testOpts{MaxRejected: 1})
		require.NoError(t, err)
		assert.Equal(t, int64(2), lg.Impressions)
		assert.Equal(t, map[Reason]int64{ReasonBool: 2}, reasons(lg.ImpressionReport))
	})
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

func formatFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// Section 5: files and runs.

func TestFilesAndRuns(t *testing.T) {
	good := "user_id,item_id,timestamp\n1,1,1767225600\n1,2,1767225601\n"
	t.Run("a CSV starting with a byte-order mark", func(t *testing.T) {
		dir := t.TempDir()
		writeText(t, filepath.Join(dir, "watches", "w.csv"), "\xEF\xBB\xBF"+good)
		lg, err := build(t, dir, Spec{}, testOpts{})
		require.NoError(t, err)
		assert.Equal(t, int64(2), lg.Watches)
	})
	t.Run("watches/ is a symbolic link to a folder", func(t *testing.T) {
		dir, real := t.TempDir(), t.TempDir()
		writeText(t, filepath.Join(real, "part", "w.csv"), good)
		require.NoError(t, os.Symlink(real, filepath.Join(dir, "watches")))
		lg, err := build(t, dir, Spec{}, testOpts{})
		require.NoError(t, err)
		assert.Equal(t, int64(2), lg.Watches)
	})
	t.Run("a symbolic link loop is an error naming it, not a hang", func(t *testing.T) {
		dir := t.TempDir()
		writeText(t, filepath.Join(dir, "watches", "w.csv"), good)
		require.NoError(t, os.Symlink(filepath.Join(dir, "watches"), filepath.Join(dir, "watches", "again")))
		_, err := build(t, dir, Spec{}, testOpts{})
		require.Error(t, err)
		assert.ErrorContains(t, err, "again")
	})
	t.Run("a 0-byte part file beside good ones is skipped and reported", func(t *testing.T) {
		dir := t.TempDir()
		writeText(t, filepath.Join(dir, "watches", "part-00000.csv"), good)
		empty := writeText(t, filepath.Join(dir, "watches", "part-00001.parquet"), "")
		lg, err := build(t, dir, Spec{}, testOpts{})
		require.NoError(t, err)
		assert.Equal(t, int64(2), lg.Watches)
		n, names := emptyFiles(lg.WatchReport)
		assert.Equal(t, 1, n)
		assert.Equal(t, []string{empty}, names)
	})
	allBad := "user_id,item_id,timestamp\n1,12.0,1767225600\n1,13.0,1767225601\n2,14.0,1767225602\n"
	t.Run("every row rejected for one reason: the error gives the reason and its count", func(t *testing.T) {
		dir := t.TempDir()
		writeText(t, filepath.Join(dir, "watches", "w.csv"), allBad)
		_, err := build(t, dir, Spec{}, testOpts{MaxRejected: 1})
		require.Error(t, err)
		assert.ErrorContains(t, err, "3 "+string(ReasonNotCanonical))
		assert.ErrorContains(t, err, `"12.0"`)
	})
	t.Run("every row of a file rejected fails by default, naming the file and the top reason", func(t *testing.T) {
		dir := t.TempDir()
		path := writeText(t, filepath.Join(dir, "watches", "w.csv"), allBad)
		writeText(t, filepath.Join(dir, "watches", "x.csv"), good)
		_, err := build(t, dir, Spec{}, testOpts{})
		require.Error(t, err)
		assert.True(t, isTooManyRejected(err), "%v", err)
		assert.ErrorContains(t, err, path)
		assert.ErrorContains(t, err, string(ReasonNotCanonical))
	})
	t.Run("a whole catalogue rejected fails by default", func(t *testing.T) {
		dir := t.TempDir()
		writeText(t, filepath.Join(dir, "watches", "w.csv"), good)
		path := writeText(t, filepath.Join(dir, "catalogue", "c.csv"), "item_id,uploaded\n1,yesterday\n2,last week\n")
		spec := specOf(t, `{"catalogue": {"features": [{"column": "uploaded", "kind": "time"}]}}`)
		_, err := build(t, dir, spec, testOpts{})
		require.Error(t, err)
		assert.True(t, isTooManyRejected(err), "%v", err)
		assert.ErrorContains(t, err, path)
		assert.ErrorContains(t, err, string(ReasonTimeSyntax))
		lg, err := build(t, dir, spec, testOpts{MaxRejected: 1})
		require.NoError(t, err, "a higher MaxRejected lets it through, counted")
		assert.Equal(t, int64(2), catReport(lg).Rejected)
	})
	t.Run("a share of rejected rows under the limit passes", func(t *testing.T) {
		dir := t.TempDir()
		text := "user_id,item_id,timestamp\n"
		for i := range 200 {
			text += "1," + itoa(int64(i+1)) + "," + itoa(t0+int64(i)) + "\n"
		}
		text += "1,x,1767225600\n"
		writeText(t, filepath.Join(dir, "watches", "w.csv"), text)
		lg, err := build(t, dir, Spec{}, testOpts{})
		require.NoError(t, err)
		assert.Equal(t, int64(1), lg.WatchReport.Rejected)
	})
}

// TestSpillRemovedOnError: whatever ends Build with an error — a bad file
// after events were spilled, too many rejected rows, no watch left, a
// cancelled context — leaves no spill folder behind.
func TestSpillRemovedOnError(t *testing.T) {
	good := "user_id,item_id,timestamp\n1,1,1767225600\n1,2,1767225601\n"
	for _, tc := range []struct {
		name  string
		write func(dir string)
		ctx   func() context.Context
	}{
		{"impressions of the wrong type", func(dir string) {
			writeText(t, filepath.Join(dir, "watches", "w.csv"), good)
			writeText(t, filepath.Join(dir, "impressions", "i.csv"), "user_id,item_id,timestamp\n1,1,1767225600\n")
		}, context.Background},
		{"too many rejected", func(dir string) {
			writeText(t, filepath.Join(dir, "watches", "w.csv"), good+"1,x,1767225600\n")
		}, context.Background},
		{"cancelled", func(dir string) { writeText(t, filepath.Join(dir, "watches", "w.csv"), good) }, func() context.Context {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, tmp := t.TempDir(), t.TempDir()
			tc.write(dir)
			_, err := Build(tc.ctx(), dir, Spec{}, Options{TempDir: tmp})
			require.Error(t, err)
			left, err := os.ReadDir(tmp)
			require.NoError(t, err)
			assert.Empty(t, left, "spill folder removed")
		})
	}
}

// TestCatalogueRows: a second row of one video is a rejected row (the
// first kept), never a silent overwrite; a null upload time is unknown
// (events.NullID), never 1970.
func TestCatalogueRows(t *testing.T) {
	data := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		p := filepath.Join(data, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(text), 0o644))
	}
	write("watches/w.csv", "user_id,item_id,timestamp\n1,1,1767225600\n1,2,1767225700\n")
	write("catalogue/c.csv", "item_id,channel,uploaded\n1,5,1767000000\n2,6,\n1,7,1767000001\n")
	spec := DefaultSpec()
	spec.Catalogue.Features = []events.Column{{Column: "channel", Kind: events.KindID}, {Column: "uploaded", Kind: events.KindTime}}
	lg, err := Build(context.Background(), data, spec, Options{TempDir: t.TempDir(), MaxRejected: 1})
	require.NoError(t, err)
	defer lg.Close()
	assert.Equal(t, int64(5), lg.Catalogue.Items[1][0].ID, "the first row of video 1 is kept")
	assert.Equal(t, int64(1), lg.CatalogueReport.ByReason[ReasonDuplicate])
	assert.Equal(t, events.NullID, lg.Catalogue.Items[2][1].ID, "a null upload time is unknown")
	assert.Zero(t, lg.Catalogue.Items[2][1].Num)
}

// TestImpressionOnlyLog: with watches.from_impressions the impression log
// alone feeds both stages: every impression is kept, the clicked ones with
// at least min_watch_seconds also become watches (right after their
// impression), watch times in ms are read as seconds, and the impression
// row's context columns reach the events.
func TestImpressionOnlyLog(t *testing.T) {
	data := t.TempDir()
	p := filepath.Join(data, "impressions", "i.csv")
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, []byte("user_id,video_id,time_ms,is_click,play_time_ms,tab\n"+
		"1,10,1767225600000,1,12000,2\n"+ // clicked, 12 s: a watch
		"1,11,1767225601000,0,500,2\n"+ // not clicked
		"1,12,1767225602000,1,3000,4\n"+ // clicked, 3 s: under the threshold
		"2,10,1767225603000,1,60000,1\n"), 0o644))
	spec := DefaultSpec()
	spec.Watches.FromImpressions, spec.Watches.MinWatchSeconds = true, 7
	spec.Impressions = ImpressionColumns{Path: "impressions", User: "user_id", Item: "video_id", Time: "time_ms", TimeFormat: TimeFormat{TimeUnit: "ms"},
		Clicked: "is_click", WatchTime: "play_time_ms", WatchTimeUnit: "ms", Features: []events.Column{{Column: "tab", Kind: events.KindID}}}
	lg, err := Build(context.Background(), data, spec, Options{TempDir: t.TempDir()})
	require.NoError(t, err)
	defer lg.Close()
	assert.Equal(t, int64(4), lg.Impressions)
	assert.Equal(t, int64(2), lg.Watches, "two clicks of 7 s or more")
	var got []events.Event
	require.NoError(t, lg.EachUser(context.Background(), func(evs []events.Event) error {
		if evs[0].User == 1 {
			got = append(got, evs...)
		}
		return nil
	}))
	require.Len(t, got, 4)
	assert.Equal(t, events.Impression, got[0].Kind)
	assert.Equal(t, events.Watch, got[1].Kind, "the watch right after its impression")
	assert.Equal(t, got[0].Time, got[1].Time)
	assert.InDelta(t, 12.0, got[0].WatchTime, 1e-6, "ms read as seconds")
	assert.Equal(t, []events.Feat{{ID: 2}}, got[0].Feats, "the tab of the impression row")
	for name, mutate := range map[string]func(*Spec){
		"user features need a watch log": func(s *Spec) {
			s.Watches.UserFeatures = []events.Column{{Column: "region", Kind: events.KindID}}
		},
		"negative threshold":   func(s *Spec) { s.Watches.MinWatchSeconds = -1 },
		"unknown watch unit":   func(s *Spec) { s.Impressions.WatchTimeUnit = "min" },
		"no impression folder": func(s *Spec) { s.Impressions.Path = "nowhere" },
	} {
		t.Run(name, func(t *testing.T) {
			s := spec
			mutate(&s)
			_, err := Build(context.Background(), data, s, Options{TempDir: t.TempDir()})
			assert.Error(t, err)
		})
	}
}

// TestMultiValuedCatalogueColumn: an "ids" catalogue column holds several
// values (text like "12,60" or "12 60"), each an ID of its own space, not
// one hashed value per combination; a null cell holds none.
func TestMultiValuedCatalogueColumn(t *testing.T) {
	data := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		p := filepath.Join(data, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(text), 0o644))
	}
	write("watches/w.csv", "user_id,item_id,timestamp\n1,1,1767225600\n1,2,1767225700\n")
	write("catalogue/c.csv", "item_id,tags\n1,\"12,60\"\n2,60 7\n3,\n")
	spec := DefaultSpec()
	spec.Catalogue.Features = []events.Column{{Column: "tags", Kind: events.KindIDs}}
	lg, err := Build(context.Background(), data, spec, Options{TempDir: t.TempDir()})
	require.NoError(t, err)
	defer lg.Close()
	assert.Equal(t, []int64{12, 60}, lg.Catalogue.Items[1][0].IDs)
	assert.Equal(t, []int64{60, 7}, lg.Catalogue.Items[2][0].IDs)
	assert.Empty(t, lg.Catalogue.Items[3][0].IDs, "a null cell holds no value")
}

// TestUserTable: the user table is read by user ID into Log.UserTable; a
// second row of one user is a rejected row (the first kept).
func TestUserTable(t *testing.T) {
	data := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		p := filepath.Join(data, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(text), 0o644))
	}
	write("watches/w.csv", "user_id,item_id,timestamp\n1,1,1767225600\n1,2,1767225700\n")
	write("users/u.csv", "user_id,activity,days\n1,3,800\n2,,5\n1,4,9\n")
	spec := DefaultSpec()
	spec.Users.Features = []events.Column{{Column: "activity", Kind: events.KindID}, {Column: "days", Kind: events.KindContinuous}}
	lg, err := Build(context.Background(), data, spec, Options{TempDir: t.TempDir(), MaxRejected: 1})
	require.NoError(t, err)
	defer lg.Close()
	assert.Equal(t, []events.Feat{{ID: 3}, {Num: 800}}, lg.UserTable.Items[1], "the first row kept")
	assert.Equal(t, events.NullID, lg.UserTable.Items[2][0].ID, "a null attribute is unknown")
	assert.Equal(t, int64(1), lg.UsersReport.ByReason[ReasonDuplicate])
}

// TestMultiValuedListRules: a comma list splits at its commas only (a text
// value may hold a space); an empty value in the list is a rejected row
// naming the file, never silently dropped.
func TestMultiValuedListRules(t *testing.T) {
	run := func(t *testing.T, cell string) (*Log, error) {
		data := t.TempDir()
		require.NoError(t, os.MkdirAll(filepath.Join(data, "watches"), 0o755))
		require.NoError(t, os.MkdirAll(filepath.Join(data, "catalogue"), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(data, "watches", "w.csv"), []byte("user_id,item_id,timestamp\n1,1,1767225600\n1,2,1767225700\n"), 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(data, "catalogue", "c.csv"), []byte("item_id,tags\n1,\""+cell+"\"\n"), 0o644))
		spec := DefaultSpec()
		spec.Catalogue.Features = []events.Column{{Column: "tags", Kind: events.KindIDs, IDType: "text"}}
		return Build(context.Background(), data, spec, Options{TempDir: t.TempDir(), Strict: true})
	}
	lg, err := run(t, "hip hop, jazz")
	require.NoError(t, err)
	defer lg.Close()
	tags := lg.Dicts.Features["tags"]
	require.Len(t, lg.Catalogue.Items[1][0].IDs, 2)
	for i, want := range []string{"hip hop", "jazz"} {
		text, ok := tags.Text(lg.Catalogue.Items[1][0].IDs[i])
		assert.True(t, ok)
		assert.Equal(t, want, text)
	}
	for _, c := range []struct{ name, cell string }{{"empty between commas", "12,,3"}, {"trailing comma", "7,"}, {"leading comma", ",7"}} {
		t.Run(c.name, func(t *testing.T) {
			_, err := run(t, c.cell)
			assert.ErrorContains(t, err, "empty value in a list")
			assert.ErrorContains(t, err, "c.csv")
		})
	}
}

// TestMappedTableMissing: a catalogue or user table whose columns the spec
// maps must exist (a misspelt path is an error naming it); an unmapped one
// stays optional.
func TestMappedTableMissing(t *testing.T) {
	data := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(data, "watches"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(data, "watches", "w.csv"), []byte("user_id,item_id,timestamp\n1,1,1767225600\n1,2,1767225700\n"), 0o644))
	lg, err := Build(context.Background(), data, DefaultSpec(), Options{TempDir: t.TempDir()})
	require.NoError(t, err, "no table mapped, none needed")
	lg.Close()
	for _, c := range []struct {
		name string
		edit func(*Spec)
	}{
		{"catalogue", func(s *Spec) {
			s.Catalogue.Path = "catalog.csv"
			s.Catalogue.Features = []events.Column{{Column: "channel", Kind: events.KindID}}
		}},
		{"users", func(s *Spec) {
			s.Users.Path = "user.csv"
			s.Users.Features = []events.Column{{Column: "age", Kind: events.KindContinuous}}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			spec := DefaultSpec()
			c.edit(&spec)
			_, err := Build(context.Background(), data, spec, Options{TempDir: t.TempDir()})
			require.Error(t, err)
			assert.Contains(t, err.Error(), map[string]string{"catalogue": "catalog.csv", "users": "user.csv"}[c.name])
		})
	}
}
