package ingest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/ytdnn/ytdnn/events"
)

// The tests of the input rules (rules_test.go) reach the package through
// these helpers only.

type testOpts struct {
	Strict      bool
	MaxRejected float64
	MaxTime     time.Time
	// MinTime and Until bound the read; Dicts are continued.
	MinTime, Until time.Time
	Dicts          *events.Dicts
}

func build(t *testing.T, dir string, spec Spec, o testOpts) (*Log, error) {
	t.Helper()
	lg, err := Build(context.Background(), dir, spec, Options{TempDir: t.TempDir(), Strict: o.Strict, MaxRejected: o.MaxRejected, MaxTime: o.MaxTime, MinTime: o.MinTime, Until: o.Until, Dicts: o.Dicts})
	if err == nil {
		t.Cleanup(func() { lg.Close() })
	}
	return lg, err
}

// specOf reads a spec from JSON, as a team writes it.
func specOf(t *testing.T, js string) Spec {
	t.Helper()
	p := filepath.Join(t.TempDir(), "spec.json")
	require.NoError(t, os.WriteFile(p, []byte(js), 0o644))
	s, err := ReadSpec(p)
	require.NoError(t, err)
	return s
}

func reasons(r Report) map[Reason]int64 { return r.ByReason }

// dictText is the text of an ID of a space ("users", "videos", "tokens",
// or a feature column).
func dictText(lg *Log, space string, id int64) (string, bool) {
	var d *events.Dict
	switch space {
	case "users":
		d = lg.Dicts.Users
	case "videos":
		d = lg.Dicts.Videos
	case "tokens":
		d = lg.Dicts.Tokens
	default:
		d = lg.Dicts.Feature(space)
	}
	if d == nil {
		return "", false
	}
	return d.Text(id)
}

func catalogueOf(lg *Log) *events.Catalogue { return lg.Catalogue }

func isColumnType(err error) bool      { return errors.Is(err, ErrColumnType) }
func isTooManyRejected(err error) bool { return errors.Is(err, ErrTooManyRejected) }

func emptyFiles(r Report) (int, []string) { return r.Empty, r.EmptyFiles }

const nullID = events.NullID

func catReport(lg *Log) Report { return lg.CatalogueReport }
