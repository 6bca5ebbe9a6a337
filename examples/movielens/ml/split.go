package ml

import (
	"cmp"
	"slices"

	"github.com/ytdnn/ytdnn/candgen"
	"github.com/ytdnn/ytdnn/feature"
)

// Cases are evaluation requests, one per user, each with the rating to find.
type Cases struct {
	Requests []feature.Example
	Labels   []int64
	// Ages is each request's example age when it is served at its own time:
	// the age of the user's rating before the label (known at request time,
	// so no leakage).
	Ages []float64
	// Histories are the user's ratings before the label (for filtering).
	Histories [][]int64
}

func (c *Cases) add(ex feature.Example, label int64, age float64, hist []int64) {
	c.Requests = append(c.Requests, ex)
	c.Labels = append(c.Labels, label)
	c.Ages = append(c.Ages, age)
	c.Histories = append(c.Histories, hist)
}

// Split is the protocol's split. Each user's last rating is the test target
// and the one before it the validation target.
type Split struct {
	// Train holds every next-rating example whose target precedes the test
	// target, validation targets included: the final model's data.
	Train []candgen.Example
	// Fit is Train without the validation targets: the data of the models
	// scored on Val (tuning and early stopping). Nothing chosen on Val has
	// seen a test target.
	Fit  []candgen.Example
	Val  Cases
	Test Cases
	Spec feature.Spec
}

// demographicFeatures are MovieLens's user attributes as features, in the
// order BuildSplit fills them after history and genres: gender (1 for F),
// age, occupation and zip region (the zip code's first two characters).
func demographicFeatures() []feature.Feature {
	return []feature.Feature{
		{Name: "gender", Kind: feature.Value},
		{Name: "age", Kind: feature.Continuous},
		{Name: "occupation", Kind: feature.ID, Space: "occupation"},
		{Name: "zip", Kind: feature.ID, Space: "zip"},
	}
}

// BuildSplit applies the protocol to loaded data: ratings sorted by
// (timestamp, movie) per user; every earlier prefix → next rating is a
// training example with history the hist ratings before it.
func BuildSplit(d *Data, hist int) *Split {
	byUser := map[int64][]Rating{}
	var maxTime int64
	for _, r := range d.Ratings {
		byUser[r.User] = append(byUser[r.User], r)
		maxTime = max(maxTime, r.Time)
	}
	users := make([]int64, 0, len(byUser))
	for u := range byUser {
		users = append(users, u)
	}
	slices.Sort(users)
	s := &Split{Spec: feature.Spec{
		Spaces: []feature.Space{{Name: "movie"}, {Name: "genre"}, {Name: "occupation"}, {Name: "zip"}},
		Features: []feature.Feature{
			{Name: "history", Kind: feature.Bag, Space: "movie", MaxLen: hist},
			{Name: "genres", Kind: feature.Bag, Space: "genre"},
		},
	}}
	if d.Users != nil {
		s.Spec.Features = append(s.Spec.Features, demographicFeatures()...)
	}
	nf := len(s.Spec.Features)
	build := func(u int64, h []int64) feature.Example {
		ex := feature.Example{IDs: make([][]int64, nf), Nums: make([]float64, nf)}
		ex.IDs[0] = h
		if d.Genres != nil {
			seen := map[string]bool{}
			var g []int64
			for _, m := range h {
				for _, name := range d.Genres[m] {
					if !seen[name] {
						seen[name] = true
						g = append(g, genreID(name))
					}
				}
			}
			ex.IDs[1] = g
		}
		if d.Users != nil {
			du := d.Users[u]
			ex.Nums[2], ex.Nums[3] = du.Gender, du.Age
			ex.IDs[4] = []int64{hashID(du.Occupation)}
			zip := du.Zip
			if len(zip) > 2 {
				zip = zip[:2]
			}
			ex.IDs[5] = []int64{hashID(zip)}
		}
		return ex
	}
	for _, u := range users {
		rs := byUser[u]
		slices.SortFunc(rs, func(a, b Rating) int {
			if c := cmp.Compare(a.Time, b.Time); c != 0 {
				return c
			}
			return cmp.Compare(a.Movie, b.Movie)
		})
		if len(rs) < 2 {
			continue
		}
		items := make([]int64, len(rs))
		for i, r := range rs {
			items[i] = r.Movie
		}
		last := len(items) - 1
		for t := 1; t < last; t++ {
			e := candgen.Example{Features: build(u, items[max(0, t-hist):t]), Label: items[t], Age: float64(maxTime - rs[t].Time)}
			s.Train = append(s.Train, e)
			if t < last-1 {
				s.Fit = append(s.Fit, e)
			}
		}
		s.Test.add(build(u, items[max(0, last-hist):last]), items[last], float64(maxTime-rs[last-1].Time), items[:last])
		// A validation target needs a training example before it in Fit.
		if v := last - 1; v >= 2 {
			s.Val.add(build(u, items[max(0, v-hist):v]), items[v], float64(maxTime-rs[v-1].Time), items[:v])
		}
	}
	return s
}

func genreID(name string) int64 { return hashID("genre:" + name) }

// hashID maps a string to a stable int64 ID (FNV-1a).
func hashID(s string) int64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return int64(h >> 1)
}
