package pipe

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/compress/gzip"
	"github.com/parquet-go/parquet-go/compress/snappy"
	"github.com/parquet-go/parquet-go/compress/zstd"

	"github.com/ytdnn/ytdnn/events"
	"github.com/ytdnn/ytdnn/examples/world"
	"github.com/ytdnn/ytdnn/ingest"
	"github.com/ytdnn/ytdnn/internal/binfmt"
)

// GenStart is the generated logs' first day: world time t (days) is
// GenStart + t.
var GenStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// WatchRow is a row of the generated watch log.
type WatchRow struct {
	UserID    int64   `parquet:"user_id"`
	ItemID    int64   `parquet:"item_id"`
	Timestamp int64   `parquet:"timestamp,timestamp(millisecond)"`
	Tokens    []int64 `parquet:"search_tokens,list"`
	Region    int32   `parquet:"region,dict"`
	Device    int32   `parquet:"device,dict"`
	Age       float64 `parquet:"age"`
}

// ImpressionRow is a row of the generated impression log (user IDs as
// decimal text, read as the watch log's integers because GenSpec declares
// "user_id_type": "int"; times as INT64 seconds, as many exports have
// them).
type ImpressionRow struct {
	UserID       string  `parquet:"user_id,dict"`
	ItemID       int64   `parquet:"item_id"`
	Timestamp    int64   `parquet:"timestamp"`
	Clicked      bool    `parquet:"clicked"`
	WatchSeconds float64 `parquet:"watch_seconds"`
}

// CatalogueRow is a row of the generated catalogue.
type CatalogueRow struct {
	ItemID     int64 `parquet:"item_id"`
	ChannelID  int64 `parquet:"channel_id,dict"`
	Topic      int32 `parquet:"topic,dict"`
	UploadTime int64 `parquet:"upload_time,timestamp(millisecond)"`
}

// GenSpec is the column mapping of the generated logs (written beside
// them as spec.json).
func GenSpec() ingest.Spec {
	s := ingest.Spec{
		Watches: ingest.WatchColumns{SearchTokens: "search_tokens", UserFeatures: []events.Column{
			{Column: "region", Kind: events.KindID}, {Column: "device", Kind: events.KindID}, {Column: "age", Kind: events.KindContinuous},
		}},
		Impressions: ingest.ImpressionColumns{UserIDType: events.IDTypeInt},
		Catalogue: ingest.CatalogueColumns{Features: []events.Column{
			{Column: "channel_id", Kind: events.KindID}, {Column: "topic", Kind: events.KindID}, {Column: "upload_time", Kind: events.KindTime},
		}},
		RankingSignals: json.RawMessage(`{"same_attribute": ["channel_id", "topic"], "exposure": true, "context": true, "last_search": true, "candidate_score": true, "item_stats": true, "attribute_stats": ["channel_id"]}`),
	}
	if err := s.Validate(); err != nil { // fills the defaults
		panic("pipe: GenSpec is invalid: " + err.Error()) // a programmer error, caught by every test run
	}
	return s
}

// GenOptions size a generated log.
type GenOptions struct {
	Users, Videos int
	// Events is the number of watches (about Events/Users per user).
	Events int
	Seed   uint64
	// Shards is the number of Parquet files per log [4]; RowGroup the rows
	// per row group [100,000].
	Shards, RowGroup int
	// Days, when set, makes a log that lives in days: the world spans Days
	// days, videos are uploaded on every one of them and a video's draw
	// fades with its age (time constant GenFreshness days), impression
	// pages (Days/2 per user, at least 2) are shown throughout, and both
	// logs are written as daily partitions, watches/dt=YYYY-MM-DD/ and
	// impressions/dt=YYYY-MM-DD/ (Shards is then ignored). Without it the
	// world spans 100 days and every page is shown after its end.
	Days int
}

// GenFreshness is the time constant (days) of a video's fading draw in a
// log of GenOptions.Days.
const GenFreshness = 3

// Generate writes a generated world's logs under dir in Spark's layout:
// watches/ (sorted by time, not by user; dt=… folders; snappy; several row
// groups; dictionary columns), impressions/ (zstd), catalogue/ (gzip), each
// with a _SUCCESS marker, and spec.json, their column mapping. It returns
// the world.
func Generate(dir string, o GenOptions) (*world.World, error) {
	if o.Users < 1 || o.Videos < 1 || o.Events < o.Users {
		return nil, fmt.Errorf("pipe: need users ≥ 1, videos ≥ 1 and events ≥ users (got %d, %d, %d)", o.Users, o.Videos, o.Events)
	}
	if o.Shards == 0 {
		o.Shards = 4
	}
	if o.RowGroup == 0 {
		o.RowGroup = 100_000
	}
	if o.Days < 0 || o.Days > 3650 {
		return nil, fmt.Errorf("pipe: days %d outside 0..3650", o.Days)
	}
	cfg := world.Config{Users: o.Users, Videos: o.Videos, Watches: max(1, o.Events/o.Users), Seed: o.Seed, Topics: min(20, max(2, o.Videos/20))}
	if o.Days > 0 {
		cfg.Horizon, cfg.Freshness, cfg.PagesThroughout, cfg.Pages = float64(o.Days), GenFreshness, true, max(2, o.Days/2)
	}
	w, err := world.New(cfg)
	if err != nil {
		return nil, err
	}
	const day = 86_400_000.0 // ms
	ms := func(t float64) int64 { return GenStart.UnixMilli() + int64(t*day) }
	var watches []WatchRow
	for i := range w.Users {
		u := &w.Users[i]
		s := 0
		for _, wt := range u.Watches {
			r := WatchRow{UserID: u.ID, ItemID: wt.Video, Timestamp: ms(wt.Time), Region: int32(u.Region), Device: int32(u.Device), Age: u.Age}
			for s < len(u.Searches) && u.Searches[s].Time <= wt.Time {
				r.Tokens = append(r.Tokens, u.Searches[s].Tokens...)
				s++
			}
			watches = append(watches, r)
		}
	}
	slices.SortStableFunc(watches, func(a, b WatchRow) int { return cmp.Compare(a.Timestamp, b.Timestamp) })
	dayOf := func(ms int64) string { return time.UnixMilli(ms).UTC().Format(time.DateOnly) }
	if o.Days > 0 {
		if err := writeDaily(dir, "watches", watches, func(r *WatchRow) string { return dayOf(r.Timestamp) }, &snappy.Codec{}, o); err != nil {
			return nil, err
		}
	} else {
		// Shards by time range, in dt= folders named by their first day.
		per := (len(watches) + o.Shards - 1) / o.Shards
		for k := 0; k*per < len(watches); k++ {
			rows := watches[k*per : min((k+1)*per, len(watches))]
			path := filepath.Join(dir, "watches", "dt="+dayOf(rows[0].Timestamp), fmt.Sprintf("part-%05d-%x.c000.snappy.parquet", k, o.Seed))
			if err := writeParquet(path, rows, &snappy.Codec{}, o.RowGroup); err != nil {
				return nil, err
			}
		}
	}
	var imps []ImpressionRow
	end := w.Cfg.Horizon
	for i := range w.Users {
		u := &w.Users[i]
		for p, page := range u.Pages {
			at := end + float64(p)/24
			if o.Days > 0 {
				at = page[0].Time
			}
			for _, im := range page {
				imps = append(imps, ImpressionRow{UserID: strconv.FormatInt(u.ID, 10), ItemID: im.Video,
					Timestamp: ms(at) / 1000, Clicked: im.Clicked, WatchSeconds: im.WatchTime * 60})
			}
		}
	}
	if o.Days > 0 {
		slices.SortStableFunc(imps, func(a, b ImpressionRow) int { return cmp.Compare(a.Timestamp, b.Timestamp) })
		if err := writeDaily(dir, "impressions", imps, func(r *ImpressionRow) string { return dayOf(r.Timestamp * 1000) }, &zstd.Codec{}, o); err != nil {
			return nil, err
		}
	} else {
		per := (len(imps) + o.Shards - 1) / o.Shards
		for k := 0; k*per < len(imps); k++ {
			path := filepath.Join(dir, "impressions", fmt.Sprintf("part-%05d-%x.c000.zstd.parquet", k, o.Seed))
			if err := writeParquet(path, imps[k*per:min((k+1)*per, len(imps))], &zstd.Codec{}, o.RowGroup); err != nil {
				return nil, err
			}
		}
	}
	cat := make([]CatalogueRow, len(w.Videos))
	for i, v := range w.Videos {
		cat[i] = CatalogueRow{ItemID: v.ID, ChannelID: v.Channel, Topic: int32(v.Topic), UploadTime: ms(v.Upload)}
	}
	if err := writeParquet(filepath.Join(dir, "catalogue", "part-00000.gz.parquet"), cat, &gzip.Codec{}, o.RowGroup); err != nil {
		return nil, err
	}
	for _, sub := range []string{"watches", "impressions", "catalogue"} {
		if err := os.WriteFile(filepath.Join(dir, sub, "_SUCCESS"), nil, binfmt.FileMode); err != nil {
			return nil, err
		}
	}
	raw, err := json.MarshalIndent(GenSpec(), "", "  ")
	if err != nil {
		return nil, err
	}
	if err := binfmt.WriteFileAtomic(filepath.Join(dir, "spec.json"), func(f io.Writer) error {
		_, err := f.Write(append(raw, '\n'))
		return err
	}); err != nil {
		return nil, err
	}
	return w, nil
}

// writeDaily writes rows (sorted by time) as daily partitions
// dir/sub/dt=YYYY-MM-DD/, one file per day.
func writeDaily[T any](dir, sub string, rows []T, day func(*T) string, codec compress.Codec, o GenOptions) error {
	for lo := 0; lo < len(rows); {
		d := day(&rows[lo])
		hi := lo + 1
		for hi < len(rows) && day(&rows[hi]) == d {
			hi++
		}
		path := filepath.Join(dir, sub, "dt="+d, fmt.Sprintf("part-00000-%x.c000.parquet", o.Seed))
		if err := writeParquet(path, rows[lo:hi], codec, o.RowGroup); err != nil {
			return err
		}
		lo = hi
	}
	return nil
}

func writeParquet[T any](path string, rows []T, codec compress.Codec, rowGroup int) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return binfmt.WriteFileAtomic(path, func(f io.Writer) error {
		w := parquet.NewGenericWriter[T](f, parquet.Compression(codec), parquet.MaxRowsPerRowGroup(int64(rowGroup)))
		if _, err := w.Write(rows); err != nil {
			return err
		}
		return w.Close()
	})
}
