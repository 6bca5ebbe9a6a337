package train

import (
	"context"
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ytdnn/ytdnn/candgen"
	"github.com/ytdnn/ytdnn/feature"
	"github.com/ytdnn/ytdnn/ranking"
)

type (
	candgenTrainer = trainer[candgen.Example, int32, *candgen.Model]
	rankingTrainer = trainer[ranking.Impression, weighted, *ranking.Model]
)

// newCandgenTrainer is a trainer fitted on exs and holding them encoded,
// as Candgen's in-memory path builds it, before any step.
func newCandgenTrainer(t testing.TB, cfg CandgenConfig, exs []candgen.Example) *candgenTrainer {
	t.Helper()
	cfg = cfg.withDefaults()
	require.NoError(t, cfg.validate())
	s := &candgenStage{cfg: &cfg, full: candgen.FullSpec(cfg.Spec, cfg.ExampleAge)}
	return newTrainer(t, &cfg.Options, stage[candgen.Example, int32, *candgen.Model](s), exs)
}

// newRankingTrainer is newCandgenTrainer for the ranker.
func newRankingTrainer(t testing.TB, cfg RankingConfig, imps []ranking.Impression) *rankingTrainer {
	t.Helper()
	cfg = cfg.withDefaults()
	require.NoError(t, cfg.validate())
	return newTrainer(t, &cfg.Options, stage[ranking.Impression, weighted, *ranking.Model](&rankingStage{cfg: &cfg}), imps)
}

func newTrainer[R, T, M any](t testing.TB, o *Options, s stage[R, T, M], recs []R) *trainer[R, T, M] {
	t.Helper()
	tr := &trainer[R, T, M]{s: s, o: o}
	_, err := tr.fit(context.Background(), feature.SliceSource(recs))
	require.NoError(t, err)
	require.NoError(t, tr.setup())
	for i := range recs {
		e, ok, err := tr.encode(&recs[i])
		require.NoError(t, err)
		if ok {
			tr.data = append(tr.data, e)
		}
	}
	return tr
}

// softmaxOf returns a candgen trainer's head.
func softmaxOf(tr *candgenTrainer) *softmaxHead { return tr.h.(*softmaxHead) }

// refusingSource fails the test if training opens it.
type refusingSource[T any] struct{ t *testing.T }

func (s refusingSource[T]) Open(context.Context) (feature.Iterator[T], error) {
	s.t.Error("the source was opened before the settings were checked")
	return nil, io.EOF
}
