package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ytdnn/ytdnn/examples/pipeline/pipe"
	"github.com/ytdnn/ytdnn/train"
)

// modelDir trains a tiny model directory from a generated log.
func modelDir(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	data, out := filepath.Join(root, "data"), filepath.Join(root, "models")
	_, err := pipe.Generate(data, pipe.GenOptions{Users: 100, Videos: 100, Events: 100 * 10, Seed: 1})
	require.NoError(t, err)
	spec := pipe.GenSpec()
	_, err = pipe.Run(context.Background(), pipe.Options{Data: data, Out: out, Spec: &spec, TempDir: root, Seed: 1, Epochs: 1,
		Candgen: train.CandgenConfig{Tower: []int{8}, Negatives: 20, Options: train.Options{Batch: 128}},
		Ranking: train.RankingConfig{Tower: []int{8}, Options: train.Options{Batch: 128}}})
	require.NoError(t, err)
	return out
}

// TestSIGHUPDuringStartup: a SIGHUP while the process is still starting
// (here: sent to itself just before loading) does not kill it; the server
// comes up, reloads once for it, and stops cleanly on SIGTERM.
func TestSIGHUPDuringStartup(t *testing.T) {
	if args := os.Getenv("YTDNN_SERVE_CHILD_ARGS"); args != "" {
		beforeLoad = func() {
			syscall.Kill(os.Getpid(), syscall.SIGHUP)
			time.Sleep(200 * time.Millisecond) // delivered while starting
		}
		os.Args = append([]string{"serve"}, strings.Fields(args)...)
		main()
		os.Exit(0)
	}
	dir := modelDir(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestSIGHUPDuringStartup$")
	cmd.Env = append(os.Environ(), "YTDNN_SERVE_CHILD_ARGS=-models "+dir+" -addr 127.0.0.1:0")
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	serving := regexp.MustCompile(`serving .* on (http://127\.0\.0\.1:\d+)`)
	lines := bufio.NewScanner(stderr)
	var url string
	var log strings.Builder
	for url == "" && lines.Scan() {
		fmt.Fprintln(&log, lines.Text())
		if m := serving.FindStringSubmatch(lines.Text()); m != nil {
			url = m[1]
		}
	}
	go func() { // keep draining the child's log
		for lines.Scan() {
		}
	}()
	if url == "" {
		t.Fatalf("the server did not come up (%v); its log:\n%s", cmd.Wait(), log.String())
	}
	require.Eventually(t, func() bool {
		resp, err := http.Get(url + "/healthz")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var h struct{ Generation uint64 }
		return json.NewDecoder(resp.Body).Decode(&h) == nil && h.Generation == 2
	}, 20*time.Second, 20*time.Millisecond, "the SIGHUP of start-up reloads once the server runs")
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	assert.NoError(t, cmd.Wait(), "a clean stop")
}

// TestBadFlagsRefused: -candidates below 1 and a non-positive -timeout
// stop the service before it loads anything, naming the flag.
func TestBadFlagsRefused(t *testing.T) {
	if args := os.Getenv("YTDNN_SERVE_FLAG_ARGS"); args != "" {
		os.Args = append([]string{"serve"}, strings.Fields(args)...)
		main()
		os.Exit(0)
	}
	for _, c := range []struct{ args, want string }{
		{"-candidates 0", "-candidates 0: retrieve at least 1"},
		{"-candidates -5", "-candidates -5"},
		{"-timeout -1s", "-timeout -1s: the per-request limit must be positive"},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestBadFlagsRefused$")
		cmd.Env = append(os.Environ(), "YTDNN_SERVE_FLAG_ARGS=-models /nonexistent "+c.args)
		out, err := cmd.CombinedOutput()
		require.Error(t, err, c.args)
		assert.Contains(t, string(out), c.want, c.args)
		assert.NotContains(t, string(out), "loading", c.args)
	}
}
