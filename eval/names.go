package eval

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
)

// Metric is the base name of a metric in the vocabulary every example
// reports under (doc.go, "Names").
type Metric string

// The metrics.
const (
	MetricHR                  Metric = "hr"                     // hit rate at K, one held-out label per request
	MetricNDCG                Metric = "ndcg"                   // NDCG at K
	MetricRecall              Metric = "recall"                 // recall at K, several relevant items per request
	MetricAUC                 Metric = "auc"                    // click AUC of a ranker
	MetricWeightedPerUserLoss Metric = "weighted_per_user_loss" // the paper's ranking loss
)

// History says whether the ranked lists a retrieval metric was computed on
// kept the items the user had already watched. Its zero value adds no
// suffix to a name (metrics that rank no history, such as auc).
type History string

// The two retrieval protocols.
const (
	HistoryAll      History = "all"      // nothing excluded: every item competes
	HistoryFiltered History = "filtered" // the user's history excluded from the ranked list
)

// String is m's name without a cut-off: "auc".
func (m Metric) String() string { return string(m) }

// At is m's name at cut-off k with the suffix of h: "hr@50_filtered",
// "ndcg@10_all", "recall@50" (zero h). k < 1 leaves the cut-off out.
func (m Metric) At(k int, h History) string {
	s := string(m)
	if k >= 1 {
		s += "@" + strconv.Itoa(k)
	}
	if h != "" {
		s += "_" + string(h)
	}
	return s
}

// PutDigits is the number of decimals Put rounds to.
const PutDigits = 4

// Put copies metrics into dst, the map behind an example's JSON line of
// metrics: each name gets prefix (the model or split measured: "" for the
// model under test, "mostpop_" for the most-popular baseline, "val_" for
// the validation split, "candgen_"/"ranking_" for one stage of two) and
// each value is rounded to PutDigits decimals. NaN and ±Inf are copied as
// they are (encoding/json refuses them: check before marshalling).
func Put(dst map[string]any, prefix string, metrics map[string]float64) {
	scale := math.Pow10(PutDigits)
	for name, v := range metrics {
		dst[prefix+name] = math.Round(v*scale) / scale // NaN and ±Inf stay as they are
	}
}

// MarshalJSON encodes a metrics map as one JSON object. JSON has no NaN
// or infinity: a non-finite float64 or float32 value (a metric of a model
// that produced such scores, say) is written as null, and its name is
// returned in nonFinite (sorted) so that the caller can report it.
func MarshalJSON(m map[string]any) (line []byte, nonFinite []string, err error) {
	out, nonFinite := Finite(m)
	line, err = json.Marshal(out)
	return line, nonFinite, err
}

// Finite returns a copy of a metrics map that JSON can hold: each
// non-finite float64 or float32 value replaced by nil, its name in
// nonFinite (sorted).
func Finite(m map[string]any) (out map[string]any, nonFinite []string) {
	out = make(map[string]any, len(m))
	for k, v := range m {
		switch x := v.(type) {
		case float64:
			if math.IsNaN(x) || math.IsInf(x, 0) {
				v, nonFinite = nil, append(nonFinite, k)
			}
		case float32:
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				v, nonFinite = nil, append(nonFinite, k)
			}
		}
		out[k] = v
	}
	slices.Sort(nonFinite)
	return out, nonFinite
}
