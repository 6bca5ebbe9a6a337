package benchmarks

import (
	"context"
	"os"
	"runtime"
	"sync"
	"testing"

	"github.com/ytdnn/ytdnn/events"
	"github.com/ytdnn/ytdnn/examples/pipeline/pipe"
	"github.com/ytdnn/ytdnn/ingest"
)

var (
	logOnce sync.Once
	logDir  string
	logErr  error
)

// genLog writes, once per benchmark binary, a generated Parquet log of 10⁶
// watches (20,000 users, 50,000 videos; snappy, 100k-row groups, search
// token lists, three user features) and 400,000 impressions.
func genLog(b *testing.B) string {
	b.Helper()
	logOnce.Do(func() {
		// Not b.TempDir: that is removed when the first b.Run round ends.
		if logDir, logErr = os.MkdirTemp("", "ytdnn-bench-log-"); logErr != nil {
			return
		}
		_, logErr = pipe.Generate(logDir, pipe.GenOptions{Users: 20_000, Videos: 50_000, Events: 1_000_000, Seed: 1})
	})
	if logErr != nil {
		b.Fatal(logErr)
	}
	return logDir
}

// BenchmarkParquetRead: the watch log read and mapped to events on one core
// (GOMAXPROCS=1): decompression, dictionary pages, lists, time conversion.
func BenchmarkParquetRead(b *testing.B) {
	dir := genLog(b)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	spec := pipe.GenSpec()
	b.ReportAllocs()
	b.ResetTimer()
	var n int64
	for i := 0; i < b.N; i++ {
		_, rep, err := ingest.ReadWatches(context.Background(), dir, spec, ingest.Options{Strict: true}, func(*events.Event) error { return nil })
		if err != nil {
			b.Fatal(err)
		}
		n += rep.Rows
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkIngestBuild: read both logs, spill by hash(user) and sort every
// partition on one core: the whole bounded-memory grouping step.
func BenchmarkIngestBuild(b *testing.B) {
	dir := genLog(b)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	spec := pipe.GenSpec()
	b.ReportAllocs()
	b.ResetTimer()
	var n int64
	for i := 0; i < b.N; i++ {
		lg, err := ingest.Build(context.Background(), dir, spec, ingest.Options{TempDir: b.TempDir(), Strict: true})
		if err != nil {
			b.Fatal(err)
		}
		n += lg.Watches + lg.Impressions
		if err := lg.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
}

// TestMain removes the generated log after the benchmarks.
func TestMain(m *testing.M) {
	code := m.Run()
	if logDir != "" {
		os.RemoveAll(logDir)
	}
	os.Exit(code)
}
