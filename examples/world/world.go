package world

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// Config sizes the world. Zero values take the defaults in brackets.
type Config struct {
	Users, Videos, Topics int     // [2000, 5000, 20]
	ChannelsPerTopic      int     // [10]
	Watches               int     // per user [30]
	Alpha                 float64 // popularity power law exponent [1.0]
	Noise                 float64 // latent noise [0.3]
	Stickiness            float64 // [0.5]
	Freshness             float64 // freshness time constant [Horizon/3]
	Horizon               float64 // length of the time window [100]
	SearchRate            float64 // [0.3]
	TokensPerTopic        int     // [20]
	Pages, PageSize       int     // impression pages per user [2], candidates per page [10]
	// PagesThroughout shows each page at a uniform time in [0, Horizon)
	// with the videos of that moment (a log that lives in days); without
	// it every page is shown at Horizon.
	PagesThroughout  bool
	ClickBias        float64 // [-3.5]
	MaxWatch         float64 // [20] minutes
	Regions, Devices int     // [20, 4]
	Seed             uint64
}

func (c *Config) defaults() {
	def := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	deff := func(p *float64, v float64) {
		if *p == 0 {
			*p = v
		}
	}
	def(&c.Users, 2000)
	def(&c.Videos, 5000)
	def(&c.Topics, 20)
	def(&c.ChannelsPerTopic, 10)
	def(&c.Watches, 30)
	deff(&c.Alpha, 1)
	deff(&c.Noise, 0.3)
	deff(&c.Stickiness, 0.5)
	deff(&c.Horizon, 100)
	deff(&c.Freshness, c.Horizon/3)
	deff(&c.SearchRate, 0.3)
	def(&c.TokensPerTopic, 20)
	def(&c.Pages, 2)
	def(&c.PageSize, 10)
	deff(&c.ClickBias, -3.5)
	deff(&c.MaxWatch, 20)
	def(&c.Regions, 20)
	def(&c.Devices, 4)
}

// Validate checks a config (after zero fields take their defaults): every
// count in a range a world of this kind can have, every rate finite and in
// range. New calls it; a server loading a config from disk should too.
func (c Config) Validate() error {
	c.defaults()
	ints := []struct {
		name    string
		v, l, h int
	}{
		{"Users", c.Users, 1, 10_000_000}, {"Videos", c.Videos, 1, 10_000_000}, {"Topics", c.Topics, 2, 10_000},
		{"ChannelsPerTopic", c.ChannelsPerTopic, 1, 100_000}, {"Watches", c.Watches, 1, 100_000},
		{"TokensPerTopic", c.TokensPerTopic, 1, 100_000}, {"Pages", c.Pages, 1, 1000}, {"PageSize", c.PageSize, 1, 10_000},
		{"Regions", c.Regions, 1, 1_000_000}, {"Devices", c.Devices, 1, 10_000},
	}
	for _, f := range ints {
		if f.v < f.l || f.v > f.h {
			return fmt.Errorf("world: %s = %d, want %d..%d", f.name, f.v, f.l, f.h)
		}
	}
	if c.Videos < c.Topics {
		return fmt.Errorf("world: %d videos cannot cover %d topics", c.Videos, c.Topics)
	}
	floats := []struct {
		name    string
		v, l, h float64
	}{
		{"Alpha", c.Alpha, 0, 10}, {"Noise", c.Noise, 0, 100}, {"Stickiness", c.Stickiness, 0, 1},
		{"Freshness", c.Freshness, 1e-9, 1e9}, {"Horizon", c.Horizon, 1e-9, 1e9}, {"SearchRate", c.SearchRate, 0, 1},
		{"ClickBias", c.ClickBias, -100, 100}, {"MaxWatch", c.MaxWatch, 1e-9, 1e9},
	}
	for _, f := range floats {
		if !(f.v >= f.l && f.v <= f.h) { // also NaN
			return fmt.Errorf("world: %s = %g, want %g..%g", f.name, f.v, f.l, f.h)
		}
	}
	return nil
}

// Video is one video.
type Video struct {
	ID         int64
	Topic      int
	Channel    int64
	Z          []float64
	Upload     float64
	Popularity float64
	Appeal     float64
	Quality    float64
}

// Watch is one watch event.
type Watch struct {
	Video int64
	Time  float64
}

// Search is one search event.
type Search struct {
	Tokens []int64
	Time   float64
}

// Impression is one shown candidate on a page.
type Impression struct {
	User, Page int64
	Video      int64
	Clicked    bool
	WatchTime  float64
	// Expected is the ground-truth expected watch time of this impression
	// (ClickProb times the mean watch time of a click).
	Expected float64
	// ClickProb is the ground-truth click probability of this impression.
	ClickProb float64
	// Time is when the page was shown (Horizon unless PagesThroughout).
	Time float64
}

// User is one user with their history.
type User struct {
	ID       int64
	Topics   [2]int
	Theta    []float64
	Region   int64
	Device   int64
	Gender   float64 // 0 or 1
	Age      float64 // years
	LoggedIn float64 // 0 or 1
	Watches  []Watch
	Searches []Search
	Pages    [][]Impression
}

// World is a generated world.
type World struct {
	Cfg    Config
	Videos []Video
	Users  []User
	byTop  [][]int // video indices per topic
	alias  []*aliasTable
}

// New generates a world. A config Validate rejects is an error.
func New(cfg Config) (*World, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.defaults()
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x3011d))
	w := &World{Cfg: cfg}
	K := cfg.Topics
	perm := rng.Perm(cfg.Videos)
	w.byTop = make([][]int, K)
	for i := 0; i < cfg.Videos; i++ {
		t := rng.IntN(K)
		v := Video{
			ID: int64(i + 1), Topic: t,
			Channel:    int64(t*cfg.ChannelsPerTopic + rng.IntN(cfg.ChannelsPerTopic)),
			Z:          latent(rng, K, t, -1, cfg.Noise),
			Upload:     (rng.Float64()*1.5 - 0.5) * cfg.Horizon,
			Popularity: math.Pow(float64(perm[i]+1), -cfg.Alpha),
			Appeal:     rng.Float64(),
			Quality:    0.2 + 0.8*rng.Float64(),
		}
		w.Videos = append(w.Videos, v)
		w.byTop[t] = append(w.byTop[t], i)
	}
	for t := 0; t < K; t++ {
		if len(w.byTop[t]) == 0 {
			return nil, fmt.Errorf("world: topic %d drew no video; use more videos per topic", t)
		}
		ws := make([]float64, len(w.byTop[t]))
		for j, vi := range w.byTop[t] {
			ws[j] = w.Videos[vi].Popularity
		}
		w.alias = append(w.alias, newAlias(ws))
	}
	for u := 0; u < cfg.Users; u++ {
		w.Users = append(w.Users, w.genUser(rng, int64(u+1)))
	}
	return w, nil
}

func latent(rng *rand.Rand, k, t1, t2 int, noise float64) []float64 {
	z := make([]float64, k)
	z[t1] = 1
	if t2 >= 0 {
		z[t2] += 0.6
	}
	var n float64
	for i := range z {
		z[i] += noise * rng.NormFloat64() / math.Sqrt(float64(k))
		n += z[i] * z[i]
	}
	n = math.Sqrt(n)
	for i := range z {
		z[i] /= n
	}
	return z
}

func (w *World) drawInTopic(rng *rand.Rand, t int, now float64) int64 {
	if len(w.byTop[t]) == 0 {
		return int64(1 + rng.IntN(len(w.Videos)))
	}
	for try := 0; ; try++ {
		v := &w.Videos[w.byTop[t][w.alias[t].draw(rng)]]
		if try >= 30 {
			return v.ID
		}
		if v.Upload > now {
			continue
		}
		if rng.Float64() < math.Exp(-(now-v.Upload)/w.Cfg.Freshness) {
			return v.ID
		}
	}
}

func (w *World) genUser(rng *rand.Rand, id int64) User {
	cfg := w.Cfg
	t1 := rng.IntN(cfg.Topics)
	t2 := (t1 + 1 + rng.IntN(cfg.Topics-1)) % cfg.Topics
	u := User{
		ID: id, Topics: [2]int{t1, t2}, Theta: latent(rng, cfg.Topics, t1, t2, cfg.Noise),
		Region: int64(rng.IntN(cfg.Regions)), Device: int64(rng.IntN(cfg.Devices)),
		Gender: float64(rng.IntN(2)), Age: 13 + 50*rng.Float64(), LoggedIn: float64(rng.IntN(4) / 3),
	}
	times := make([]float64, cfg.Watches)
	for i := range times {
		times[i] = rng.Float64() * cfg.Horizon
	}
	slices.Sort(times)
	topic := t1
	for i, t := range times {
		if i == 0 || rng.Float64() >= cfg.Stickiness {
			switch r := rng.Float64(); {
			case r < 0.6:
				topic = t1
			case r < 0.9:
				topic = t2
			default:
				topic = rng.IntN(cfg.Topics)
			}
		}
		if rng.Float64() < cfg.SearchRate {
			n := 1 + rng.IntN(3)
			toks := make([]int64, n)
			for j := range toks {
				toks[j] = int64(topic*cfg.TokensPerTopic + rng.IntN(cfg.TokensPerTopic))
			}
			u.Searches = append(u.Searches, Search{Tokens: toks, Time: t - 1e-6})
		}
		u.Watches = append(u.Watches, Watch{Video: w.drawInTopic(rng, topic, t), Time: t})
	}
	for p := 0; p < cfg.Pages; p++ {
		var page []Impression
		at := cfg.Horizon
		if cfg.PagesThroughout {
			at = rng.Float64() * cfg.Horizon
		}
		for s := 0; s < cfg.PageSize; s++ {
			var vid int64
			if s%2 == 0 {
				vid = w.drawInTopic(rng, u.Topics[rng.IntN(2)], at)
			} else {
				vid = w.drawInTopic(rng, rng.IntN(cfg.Topics), at)
			}
			p, mean := w.clickAndMean(&u, vid)
			imp := Impression{User: id, Video: vid, Expected: p * mean, ClickProb: p, Time: at}
			if rng.Float64() < p {
				imp.Clicked = true
				imp.WatchTime = rng.ExpFloat64() * mean
			}
			page = append(page, imp)
		}
		for i := range page {
			page[i].Page = id*int64(cfg.Pages) + int64(p)
		}
		u.Pages = append(u.Pages, page)
	}
	return u
}

// Affinity returns θ_u·z_v.
func (w *World) Affinity(u *User, video int64) float64 {
	z := w.Videos[video-1].Z
	s := 0.0
	for i, x := range u.Theta {
		s += x * z[i]
	}
	return s
}

func (w *World) clickAndMean(u *User, video int64) (p, mean float64) {
	v := &w.Videos[video-1]
	aff := w.Affinity(u, video)
	p = 1 / (1 + math.Exp(-(w.Cfg.ClickBias + 3*aff + 2*(v.Appeal-0.5))))
	mean = w.Cfg.MaxWatch * v.Quality * (0.2 + math.Max(aff, 0))
	return p, mean
}

// ExpectedWatch is the ground-truth expected watch time of showing video to
// user u: P(click)·E[watch time | click].
func (w *World) ExpectedWatch(u *User, video int64) float64 {
	p, mean := w.clickAndMean(u, video)
	return p * mean
}

// Video returns the video with the given ID (1-based), or nil.
func (w *World) Video(id int64) *Video {
	if id < 1 || int(id) > len(w.Videos) {
		return nil
	}
	return &w.Videos[id-1]
}

type aliasTable struct {
	cut   []float64
	alias []int
}

func newAlias(w []float64) *aliasTable {
	n := len(w)
	a := &aliasTable{cut: make([]float64, n), alias: make([]int, n)}
	if n == 0 {
		return a
	}
	sum := 0.0
	for _, x := range w {
		sum += x
	}
	sc := make([]float64, n)
	var small, large []int
	for i, x := range w {
		sc[i] = x / sum * float64(n)
		if sc[i] < 1 {
			small = append(small, i)
		} else {
			large = append(large, i)
		}
	}
	for len(small) > 0 && len(large) > 0 {
		s, l := small[len(small)-1], large[len(large)-1]
		small = small[:len(small)-1]
		a.cut[s], a.alias[s] = sc[s], l
		sc[l] -= 1 - sc[s]
		if sc[l] < 1 {
			large = large[:len(large)-1]
			small = append(small, l)
		}
	}
	for _, i := range append(small, large...) {
		a.cut[i], a.alias[i] = 1, i
	}
	return a
}

func (a *aliasTable) draw(rng *rand.Rand) int {
	i := rng.IntN(len(a.cut))
	if rng.Float64() < a.cut[i] {
		return i
	}
	return a.alias[i]
}
