package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ytdnn/ytdnn/examples/pipeline/pipe"
)

// TestDailyScript runs daily.sh, the README's daily loop, on a generated
// log of four days: the first run trains from scratch, the second
// warm-starts, passes the gate and moves `current`; a gate that says B is
// worse (exit 3) leaves `current` where it was.
func TestDailyScript(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "pipeline")
	build := exec.Command("go", "build", "-o", bin, ".")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)
	data := filepath.Join(dir, "log")
	_, err = pipe.Generate(data, pipe.GenOptions{Users: 200, Videos: 200, Events: 4000, Seed: 2, Days: 4})
	require.NoError(t, err)
	root := filepath.Join(dir, "models")
	day := func(d int) string { return pipe.GenStart.AddDate(0, 0, d).Format(time.RFC3339) }
	run := func(t *testing.T, now string, env ...string) (int, string) {
		t.Helper()
		cmd := exec.Command("bash", "daily.sh", data, filepath.Join(data, "spec.json"), root, now)
		cmd.Env = append(os.Environ(), append([]string{"PIPELINE=" + bin, "HOLDOUT=6"}, env...)...)
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode(), string(out)
		}
		require.NoError(t, err, "%s", out)
		return 0, string(out)
	}
	current := func(t *testing.T) string {
		t.Helper()
		v, err := os.Readlink(filepath.Join(root, "current"))
		require.NoError(t, err)
		return v
	}
	rc, msg := run(t, day(2))
	require.Equal(t, 0, rc, msg)
	assert.Contains(t, msg, "first model")
	assert.Equal(t, "v20260102-1800", current(t), "trained on the log up to 6 hours before the run")

	rc, msg = run(t, day(3), "TOLERANCE=1")
	require.Equal(t, 0, rc, msg)
	assert.Equal(t, "v20260103-1800", current(t), "the warm-started model passed the gate")
	raw, err := os.ReadFile(filepath.Join(root, "v20260103-1800.train.json"))
	require.NoError(t, err)
	prev, err := filepath.EvalSymlinks(filepath.Join(root, "v20260102-1800"))
	require.NoError(t, err)
	assert.Contains(t, string(raw), `"warm_start":"`+prev+`"`, "the version `current` named")
	_, err = os.Stat(filepath.Join(root, "v20260103-1800.compare.json"))
	assert.NoError(t, err)

	// A gate that fails: compare exits 3 (a wrapper stands in for it).
	wrapper := filepath.Join(dir, "worse.sh")
	require.NoError(t, os.WriteFile(wrapper, []byte("#!/bin/bash\nif [ \"$1\" = compare ]; then exit 3; fi\nexec "+bin+" \"$@\"\n"), 0o755))
	rc, msg = run(t, day(4), "PIPELINE="+wrapper)
	assert.Equal(t, 3, rc, msg)
	assert.True(t, strings.Contains(msg, "keeping it"), msg)
	assert.Equal(t, "v20260103-1800", current(t), "current stays")
	_, err = os.Stat(filepath.Join(root, "v20260104-1800.rejected"))
	assert.NoError(t, err, "the refused version is kept to look into")

	// A compare that fails (exit 1) leaves nothing of the run behind.
	broken := filepath.Join(dir, "broken.sh")
	require.NoError(t, os.WriteFile(broken, []byte("#!/bin/bash\nif [ \"$1\" = compare ]; then exit 1; fi\nexec "+bin+" \"$@\"\n"), 0o755))
	rc, msg = run(t, day(4), "PIPELINE="+broken, "LOOKBACK=72h")
	assert.Equal(t, 1, rc, msg)
	for _, f := range []string{"v20260104-1800", "v20260104-1800.train.json", "v20260104-1800.compare.json"} {
		_, err := os.Stat(filepath.Join(root, f))
		assert.True(t, os.IsNotExist(err), "%s removed", f)
	}

	// One run at a time.
	lock, err := os.OpenFile(filepath.Join(root, ".daily.lock"), os.O_WRONLY, 0)
	require.NoError(t, err)
	defer lock.Close()
	require.NoError(t, syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB))
	rc, msg = run(t, day(4))
	assert.Equal(t, 1, rc, msg)
	assert.Contains(t, msg, "another run holds")
}
