package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ytdnn/ytdnn/examples/pipeline/pipe"
	"github.com/ytdnn/ytdnn/ingest"
	"github.com/ytdnn/ytdnn/layout"
)

// writeLog writes a tiny log in KuaiRand-Pure's files and columns: the
// impressions a folder of CSV, the video and user tables as KuaiRand ships
// them. Clicks favour each user's preferred author.
func writeLog(t *testing.T, dir string) {
	t.Helper()
	r := rand.New(rand.NewPCG(1, 2))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "impressions"), 0o755))
	var v strings.Builder
	v.WriteString("video_id,author_id,video_type,upload_dt,video_duration,tag\n")
	for i := range 60 {
		fmt.Fprintf(&v, "%d,%d,NORMAL,2022-04-%02d,%d.0,%d\n", i, 100+i%6, 1+i%9, 5000+i*100, i%4)
	}
	var u strings.Builder
	u.WriteString("user_id,user_active_degree,is_live_streamer,is_video_author,follow_user_num,fans_user_num,register_days\n")
	var imp strings.Builder
	imp.WriteString("user_id,video_id,time_ms,is_click,play_time_ms,tab\n")
	start := int64(1650812741436) // 2022-04-24 23:05 +08:00
	for user := range 40 {
		fmt.Fprintf(&u, "%d,full_active,0,%d,%d,%d,%d\n", user, user%2, 10+user, user*3, 100+user)
		t := start + int64(r.IntN(3600_000))
		for range 50 {
			t += int64(r.IntN(8 * 3600_000))
			video := r.IntN(60)
			clicked := 0
			play := 0
			if video%6 == user%6 || r.Float64() < 0.15 {
				clicked, play = 1, 2000+r.IntN(30000)
			}
			fmt.Fprintf(&imp, "%d,%d,%d,%d,%d,%d\n", user, video, t, clicked, play, 1+r.IntN(3))
		}
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "video_features_basic_pure.csv"), []byte(v.String()), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "user_features_pure.csv"), []byte(u.String()), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "impressions", "part-00000.csv"), []byte(imp.String()), 0o644))
}

// TestShippedSpecReads keeps spec.json in step with the ingest rules and
// the layout's (its ranking signals included).
func TestShippedSpecReads(t *testing.T) {
	spec, err := ingest.ReadSpec("spec.json")
	require.NoError(t, err)
	cfg, err := pipe.LayoutConfig(spec)
	require.NoError(t, err)
	_, err = layout.New(cfg, 0, nil)
	require.NoError(t, err)
}

// TestAblationWritesEveryVariant runs the whole ablation, one seed, on a tiny
// log in KuaiRand's layout, and checks the table has a row of numbers for
// every variant and the plot is written.
func TestAblationWritesEveryVariant(t *testing.T) {
	if testing.Short() {
		t.Skip("trains 10 variants")
	}
	data, out := t.TempDir(), t.TempDir()
	writeLog(t, data)
	require.NoError(t, run(context.Background(), data, "spec.json", "2022-04-30T00:00:00+08:00", out, 1))
	b, err := os.ReadFile(filepath.Join(out, "RESULTS.md"))
	require.NoError(t, err)
	rows := 0
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "| ") && !strings.HasPrefix(line, "| variant") {
			rows++
			require.NotContains(t, line, "NaN", line)
		}
	}
	require.Equal(t, 10, rows)
	st, err := os.Stat(filepath.Join(out, "ranking.png"))
	require.NoError(t, err)
	require.Greater(t, st.Size(), int64(1000))
}

// TestAblationRejectsBadAfter names the bad evaluation start before any
// training.
func TestAblationRejectsBadAfter(t *testing.T) {
	err := run(context.Background(), t.TempDir(), "spec.json", "not-a-time", t.TempDir(), 1)
	require.ErrorContains(t, err, "not-a-time")
}
