package ingest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/compress/gzip"
	"github.com/parquet-go/parquet-go/compress/snappy"
	"github.com/parquet-go/parquet-go/compress/zstd"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/ytdnn/ytdnn/events"
)

// watchRow is a watch log row as a Spark job might write it: text user
// IDs (dictionary-encoded), a millisecond TIMESTAMP, a list of tokens, an
// optional continuous attribute.
type watchRow struct {
	UserID    string   `parquet:"user_id,dict"`
	ItemID    int64    `parquet:"item_id"`
	Timestamp int64    `parquet:"timestamp,timestamp(millisecond)"`
	Tokens    []int64  `parquet:"search_tokens,list"`
	Region    int32    `parquet:"region,dict"`
	Age       *float64 `parquet:"age,optional"`
}

// impRow is an impression row with seconds as a plain INT64.
type impRow struct {
	UserID       string  `parquet:"user_id"`
	ItemID       int32   `parquet:"item_id"`
	Timestamp    int64   `parquet:"timestamp"`
	Clicked      bool    `parquet:"clicked"`
	WatchSeconds float64 `parquet:"watch_seconds"`
}

func writeParquet[T any](t testing.TB, path string, rows []T, codec compress.Codec, perGroup int64) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	f, err := os.Create(path)
	require.NoError(t, err)
	w := parquet.NewGenericWriter[T](f, parquet.Compression(codec), parquet.MaxRowsPerRowGroup(perGroup))
	_, err = w.Write(rows)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	require.NoError(t, f.Close())
}

func testSpec() Spec {
	s := Spec{}
	s.Watches.SearchTokens = "search_tokens"
	s.Watches.UserFeatures = []events.Column{{Column: "region", Kind: events.KindID}, {Column: "age", Kind: events.KindContinuous}}
	return s
}

// writeLog writes a small watch log in Spark's layout (dt=… folders,
// _SUCCESS, three codecs, several row groups) and an impression log, and
// returns the watches it wrote.
func writeLog(t testing.TB, dir string, users, perUser int) []watchRow {
	t.Helper()
	var all []watchRow
	age := 31.5
	for u := 0; u < users; u++ {
		for k := 0; k < perUser; k++ {
			r := watchRow{UserID: fmt.Sprintf("u%03d", u), ItemID: int64(1 + (u*7+k*3)%50), Timestamp: 1_767_225_600_000 + int64(k*3600_000+u),
				Tokens: []int64{int64(k), int64(u)}, Region: int32(u % 4)}
			if k%2 == 0 {
				r.Age = &age
			}
			all = append(all, r)
		}
	}
	// Spark's output is not sorted by user: interleave.
	shuffled := slices.Clone(all)
	for i := range shuffled {
		j := (i * 7919) % len(shuffled)
		shuffled[i], shuffled[j] = shuffled[j], shuffled[i]
	}
	third := len(shuffled) / 3
	for i, codec := range []compress.Codec{&snappy.Codec{}, &zstd.Codec{}, &gzip.Codec{}} {
		lo, hi := i*third, (i+1)*third
		if i == 2 {
			hi = len(shuffled)
		}
		writeParquet(t, filepath.Join(dir, "watches", fmt.Sprintf("dt=2026-01-0%d", i+1), fmt.Sprintf("part-%05d-abc.c000.parquet", i)), shuffled[lo:hi], codec, 7)
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "watches", "_SUCCESS"), nil, 0o644))
	var imps []impRow
	for u := 0; u < users; u++ {
		imps = append(imps, impRow{UserID: fmt.Sprintf("u%03d", u), ItemID: 5, Timestamp: 1_767_225_600 + 1, Clicked: u%2 == 0, WatchSeconds: float64(u)})
	}
	writeParquet(t, filepath.Join(dir, "impressions", "part-00000.parquet"), imps, &snappy.Codec{}, 10)
	return all
}

// TestBuildGroupsUsersInTimeOrder: every watch and impression comes back,
// grouped by user and in time order, across shards, codecs, row groups and
// many spill partitions, with the values the files hold.
func TestBuildGroupsUsersInTimeOrder(t *testing.T) {
	dir := t.TempDir()
	want := writeLog(t, dir, 40, 9)
	lg, err := Build(context.Background(), dir, testSpec(), Options{TempDir: t.TempDir(), PartitionEvents: 50})
	require.NoError(t, err)
	defer lg.Close()
	assert.Equal(t, int64(360), lg.Watches)
	assert.Equal(t, int64(40), lg.Impressions)
	assert.Equal(t, 3, lg.WatchReport.Files, "the _SUCCESS marker is skipped")
	assert.Zero(t, lg.WatchReport.Rejected)
	assert.Greater(t, len(lg.parts), 4, "several partitions")
	require.NotNil(t, lg.Dicts.Users, "text user IDs have a dictionary")
	assert.Nil(t, lg.Dicts.Videos, "integer video IDs have none")
	byUser := map[int64][]watchRow{}
	for _, w := range want {
		u, ok := lg.Dicts.Users.Lookup(w.UserID)
		require.True(t, ok, w.UserID)
		byUser[u] = append(byUser[u], w)
	}
	users := 0
	require.NoError(t, lg.EachUser(context.Background(), func(evs []events.Event) error {
		users++
		ws := byUser[evs[0].User]
		require.NotEmpty(t, ws, "a user that was written")
		var got []events.Event
		for i, e := range evs {
			require.Equal(t, evs[0].User, e.User)
			if i > 0 {
				require.LessOrEqual(t, evs[i-1].Time, e.Time, "time order")
			}
			if e.Kind == events.Watch {
				got = append(got, e)
			} else {
				assert.Equal(t, int64(5), e.Item)
				assert.Equal(t, int64(1_767_225_601_000), e.Time, "INT64 seconds by magnitude")
			}
		}
		require.Len(t, got, len(ws))
		for k, w := range ws {
			e := got[k]
			assert.Equal(t, w.ItemID, e.Item)
			assert.Equal(t, w.Timestamp, e.Time)
			assert.Equal(t, w.Tokens, e.Tokens)
			require.Len(t, e.Feats, 2)
			assert.Equal(t, int64(w.Region), e.Feats[0].ID)
			if w.Age != nil {
				assert.Equal(t, *w.Age, e.Feats[1].Num)
			} else {
				assert.Zero(t, e.Feats[1].Num, "a null attribute reads as 0")
			}
		}
		return nil
	}))
	assert.Equal(t, 40, users)
	require.NoError(t, lg.Close())
	_, err = os.Stat(lg.dir)
	assert.True(t, os.IsNotExist(err), "Close removes the spill files")
}

// TestCSVAndMalformedRows: a CSV log with bad rows: each is counted with
// its file and row, the good rows are kept; strict mode stops at the first.
func TestCSVAndMalformedRows(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "watches"), 0o755))
	csv := "user_id,item_id,timestamp\n" +
		"1,10,2026-01-01T00:00:00Z\n" +
		"1,11,1767225700\n" +
		"2,abc,1767225800\n" + // text item id under the CSV default id_type int
		"2,12,yesterday\n" + // unparseable time
		",13,1767225900\n" + // null user
		"3,14\n" + // short row
		"3,15,1767226000\n"
	path := filepath.Join(dir, "watches", "log.csv")
	require.NoError(t, os.WriteFile(path, []byte(csv), 0o644))
	imps := "user_id\titem_id\ttimestamp\tclicked\twatch_seconds\n" +
		"1\t10\t1767225600\ttrue\t12.5\n" +
		"1\t11\t1767225600\t1\t-3\n" + // negative watch time
		"2\t12\t1767225600\tmaybe\t1\n" + // not a boolean
		"2\t12\t1767225600\t0\t\n"
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "impressions"), 0o755))
	ipath := filepath.Join(dir, "impressions", "imps.tsv")
	require.NoError(t, os.WriteFile(ipath, []byte(imps), 0o644))

	lg, err := Build(context.Background(), dir, Spec{}, Options{TempDir: t.TempDir(), MaxRejected: 1})
	require.NoError(t, err)
	defer lg.Close()
	assert.Equal(t, int64(3), lg.Watches)
	assert.Equal(t, int64(4), lg.WatchReport.Rejected)
	rows := []int64{}
	for _, e := range lg.WatchReport.First {
		assert.Equal(t, path, e.File)
		rows = append(rows, e.Row)
	}
	assert.Equal(t, []int64{3, 4, 5, 6}, rows, "data rows, header excluded")
	assert.Equal(t, "item_id", lg.WatchReport.First[0].Column)
	assert.Equal(t, "timestamp", lg.WatchReport.First[1].Column)
	assert.Equal(t, map[Reason]int64{ReasonNotCanonical: 1, ReasonTimeSyntax: 1, ReasonNullID: 1, ReasonRow: 1}, lg.WatchReport.ByReason)
	assert.Equal(t, int64(2), lg.Impressions)
	require.Len(t, lg.ImpressionReport.First, 2)
	assert.Equal(t, ipath, lg.ImpressionReport.First[0].File)
	assert.Equal(t, int64(2), lg.ImpressionReport.First[0].Row)
	assert.Contains(t, lg.ImpressionReport.First[0].Msg, "negative watch time")
	assert.Equal(t, int64(3), lg.ImpressionReport.First[1].Row)

	_, err = Build(context.Background(), dir, Spec{}, Options{TempDir: t.TempDir(), Strict: true})
	var re *RowError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, path, re.File)
	assert.Equal(t, int64(3), re.Row)
}

// TestBadFiles: a missing column names the column and the file; a truncated
// or non-Parquet file names the file; nothing panics.
func TestBadFiles(t *testing.T) {
	dir := t.TempDir()
	writeLog(t, dir, 5, 3)
	spec := testSpec()
	spec.Watches.UserFeatures = append(spec.Watches.UserFeatures, events.Column{Column: "device", Kind: events.KindID})
	_, err := Build(context.Background(), dir, spec, Options{TempDir: t.TempDir()})
	require.ErrorIs(t, err, ErrMissingColumn)
	assert.ErrorContains(t, err, `"device"`)
	assert.ErrorContains(t, err, "part-00000-abc.c000.parquet")

	ds, err := listDataset(filepath.Join(dir, "watches"))
	require.NoError(t, err)
	files := ds.files
	raw, err := os.ReadFile(files[1])
	require.NoError(t, err)
	for name, bad := range map[string][]byte{
		"truncated":   raw[:len(raw)/2],
		"not parquet": []byte("user_id,item_id\n1,2\n"),
		"bad footer":  append(append([]byte("PAR1"), make([]byte, 40)...), []byte{8, 0, 0, 0, 'P', 'A', 'R', '1'}...),
	} {
		t.Run(name, func(t *testing.T) {
			require.NoError(t, os.WriteFile(files[1], bad, 0o644))
			_, err := Build(context.Background(), dir, testSpec(), Options{TempDir: t.TempDir()})
			require.Error(t, err)
			assert.ErrorContains(t, err, files[1])
		})
	}
	_, err = Build(context.Background(), t.TempDir(), testSpec(), Options{})
	assert.Error(t, err, "no watch log")
}

// TestHugeFooterClaimCostsNothing: a small file whose footer claims 2 GiB
// is refused before anything of that size is allocated.
func TestHugeFooterClaimCostsNothing(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "watches"), 0o755))
	bad := append([]byte("PAR1\x15\x04\x19\x9cH"), 0, 0, 0, 0x80, 'P', 'A', 'R', '1')
	require.NoError(t, os.WriteFile(filepath.Join(dir, "watches", "part-0.parquet"), bad, 0o644))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, _, err := ReadWatches(context.Background(), dir, testSpec(), Options{}, func(*events.Event) error { return nil })
	runtime.ReadMemStats(&after)
	assert.ErrorContains(t, err, "footer length 2147483648 exceeds the file")
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(64<<20), "bytes allocated for a 17-byte file")
}

// TestPartitionFolderSuppliesColumn: a column a file lacks is read from a
// key=value folder above it.
func TestPartitionFolderSuppliesColumn(t *testing.T) {
	dir := t.TempDir()
	type row struct {
		UserID int64 `parquet:"user_id"`
		ItemID int64 `parquet:"item_id"`
		Ts     int64 `parquet:"ts"`
	}
	writeParquet(t, filepath.Join(dir, "watches", "region=7", "part-0.parquet"), []row{{1, 2, 1_767_225_600}, {1, 3, 1_767_225_700}}, &snappy.Codec{}, 100)
	spec := Spec{}
	spec.Watches.Time = "ts"
	spec.Watches.TimeUnit = "s"
	spec.Watches.UserFeatures = []events.Column{{Column: "region", Kind: events.KindID}}
	lg, err := Build(context.Background(), dir, spec, Options{TempDir: t.TempDir()})
	require.NoError(t, err)
	defer lg.Close()
	require.NoError(t, lg.EachUser(context.Background(), func(evs []events.Event) error {
		for _, e := range evs {
			assert.Equal(t, int64(7), e.Feats[0].ID)
		}
		return nil
	}))
}

func TestReadSpec(t *testing.T) {
	dir := t.TempDir()
	good := `{"watches": {"user": "uid", "search_tokens": "q", "user_features": [{"column": "country", "kind": "id", "max_vocab": 200}]},
	          "catalogue": {"features": [{"column": "channel_id", "kind": "id"}, {"column": "uploaded", "kind": "time"}]}, "max_videos": 1000000}`
	require.NoError(t, os.WriteFile(filepath.Join(dir, "good.json"), []byte(good), 0o644))
	s, err := ReadSpec(filepath.Join(dir, "good.json"))
	require.NoError(t, err)
	assert.Equal(t, "uid", s.Watches.User)
	assert.Equal(t, "item_id", s.Watches.Item, "defaults fill the rest")
	assert.Equal(t, "watch_seconds", s.Impressions.WatchTime)
	for name, body := range map[string]string{
		"unknown field": `{"watches": {"usr": "x"}}`,
		"bad kind":      `{"watches": {"user_features": [{"column": "a", "kind": "float"}]}}`,
		"time in watch": `{"watches": {"user_features": [{"column": "a", "kind": "time"}]}}`,
		"bad unit":      `{"watches": {"time_unit": "days"}}`,
		"twice":         `{"watches": {"user_features": [{"column": "a", "kind": "id"}, {"column": "a", "kind": "id"}]}}`,
		"not json":      `watches: {}`,
	} {
		p := filepath.Join(dir, name+".json")
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
		_, err := ReadSpec(p)
		assert.Error(t, err, name)
	}
	_, err = ReadSpec(filepath.Join(dir, "missing.json"))
	assert.True(t, errors.Is(err, os.ErrNotExist))
}

// FuzzReadFile: arbitrary bytes as a Parquet or a CSV file never panic or
// hang the reader: rows come back, are rejected, or the file is an error.
// Seeds: a valid Parquet shard (and a cut of it) and CSV text.
func FuzzReadFile(f *testing.F) {
	dir := f.TempDir()
	writeLog(f, dir, 3, 2)
	ds, err := listDataset(filepath.Join(dir, "watches"))
	if err != nil {
		f.Fatal(err)
	}
	files := ds.files
	raw, err := os.ReadFile(files[0])
	if err != nil {
		f.Fatal(err)
	}
	f.Add(raw, true)
	f.Add(raw[:len(raw)*3/4], true)
	f.Add([]byte("user_id,item_id,timestamp,search_tokens,region,age\nu1,3,1767225600,1 2,4,30\n\"x,7\n"), false)
	spec := testSpec()
	f.Fuzz(func(t *testing.T, data []byte, isParquet bool) {
		d := t.TempDir()
		name := "part-0.csv"
		if isParquet {
			name = "part-0.parquet"
		}
		require.NoError(t, os.MkdirAll(filepath.Join(d, "watches"), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(d, "watches", name), data, 0o644))
		ReadWatches(context.Background(), d, spec, Options{MaxRejected: 1}, func(e *events.Event) error {
			if len(e.Feats) != 2 {
				t.Fatalf("event with %d features", len(e.Feats))
			}
			return nil
		})
	})
}
