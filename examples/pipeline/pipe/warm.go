package pipe

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"time"

	"github.com/ytdnn/ytdnn/candgen"
	"github.com/ytdnn/ytdnn/events"
	"github.com/ytdnn/ytdnn/ingest"
	"github.com/ytdnn/ytdnn/layout"
	"github.com/ytdnn/ytdnn/modeldir"
	"github.com/ytdnn/ytdnn/ranking"
	"github.com/ytdnn/ytdnn/train"
)

// warmStart is the previous model directory a run continues from.
type warmStart struct {
	dir              string
	md               *modeldir.Model
	cgState, rkState *train.State
	decay            float64
}

// loadWarm loads Options.WarmStart (nil when unset) and checks it before
// any log is read: a directory that is missing, corrupt, of another format
// version, without training states, or whose layout differs from spec's is
// an error naming the difference. It sets Since to the end of the previous
// training window when unset.
func (o *Options) loadWarm(spec ingest.Spec) (*warmStart, error) {
	if o.WarmStart == "" {
		return nil, nil
	}
	if o.Holdout.Active() {
		return nil, fmt.Errorf("pipe: -holdout with a warm start: the previous model has seen the events a holdout would test on; evaluate the new model with pipeline eval on a later window")
	}
	dir, err := filepath.EvalSymlinks(o.WarmStart) // the version a `current` link names
	if err != nil {
		return nil, fmt.Errorf("warm start from %s: %w", o.WarmStart, err)
	}
	md, err := modeldir.Load(dir)
	if err != nil {
		return nil, fmt.Errorf("warm start from %s: %w", dir, err)
	}
	if md.Layout.End <= 0 {
		return nil, fmt.Errorf("warm start from %s: its manifest records no training window end (end_unix_ms %d)", dir, md.Layout.End)
	}
	w := &warmStart{dir: dir, md: md, decay: o.Decay}
	if w.cgState, err = modeldir.ReadState(dir, modeldir.CandgenStateFile, train.ReadState); err != nil {
		return nil, fmt.Errorf("warm start from %s: %w", dir, err)
	}
	if md.Ranking != nil {
		if w.rkState, err = modeldir.ReadState(dir, modeldir.RankingStateFile, train.ReadState); err != nil {
			return nil, fmt.Errorf("warm start from %s: %w", dir, err)
		}
	}
	lc, err := LayoutConfig(spec)
	if err != nil {
		return nil, err
	}
	l, err := layout.New(lc, 0, nil) // the defaults applied, as the manifest stores them
	if err != nil {
		return nil, err
	}
	if err := layoutDiff(md.Manifest.Layout, l.Config()); err != nil {
		return nil, fmt.Errorf("pipe: warm start from %s: the spec differs from the previous model's: %w", dir, err)
	}
	switch tb := trainedBefore(&md.Manifest); {
	case o.Since == 0:
		o.Since = tb
	case o.Since < tb:
		o.say("warm start: -since %s is before the end of the previous model's window (%s): the overlap is trained on again",
			time.UnixMilli(o.Since).UTC().Format(time.RFC3339), time.UnixMilli(tb).UTC().Format(time.RFC3339))
	}
	return w, nil
}

// trainedBefore is the first moment a model's training saw nothing of
// (train records it; without the record, just after the window's end).
func trainedBefore(man *modeldir.Manifest) int64 {
	if v, ok := man.Stats["trained_before_unix_ms"].(float64); ok {
		return int64(v)
	}
	return man.End + 1
}

// apply makes both stages' configs continue from the previous models.
func (w *warmStart) apply(cc *train.CandgenConfig, rc *train.RankingConfig) error {
	cc.WarmStart = &train.Warm[*candgen.Model]{Model: w.md.Candgen, State: w.cgState, Decay: w.decay}
	if w.md.Ranking != nil {
		rc.WarmStart = &train.Warm[*ranking.Model]{Model: w.md.Ranking, State: w.rkState, Decay: w.decay}
	}
	if err := errors.Join(cc.Validate(), rc.Validate()); err != nil {
		return fmt.Errorf("pipe: warm start from %s: %w", w.dir, err)
	}
	return nil
}

// checkWindow refuses a log that does not run past the previous model's
// window (time runs forward) or holds nothing from Since on, and records
// the run's window.
func (o *Options) checkWindow(w *warmStart, lg *ingest.Log, out map[string]any) error {
	day := FormatMs
	if w != nil {
		if err := textChanged(w.md.Dicts, lg.Dicts); err != nil {
			return fmt.Errorf("warm start from %s: %w", w.dir, err)
		}
	}
	if w != nil && lg.End <= w.md.Layout.End {
		return fmt.Errorf("pipe: warm start: the log ends at %s, not after the previous model's window (%s): time runs forward; give the log with the new days",
			day(lg.End), day(w.md.Layout.End))
	}
	if o.Since != 0 {
		if lg.End < o.Since {
			return fmt.Errorf("pipe: no event at or after %s (the log ends at %s): nothing new to train on", day(o.Since), day(lg.End))
		}
		out["since_unix_ms"], out["lookback_days"] = o.Since, round4(o.Lookback.Hours()/24)
		out["rows_before_lookback"], out["files_before_lookback"] = lg.BeforeMinTime, lg.FilesBeforeMinTime
		o.say("training examples from %s on; the %v before build users' state only (%d earlier rows skipped, %d daily partitions not read)",
			day(o.Since), o.Lookback, lg.BeforeMinTime, lg.FilesBeforeMinTime)
	}
	if o.Until != 0 {
		out["until_unix_ms"], out["rows_after_until"], out["files_after_until"] = o.Until, lg.AfterUntil, lg.FilesAfterUntil
	}
	if w != nil {
		out["warm_start"] = w.dir
		o.say("warm start from %s (window ending %s)", w.dir, day(w.md.Layout.End))
	}
	return nil
}

// layoutDiff names the first field where two layouts differ (by their
// JSON path, e.g. "signals.exposure" or "video_features[1].column"), or
// returns nil when they are equal.
func layoutDiff(got, want layout.Config) error {
	if reflect.DeepEqual(got, want) {
		return nil
	}
	var g, w any
	for _, p := range []struct {
		c *layout.Config
		v *any
	}{{&got, &g}, {&want, &w}} {
		raw, err := json.Marshal(p.c)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(raw, p.v); err != nil {
			return err
		}
	}
	path, a, b := firstDiff("", g, w)
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return fmt.Errorf("%q is %s in the previous model, %s in this spec", path, ja, jb)
}

// firstDiff descends two decoded JSON values to the first place they
// differ: its path and both values there.
func firstDiff(path string, a, b any) (string, any, any) {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok {
			return path, a, b
		}
		keys := make([]string, 0, len(x)+len(y))
		for k := range x {
			keys = append(keys, k)
		}
		for k := range y {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range slices.Compact(keys) {
			if !reflect.DeepEqual(x[k], y[k]) {
				p := k
				if path != "" {
					p = path + "." + k
				}
				return firstDiff(p, x[k], y[k])
			}
		}
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return path, a, b
		}
		for i := range x {
			if !reflect.DeepEqual(x[i], y[i]) {
				return firstDiff(fmt.Sprintf("%s[%d]", path, i), x[i], y[i])
			}
		}
	}
	return path, a, b
}

// textChanged refuses a log whose ID spaces are text where the previous
// model's were integers, or the other way round: the model's rows belong
// to other IDs then.
func textChanged(prev, now *events.Dicts) error {
	if prev == nil {
		prev = &events.Dicts{}
	}
	if now == nil {
		now = &events.Dicts{}
	}
	kind := func(d *events.Dict) string {
		if d == nil {
			return "integers"
		}
		return "text"
	}
	for _, s := range []struct {
		what, field string
		a, b        *events.Dict
	}{{"user IDs", "user_id_type", prev.Users, now.Users}, {"video IDs", "item_id_type", prev.Videos, now.Videos}, {"search tokens", "search_tokens_id_type", prev.Tokens, now.Tokens}} {
		if (s.a == nil) != (s.b == nil) {
			return fmt.Errorf("%s were %s for the previous model and are %s in this log: set %s as it was", s.what, kind(s.a), kind(s.b), s.field)
		}
	}
	cols := map[string]bool{}
	for c := range prev.Features {
		cols[c] = true
	}
	for c := range now.Features {
		cols[c] = true
	}
	for c := range cols {
		if a, b := prev.Feature(c), now.Feature(c); (a == nil) != (b == nil) {
			return fmt.Errorf("column %q was %s for the previous model and is %s in this log: set its id_type as it was", c, kind(a), kind(b))
		}
	}
	return nil
}
