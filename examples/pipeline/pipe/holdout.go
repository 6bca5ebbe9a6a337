package pipe

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/ytdnn/ytdnn/events"
	"github.com/ytdnn/ytdnn/ingest"
	"github.com/ytdnn/ytdnn/layout"
)

// Holdout says which events a run holds out of training to evaluate on.
// The zero value holds out nothing.
type Holdout struct {
	// Last holds out each user's last watch (users with at least three
	// watches are tested).
	Last bool
	// After (Unix ms, when not 0) holds out every event at or after it:
	// both stages train on the events before it and are evaluated on the
	// watches and impressions after it, each user's state replayed through
	// every earlier event (earlier test-window events included: what a
	// deployed model would have seen).
	After int64
}

// Active reports whether anything is held out.
func (h Holdout) Active() bool { return h.Last || h.After != 0 }

// String is the flag form of h.
func (h Holdout) String() string {
	switch {
	case h.Last:
		return "last"
	case h.After != 0:
		return "after=" + time.UnixMilli(h.After).UTC().Format(time.RFC3339)
	}
	return ""
}

// ParseTime reads a time flag: a date (2022-04-29, midnight UTC) or RFC
// 3339 (2022-04-29T00:00:00+08:00, fractions of a second kept), as Unix
// ms.
func ParseTime(s string) (int64, error) {
	for _, layout := range []string{time.RFC3339Nano, time.DateOnly} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UnixMilli(), nil
		}
	}
	return 0, fmt.Errorf("%q is neither a date (2022-04-29) nor RFC 3339 (2022-04-29T00:00:00Z)", s)
}

// FormatMs writes a Unix ms time as RFC 3339 in UTC with its
// milliseconds, so that it reads back (ParseTime) to the same time.
func FormatMs(ms int64) string {
	return time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z07:00")
}

// ParseHoldout reads the -holdout flag: "" (none), "last", or "after=T"
// with T a date (2022-04-29, midnight UTC) or an RFC 3339 time.
func ParseHoldout(s string) (Holdout, error) {
	switch {
	case s == "":
		return Holdout{}, nil
	case s == "last":
		return Holdout{Last: true}, nil
	case strings.HasPrefix(s, "after="):
		ms, err := ParseTime(strings.TrimPrefix(s, "after="))
		if err != nil {
			return Holdout{}, fmt.Errorf("holdout %q: %w", s, err)
		}
		return Holdout{After: ms}, nil
	}
	return Holdout{}, fmt.Errorf("holdout %q: want \"last\" or \"after=TIME\"", s)
}

// trainEvents returns the events of one user that training may see: with
// Last, all but the user's last watch; with After, those before it (when
// both are set, the last watch of the whole sequence is left out, then the
// rest is cut at After).
func trainEvents(evs []events.Event, h Holdout) []events.Event {
	if h.Last {
		for i := len(evs) - 1; i >= 0; i-- {
			if evs[i].Kind == events.Watch {
				evs = append(evs[:i:i], evs[i+1:]...)
				break
			}
		}
	}
	if h.After != 0 {
		for i, e := range evs {
			if e.Time >= h.After {
				return evs[:i]
			}
		}
	}
	return evs
}

// Test is one held-out request: the user as known just before a watch,
// and that watch.
type Test struct {
	User  layout.User
	Label int64
	At    int64 // Unix ms
}

// popularity counts the training labels for the most-popular baselines:
// over the whole training window and over its last day.
type popularity struct {
	all, lastDay map[int64]int
	lastDayFrom  int64 // Unix ms
	// first is each video's first event in the log (any kind), Unix ms;
	// collectTests fills it from the events it walks anyway.
	first map[int64]int64
}

func (p *popularity) add(video, at int64) {
	p.all[video]++
	if at >= p.lastDayFrom {
		p.lastDay[video]++
	}
}

// collectTests gathers the held-out requests of h (at most max, a
// reservoir sample in a fixed order) and counts the training labels for
// the most-popular baselines. With h.Last each user with at least three
// watches gives one test; with h.After every watch at or after h.After by
// a user with an earlier watch gives one.
func collectTests(ctx context.Context, l *layout.Layout, lg *ingest.Log, h Holdout, max int) ([]Test, *popularity, error) {
	end := lg.End
	if h.After != 0 {
		end = h.After
	}
	pop := &popularity{all: map[int64]int{}, lastDay: map[int64]int{}, lastDayFrom: end - 86_400_000, first: map[int64]int64{}}
	r := reservoir{max: max, rng: rand.New(rand.NewPCG(7, 7))}
	err := lg.EachUser(ctx, func(evs []events.Event) error {
		for _, e := range evs {
			if t, ok := pop.first[e.Item]; !ok || e.Time < t {
				pop.first[e.Item] = e.Time
			}
		}
		if h.Last {
			u := l.Walk(trainEvents(evs, h), func(_ *layout.User, video, at int64) { pop.add(video, at) }, nil)
			nw := 0
			var last events.Event
			for _, e := range evs {
				if e.Kind == events.Watch {
					nw++
					last = e
				}
			}
			if nw >= 3 {
				r.offer(func() Test { return Test{User: u, Label: last.Item, At: last.Time} })
			}
			return nil
		}
		// One walk: the watches before h.After are training's labels, those
		// after it the tests (the user as known before each).
		l.Walk(evs, func(u *layout.User, video, at int64) {
			if at < h.After {
				pop.add(video, at)
				return
			}
			r.offer(func() Test { return Test{User: u.Snapshot(), Label: video, At: at} })
		}, nil)
		return nil
	})
	return r.tests, pop, err
}

// reservoir keeps a uniform sample of at most max of the tests offered
// (Algorithm R, in the offers' order), building a test only when it is
// kept.
type reservoir struct {
	tests     []Test
	max, seen int
	rng       *rand.Rand
}

func (r *reservoir) offer(test func() Test) {
	r.seen++
	if len(r.tests) < r.max {
		r.tests = append(r.tests, test())
	} else if j := r.rng.IntN(r.seen); j < r.max {
		r.tests[j] = test()
	}
}

// collectWindow gathers the requests of a validation window: every watch
// at or after from among the events visible under h (a user with an
// earlier visible watch gives one), at most max (a reservoir sample).
func collectWindow(ctx context.Context, l *layout.Layout, lg *ingest.Log, h Holdout, from int64, max int) ([]Test, error) {
	r := reservoir{max: max, rng: rand.New(rand.NewPCG(11, 11))}
	err := lg.EachUser(ctx, func(evs []events.Event) error {
		l.Walk(trainEvents(evs, h), func(u *layout.User, video, at int64) {
			if at >= from {
				r.offer(func() Test { return Test{User: u.Snapshot(), Label: video, At: at} })
			}
		}, nil)
		return nil
	})
	return r.tests, err
}
