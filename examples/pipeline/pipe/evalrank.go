package pipe

import (
	"context"
	"fmt"
	"math"

	"github.com/ytdnn/ytdnn/candgen"
	"github.com/ytdnn/ytdnn/eval"
	"github.com/ytdnn/ytdnn/events"
	"github.com/ytdnn/ytdnn/feature"
	"github.com/ytdnn/ytdnn/ingest"
	"github.com/ytdnn/ytdnn/layout"
	"github.com/ytdnn/ytdnn/ranking"
)

// clickRates answers the ctr_ baseline, the video's click-through rate
// so far: layout's running statistics of the video over every impression
// of the log, smoothed toward the rate of those before the training
// window's end (Counts.CTR).
type clickRates struct{ stats *layout.RunningStats }

// readClickRates reads every impression of the log; the prior is the rate
// of those before trainEnd.
func readClickRates(ctx context.Context, lg *ingest.Log, trainEnd int64) (*clickRates, error) {
	l, err := layout.New(layout.Config{Signals: layout.Signals{ItemStats: true}}, trainEnd, nil)
	if err != nil {
		return nil, err
	}
	rs, err := runningStats(ctx, l, lg, math.MinInt64, trainEnd)
	return &clickRates{rs}, err
}

// before is the smoothed click-through rate of video from its impressions
// strictly before at.
func (c *clickRates) before(video, at int64) float64 {
	prior, _ := c.stats.Prior()
	return c.stats.Video(video, at).CTR(prior)
}

// rankTest is one held-out impression.
type rankTest struct {
	user, video, at int64
	ex              feature.Example
	clicked         bool
	watch           float64
	group           int // index of its (user, day) group
	ctr             float64
}

// collectRankTests gathers the impressions at or after from among the
// events visible under h (users in the log's order until max impressions),
// each with its features as the layout builds them from the user's earlier
// events, its (user, day) group, and the video's click-through rate so far
// (rates may be nil: 0).
func collectRankTests(ctx context.Context, l *layout.Layout, lg *ingest.Log, rates *clickRates, h Holdout, from int64, max int, cg *candgen.Model) ([]rankTest, error) {
	var tests []rankTest
	groups := userDays{}
	err := lg.EachUser(ctx, func(evs []events.Event) error {
		if len(tests) >= max {
			return nil
		}
		var sc scorer
		first := len(tests)
		l.Walk(trainEvents(evs, h), nil, func(u *layout.User, e *events.Event) {
			if e.Time < from {
				return
			}
			if cg != nil {
				sc.add(l, u, e.Item)
			}
			t := rankTest{user: e.User, video: e.Item, at: e.Time, ex: l.RankExample(u, e.Item, e.Time, 0), clicked: e.Clicked, watch: float64(e.WatchTime), group: groups.of(e.User, e.Time)}
			if rates != nil {
				t.ctr = rates.before(e.Item, e.Time)
			}
			tests = append(tests, t)
		})
		if cg != nil && len(tests) > first {
			scores, err := sc.scores(cg)
			if err != nil {
				return err
			}
			for i, s := range scores {
				l.SetCandidateScore(&tests[first+i].ex, s)
			}
		}
		return nil
	})
	return tests, err
}

// rankMetrics scores predictions of the held-out impressions: click AUC,
// the paper's weighted per-user loss and NDCG@10 of watch time with
// impressions grouped by user and day.
func rankMetrics(tests []rankTest, score []float64) map[string]float64 {
	items := make([]eval.Scored, len(tests))
	ng := 0
	for _, t := range tests {
		ng = max(ng, t.group+1)
	}
	groups := make([][]eval.Scored, ng)
	for i, t := range tests {
		items[i] = eval.Scored{Score: score[i], Clicked: t.clicked, WatchTime: t.watch}
		if !t.clicked {
			items[i].WatchTime = 0
		}
		groups[t.group] = append(groups[t.group], items[i])
	}
	return map[string]float64{
		eval.MetricAUC.String():                 eval.AUC(items),
		eval.MetricWeightedPerUserLoss.String(): eval.WeightedPerUserLoss(groups),
		"watch_" + eval.MetricNDCG.At(10, ""):   eval.WatchNDCG(groups, 10),
	}
}

// userDays numbers the groups held-out impressions are ranked within: one
// per user and UTC day.
type userDays map[[2]int64]int

// of is the group of an impression of user at time at (Unix ms).
func (g userDays) of(user, at int64) int {
	key := [2]int64{user, at / 86_400_000}
	n, ok := g[key]
	if !ok {
		n = len(g)
		g[key] = n
	}
	return n
}

// calibration is eval.Calibration by decile of scores against the tests'
// watch time, and its JSON form.
func calibration(tests []rankTest, scores []float64) ([]eval.Bin, []map[string]float64) {
	items := make([]eval.Scored, len(tests))
	for i, t := range tests {
		items[i] = eval.Scored{Score: scores[i], Clicked: t.clicked, WatchTime: t.watch}
	}
	bins := eval.Calibration(items, 10)
	var out []map[string]float64
	for _, b := range bins {
		out = append(out, map[string]float64{"n": float64(b.N), "predicted": round4(b.Predicted), "observed": round4(b.Observed)})
	}
	return bins, out
}

// evaluateRanking scores the ranker (and its baselines: the video's
// click-through rate so far and, when given, the same ranker trained
// unweighted) on the held-out impressions, and the ranker's calibration
// by decile of its prediction; it returns the ranker's scores.
func evaluateRanking(tests []rankTest, rk, unweighted *ranking.Model, out map[string]any, say func(string, ...any)) ([]float64, error) {
	if len(tests) == 0 {
		return nil, fmt.Errorf("pipe: no impression at or after the holdout time")
	}
	exs := make([]feature.Example, len(tests))
	ctr := make([]float64, len(tests))
	for i, t := range tests {
		exs[i], ctr[i] = t.ex, t.ctr
	}
	pred, err := rk.ExpectedWatchTime(exs)
	if err != nil {
		return nil, err
	}
	out["ranking_test_impressions"] = len(tests)
	eval.Put(out, "ranking_", rankMetrics(tests, pred))
	eval.Put(out, "ctr_", rankMetrics(tests, ctr))
	if unweighted != nil {
		up, err := unweighted.ExpectedWatchTime(exs)
		if err != nil {
			return nil, err
		}
		eval.Put(out, "unweighted_", rankMetrics(tests, up))
	}
	bins, cal := calibration(tests, pred)
	out["ranking_calibration"] = cal
	say("ranking on %d held-out impressions: AUC %.4f, weighted per-user loss %.4f, watch NDCG@10 %.4f; CTR so far: AUC %.4f, loss %.4f",
		len(tests), out["ranking_auc"], out["ranking_weighted_per_user_loss"], out["ranking_watch_ndcg@10"],
		out["ctr_auc"], out["ctr_weighted_per_user_loss"])
	if unweighted != nil {
		say("  unweighted: AUC %.4f, weighted per-user loss %.4f", out["unweighted_auc"], out["unweighted_weighted_per_user_loss"])
	}
	for _, b := range bins {
		say("  calibration: predicted %.2f s, observed %.2f s (%d impressions)", b.Predicted, b.Observed, b.N)
	}
	if math.IsNaN(out["ranking_auc"].(float64)) {
		say("  (AUC is NaN: the held-out impressions have no click, or no non-click)")
	}
	return pred, nil
}
