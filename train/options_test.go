package train

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ytdnn/ytdnn/candgen"
	"github.com/ytdnn/ytdnn/feature"
	"github.com/ytdnn/ytdnn/ranking"
)

// TestInvalidSettingsBeforeAnyRead: every invalid setting is reported at
// once, naming the field, before the examples are opened.
func TestInvalidSettingsBeforeAnyRead(t *testing.T) {
	spec := feature.Spec{Spaces: []feature.Space{{Name: "video"}}, Features: []feature.Feature{{Name: "w", Kind: feature.Bag, Space: "video"}}}
	for _, c := range []struct {
		name string
		cfg  CandgenConfig
		want []string
	}{
		{"optimizer typo", CandgenConfig{Spec: spec, Options: Options{Optimizer: "adamw"}}, []string{`unknown Optimizer "adamw"`}},
		{"table optimizer typo", CandgenConfig{Spec: spec, Options: Options{TableOptimizer: "sgd"}}, []string{`unknown TableOptimizer "sgd"`}},
		{"sampler typo", CandgenConfig{Spec: spec, Sampler: "zipf"}, []string{`unknown Sampler "zipf"`}},
		{"dropout 1", CandgenConfig{Spec: spec, Options: Options{Dropout: 1}}, []string{"Dropout 1 outside [0, 1)"}},
		{"negative batch and patience", CandgenConfig{Spec: spec, Options: Options{Batch: -1, Patience: -2}}, []string{"Batch -1", "Patience -2"}},
		{"bad tower", CandgenConfig{Spec: spec, Tower: []int{8, 0}}, []string{"invalid Tower [8 0]"}},
		{"no label space", CandgenConfig{Spec: spec, VideoSpace: "movie"}, []string{`no space "movie"`}},
		{"example age twice", CandgenConfig{Spec: feature.Spec{Spaces: spec.Spaces, Features: append(spec.Features, feature.Feature{Name: candgen.ExampleAgeFeature, Kind: feature.Continuous})}, ExampleAge: true}, []string{"already has a feature"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := c.cfg.Validate()
			require.Error(t, err)
			_, _, trainErr := CandgenSource(context.Background(), c.cfg, refusingSource[candgen.Example]{t})
			require.Error(t, trainErr)
			for _, w := range c.want {
				assert.Contains(t, err.Error(), w)
				assert.Contains(t, trainErr.Error(), w)
			}
		})
	}
	t.Run("ranking L2 negative", func(t *testing.T) {
		cfg := RankingConfig{Spec: spec, Options: Options{L2: -1}}
		_, _, err := RankingSource(context.Background(), cfg, refusingSource[ranking.Impression]{t})
		assert.ErrorContains(t, err, "L2 -1 must be non-negative")
	})
	assert.NoError(t, (&CandgenConfig{Spec: spec}).Validate(), "defaults are valid")
}
