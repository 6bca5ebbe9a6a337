package ingest

import (
	"bufio"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ytdnn/ytdnn/events"
)

// DefaultMaxRejected is the share of a file's rows that may be rejected
// before a read fails (Options.MaxRejected).
const DefaultMaxRejected = 0.01

// DefaultFutureSlack is how far past the wall clock at the start of a read
// the default Options.MaxTime lies.
const DefaultFutureSlack = 24 * time.Hour

// Options configure Build and ReadWatches.
type Options struct {
	// TempDir holds the spill files [os.TempDir()]; their size is in the
	// package doc ("Grouping by user with bounded memory"). Log.Close
	// removes them, and Build removes them itself when it fails.
	TempDir string
	// PartitionEvents is the number of events per spill partition [1<<19]:
	// one partition is held in memory while it is sorted (about 100 bytes
	// an event).
	PartitionEvents int
	// Strict makes the first rejected row an error.
	Strict bool
	// MaxRejected is the share of any one file's rows that may be
	// rejected: a file with more (a whole file or column unreadable, say)
	// fails the read, naming the file and the top reason
	// [DefaultMaxRejected, 1%]; 1 never fails. It must lie in [0, 1]; 0
	// takes the default (use Strict to allow no rejected row).
	MaxRejected float64
	// MaxTime is the latest time a row may carry: later rows (a clock
	// gone wrong, a year 2100 typo) are rejected as ReasonTimeFuture, so
	// they never move the end of the window [the wall clock at the start
	// of the read + DefaultFutureSlack]. Catalogue times (upload times)
	// are held to it too.
	MaxTime time.Time
	// MinTime, when set, bounds the read from below (a warm-started run's
	// look-back window): watches and impressions before it are skipped
	// (counted in Log.BeforeMinTime, not rejected), and a data file under a
	// daily partition folder dt=YYYY-MM-DD whose day ended two days or
	// more before MinTime (a margin for time zones) is not opened at all
	// (Log.FilesBeforeMinTime). The catalogue and the user table are read
	// whole.
	MinTime time.Time
	// Until, when set, bounds the read from above by event time (a run for
	// a past day): watches and impressions at or after it are skipped
	// (Log.AfterUntil, not rejected), and a data file under a daily
	// partition folder that began two days or more after it is not opened
	// (Log.FilesAfterUntil). Rows that arrived late but carry an earlier
	// time are read; the catalogue and the user table are read whole.
	Until time.Time
	// Dicts, when set, are the dictionaries of an earlier read (a model
	// directory's ids.dict) that this read continues: a text ID keeps the
	// code it had there, a new text gets the next free one. A warm-started
	// run and an evaluation of a model read with the model's dictionaries,
	// so that codes never depend on which files a read opened. A space
	// that was text there must be text here.
	Dicts *events.Dicts
}

// window is a read's [MinTime, Until) in Unix ms, open where unset.
type window struct{ lo, hi int64 }

func (o *Options) window() window {
	w := window{math.MinInt64, math.MaxInt64}
	if !o.MinTime.IsZero() {
		w.lo = o.MinTime.UnixMilli()
	}
	if !o.Until.IsZero() {
		w.hi = o.Until.UnixMilli()
	}
	return w
}

// outside reports whether t lies outside w, counting it in before or
// after.
func (w window) outside(t int64, before, after *int64) bool {
	switch {
	case t < w.lo:
		*before++
	case t >= w.hi:
		*after++
	default:
		return false
	}
	return true
}

func (o *Options) defaults() error {
	if o.PartitionEvents <= 0 {
		o.PartitionEvents = 1 << 19
	}
	if math.IsNaN(o.MaxRejected) || o.MaxRejected < 0 || o.MaxRejected > 1 {
		return fmt.Errorf("ingest: MaxRejected %v must lie in [0, 1]", o.MaxRejected)
	}
	if o.MaxRejected == 0 {
		o.MaxRejected = DefaultMaxRejected
	}
	if o.MaxTime.IsZero() {
		o.MaxTime = time.Now().Add(DefaultFutureSlack)
	}
	return nil
}

// Log is a watch log, (optionally) an impression log and a catalogue: the
// events partitioned by hash(user) into spill files on disk and sorted by
// (user, time) within each, so every user's events can be read in time
// order with memory bounded by one partition while sorting and one user
// while reading; the catalogue and the text IDs' dictionaries in memory.
// Close removes the files.
type Log struct {
	dir   string
	parts []string
	// Watches and Impressions count the events kept.
	Watches, Impressions int64
	// Start and End are the first and last event times (Unix ms).
	Start, End int64
	// WatchReport, ImpressionReport and CatalogueReport count what the
	// readers saw.
	WatchReport, ImpressionReport, CatalogueReport, UsersReport Report
	// HasImpressions is whether the data directory had an impression log.
	HasImpressions bool
	// Catalogue holds each video's features (empty without a catalogue
	// folder).
	Catalogue *events.Catalogue
	// UserTable holds each user's attributes from the user table (empty
	// without one).
	UserTable *events.UserTable
	// Dicts maps the text IDs of every text space to the IDs in the events
	// and the catalogue, and back; store it with the model (see the
	// package doc, # IDs).
	Dicts *events.Dicts
	// SpillBytes is the size of the sorted spill files.
	SpillBytes int64
	// BeforeMinTime counts the watches and impressions skipped for being
	// before Options.MinTime; FilesBeforeMinTime the files of daily
	// partitions not opened for it.
	BeforeMinTime      int64
	FilesBeforeMinTime int
	// AfterUntil and FilesAfterUntil count the same for Options.Until.
	AfterUntil      int64
	FilesAfterUntil int
}

// read is one read of a data directory: the spec, the options, the ID
// spaces and the datasets.
type read struct {
	spec  *Spec
	opt   Options
	ids   *spaces
	watch *dataset
	imp   *dataset // nil without an impression log
	cat   *dataset // nil without a catalogue
	users *dataset // nil without a user table
	// pruned and prunedAfter count the files of daily partitions left
	// out for MinTime and for Until.
	pruned, prunedAfter int
}

// newRead validates the spec and options, lists the datasets (the
// impression log and the catalogue only if their folders exist), and
// settles each ID space's type from the spec and every Parquet file's
// column types before any row is read. It returns the rows the Parquet
// footers count (CSV: 32 bytes a row).
func newRead(dataDir string, spec Spec, opt Options, withImp, withCat bool) (*read, int64, error) {
	if err := spec.Validate(); err != nil {
		return nil, 0, err
	}
	if err := opt.defaults(); err != nil {
		return nil, 0, err
	}
	rd := &read{spec: &spec, opt: opt, ids: newSpaces(&spec)}
	var err error
	if !spec.Watches.FromImpressions {
		if rd.watch, err = listDataset(filepath.Join(dataDir, spec.Watches.Path)); err != nil {
			return nil, 0, err
		}
	}
	// A table is optional until the spec maps columns of it: then a
	// missing one (a misspelt path, say) is an error, never a run without
	// its features.
	optional := func(path string, mapped bool) (*dataset, error) {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) && !mapped {
			return nil, nil
		}
		return listDataset(path)
	}
	switch {
	case spec.Watches.FromImpressions:
		if rd.imp, err = listDataset(filepath.Join(dataDir, spec.Impressions.Path)); err != nil {
			return nil, 0, err
		}
	case withImp:
		if rd.imp, err = optional(filepath.Join(dataDir, spec.Impressions.Path), false); err != nil {
			return nil, 0, err
		}
	}
	if withCat {
		if rd.cat, err = optional(filepath.Join(dataDir, spec.Catalogue.Path), len(spec.Catalogue.Features) > 0); err != nil {
			return nil, 0, err
		}
		if rd.users, err = optional(filepath.Join(dataDir, spec.Users.Path), len(spec.Users.Features) > 0); err != nil {
			return nil, 0, err
		}
	}
	max := opt.MaxTime.UnixMilli()
	rule := func(f TimeFormat) *timeRule {
		r, _ := newTimeRule(f.TimeUnit, f.TimeLayout, f.TimeZone, max) // Validate checked them
		return r
	}
	w, im, c := &spec.Watches, &spec.Impressions, &spec.Catalogue
	if rd.watch != nil {
		rd.watch.cols = []column{
			{name: w.User, kind: kID, required: true, space: rd.ids.users},
			{name: w.Item, kind: kID, required: true, space: rd.ids.videos},
			{name: w.Time, kind: kTime, required: true, time: rule(w.TimeFormat)},
		}
		if w.SearchTokens != "" {
			rd.watch.cols = append(rd.watch.cols, column{name: w.SearchTokens, kind: kTokens, space: rd.ids.tokens})
		}
		rd.watch.cols = append(rd.watch.cols, rd.featureColumns(w.UserFeatures, nil)...)
	}
	if rd.imp != nil {
		rd.imp.cols = []column{
			{name: im.User, kind: kID, required: true, space: rd.ids.users},
			{name: im.Item, kind: kID, required: true, space: rd.ids.videos},
			{name: im.Time, kind: kTime, required: true, time: rule(im.TimeFormat)},
			{name: im.Clicked, kind: kBool, required: true},
			{name: im.WatchTime, kind: kWatch},
		}
		rd.imp.cols = append(rd.imp.cols, rd.featureColumns(im.Features, nil)...)
	}
	if rd.users != nil {
		rd.users.cols = append([]column{{name: spec.Users.User, kind: kID, required: true, space: rd.ids.users}},
			rd.featureColumns(spec.Users.Features, nil)...)
	}
	if rd.cat != nil {
		rd.cat.cols = append([]column{{name: c.Item, kind: kID, required: true, space: rd.ids.videos}},
			rd.featureColumns(c.Features, rule(c.TimeFormat))...)
	}
	for _, ds := range []*dataset{rd.watch, rd.imp} {
		if ds != nil {
			ds.files, rd.pruned, rd.prunedAfter = prunePartitions(ds.path, ds.files, opt.MinTime, opt.Until, rd.pruned, rd.prunedAfter)
		}
	}
	est, err := rd.prescan()
	if err != nil {
		return nil, 0, err
	}
	rd.ids.continueDicts(opt.Dicts)
	if err := rd.ids.resolve(); err != nil {
		return nil, 0, err
	}
	return rd, est, nil
}

func (rd *read) featureColumns(fs []events.Column, tr *timeRule) []column {
	var out []column
	for _, f := range fs {
		c := column{name: f.Column}
		switch f.Kind {
		case events.KindID:
			c.kind, c.space = kID, rd.ids.feats[f.Column]
		case events.KindIDs:
			c.kind, c.space, c.commas = kTokens, rd.ids.feats[f.Column], true
		case events.KindTime:
			c.kind, c.time = kTime, tr
		default:
			c.kind = kNum
		}
		out = append(out, c)
	}
	return out
}

// prescan reads every Parquet footer: it counts the rows and records each
// ID column's type in its space.
func (rd *read) prescan() (int64, error) {
	var n int64
	for _, ds := range []*dataset{rd.watch, rd.imp, rd.cat, rd.users} {
		if ds == nil {
			continue
		}
		for _, f := range ds.files {
			st, err := os.Stat(f)
			if err != nil {
				return 0, err
			}
			if !strings.HasSuffix(f, ".parquet") {
				n += st.Size() / 32
				continue
			}
			fh, err := os.Open(f)
			if err != nil {
				return 0, err
			}
			pf, err := openParquetFile(fh, st.Size())
			fh.Close()
			if err != nil {
				return 0, fmt.Errorf("ingest: %s is not a readable Parquet file: %w", f, err)
			}
			n += pf.NumRows()
			for _, c := range ds.cols {
				if c.space == nil || c.space.declared {
					continue
				}
				if top := pf.Root().Column(c.name); top != nil {
					if t := idTypeOf(top, c.kind); t != idUnknown {
						c.space.observe(t, f, c.name)
					}
				}
			}
		}
	}
	return n, nil
}

// Build reads the logs the spec maps under dataDir — the watch log, the
// impression log and the catalogue, the last two only if their folders
// exist —, spills the events into partitions by hash(user), and sorts
// each partition. Rejected rows are counted in the reports (or, with
// Strict, the first is the error); a file with more than
// Options.MaxRejected of its rows rejected, a missing column, a column of
// the wrong type, a truncated or non-Parquet file is an error naming the
// file, and so is a log where no watch remains (with the count of each
// reason). On any error, the spill files are removed.
func Build(ctx context.Context, dataDir string, spec Spec, opt Options) (lg *Log, err error) {
	rd, est, err := newRead(dataDir, spec, opt, true, true)
	if err != nil {
		return nil, err
	}
	opt = rd.opt
	dir, err := os.MkdirTemp(opt.TempDir, "ytdnn-spill-")
	if err != nil {
		return nil, err
	}
	lg = &Log{dir: dir, Start: math.MaxInt64, End: math.MinInt64, HasImpressions: rd.imp != nil}
	cleanup := lg
	defer func() {
		if err != nil {
			cleanup.Close()
		}
	}()
	p := int(min(max((est+int64(opt.PartitionEvents)-1)/int64(opt.PartitionEvents), 1), 1024))
	sp, err := newSpiller(dir, p)
	if err != nil {
		return nil, err
	}
	defer sp.close()
	lg.FilesBeforeMinTime, lg.FilesAfterUntil = rd.pruned, rd.prunedAfter
	win := opt.window()
	add := func(e *events.Event) error {
		lg.Start, lg.End = min(lg.Start, e.Time), max(lg.End, e.Time)
		return sp.add(e)
	}
	if rd.watch != nil {
		if err := rd.readWatches(ctx, &lg.WatchReport, func(e *events.Event) error {
			if win.outside(e.Time, &lg.BeforeMinTime, &lg.AfterUntil) {
				return nil
			}
			lg.Watches++
			return add(e)
		}); err != nil {
			return nil, err
		}
	}
	if rd.imp != nil {
		w := &rd.spec.Watches
		watch := events.Event{Kind: events.Watch}
		if err := rd.readImpressions(ctx, &lg.ImpressionReport, func(e *events.Event) error {
			if win.outside(e.Time, &lg.BeforeMinTime, &lg.AfterUntil) {
				return nil
			}
			lg.Impressions++
			if err := add(e); err != nil || !w.FromImpressions || !e.Clicked || float64(e.WatchTime) < w.MinWatchSeconds {
				return err
			}
			// A watch made of a clicked impression: after it at the same
			// time (impressions sort first).
			watch.User, watch.Item, watch.Time = e.User, e.Item, e.Time
			lg.Watches++
			return add(&watch)
		}); err != nil {
			return nil, err
		}
	}
	if lg.Watches == 0 {
		if w := &rd.spec.Watches; w.FromImpressions {
			return nil, fmt.Errorf("ingest: no clicked impression with at least %g s of watch time in %s: %s", w.MinWatchSeconds, rd.imp.path, lg.ImpressionReport.Summary())
		}
		return nil, fmt.Errorf("ingest: no watch in %s: %s", rd.watch.path, lg.WatchReport.Summary())
	}
	if lg.Catalogue, err = rd.readCatalogue(ctx, &lg.CatalogueReport); err != nil {
		return nil, err
	}
	users, err := rd.readTable(ctx, rd.users, rd.spec.Users.Features, &lg.UsersReport, "user")
	if err != nil {
		return nil, err
	}
	lg.UserTable = &events.UserTable{Features: users.Features, Items: users.Items}
	if err := sp.close(); err != nil {
		return nil, err
	}
	for _, raw := range sp.paths {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		sorted := raw + ".sorted"
		n, err := sortPartition(raw, sorted)
		if err != nil {
			return nil, err
		}
		lg.SpillBytes += n
		lg.parts = append(lg.parts, sorted)
		if err := os.Remove(raw); err != nil {
			return nil, err
		}
	}
	lg.Dicts = rd.ids.dicts()
	return lg, nil
}

// Close removes the spill files.
func (l *Log) Close() error { return os.RemoveAll(l.dir) }

// EachUser calls fn with every user's events in time order (impressions
// before watches at equal times), user by user. Users come partition by
// partition (partitions by hash(user)), by ascending user ID within a
// partition.
func (l *Log) EachUser(ctx context.Context, fn func(evs []events.Event) error) error {
	it := l.Users()
	defer it.Close()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		evs, err := it.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := fn(evs); err != nil {
			return err
		}
	}
}

// Users returns a pull iterator over the users, in EachUser's order.
func (l *Log) Users() *UserIter { return &UserIter{l: l} }

// UserIter yields one user's events at a time (see EachUser). Not safe for
// concurrent use.
type UserIter struct {
	l       *Log
	part    int // next partition to open
	f       *os.File
	r       *bufio.Reader
	pending *events.Event // first event of the next user
	evs     []events.Event
}

// Next returns the next user's events, in time order, or io.EOF after the
// last user. The slice is reused by the next call; the events are not.
func (it *UserIter) Next() ([]events.Event, error) {
	it.evs = it.evs[:0]
	for {
		if it.r == nil {
			if it.part >= len(it.l.parts) {
				if len(it.evs) > 0 {
					return it.evs, nil
				}
				return nil, io.EOF
			}
			f, err := os.Open(it.l.parts[it.part])
			if err != nil {
				return nil, err
			}
			it.f, it.r = f, bufio.NewReaderSize(f, 1<<16)
			it.part++
		}
		if it.pending != nil {
			it.evs = append(it.evs, *it.pending)
			it.pending = nil
		}
		for {
			var e events.Event
			err := decodeEvent(it.r, &e)
			if errors.Is(err, io.EOF) {
				it.f.Close()
				it.f, it.r = nil, nil
				if len(it.evs) > 0 {
					return it.evs, nil // a user never spans partitions
				}
				break
			}
			if err != nil {
				return nil, fmt.Errorf("ingest: spill file %s: %w", it.f.Name(), err)
			}
			if len(it.evs) > 0 && it.evs[0].User != e.User {
				it.pending = &e
				return it.evs, nil
			}
			it.evs = append(it.evs, e)
		}
	}
}

// Close releases the open spill file.
func (it *UserIter) Close() error {
	if it.f != nil {
		err := it.f.Close()
		it.f, it.r = nil, nil
		return err
	}
	return nil
}

// ReadWatches reads the watch log the spec maps under dataDir, calling fn
// with each well-formed row's event (reused after fn returns), and returns
// the dictionaries of its text IDs. Rejected rows are counted in the
// report, or with Strict the first is the error; MaxRejected and MaxTime
// apply as in Build.
func ReadWatches(ctx context.Context, dataDir string, spec Spec, opt Options, fn func(*events.Event) error) (*events.Dicts, Report, error) {
	var rep Report
	if spec.Watches.FromImpressions {
		return nil, rep, errors.New("ingest: ReadWatches: the spec's watches come from the impressions (use Build)")
	}
	rd, _, err := newRead(dataDir, spec, opt, false, false)
	if err != nil {
		return nil, rep, err
	}
	win := opt.window()
	var before, after int64
	err = rd.readWatches(ctx, &rep, func(e *events.Event) error {
		if win.outside(e.Time, &before, &after) {
			return nil
		}
		return fn(e)
	})
	return rd.ids.dicts(), rep, err
}

// readWatches reads the watch log into events.
func (rd *read) readWatches(ctx context.Context, rep *Report, emit func(*events.Event) error) error {
	w := &rd.spec.Watches
	tok := -1
	if w.SearchTokens != "" {
		tok = 3
	}
	first := len(rd.watch.cols) - len(w.UserFeatures)
	e := events.Event{Kind: events.Watch}
	return scan(ctx, rd.watch, rd.opt.Strict, rd.opt.MaxRejected, rep, func(c []cell) error {
		e.User, e.Item, e.Time = c[0].i, c[1].i, c[2].i
		e.Tokens = e.Tokens[:0]
		if tok >= 0 {
			e.Tokens = append(e.Tokens, c[tok].toks...)
		}
		e.Feats = e.Feats[:0]
		for i := first; i < len(c); i++ {
			e.Feats = append(e.Feats, feat(&rd.watch.cols[i], &c[i]))
		}
		return emit(&e)
	})
}

// feat is a feature cell's value: a null ID is events.NullID, a null
// number 0.
func feat(col *column, c *cell) events.Feat {
	switch {
	case col.kind == kTokens && c.null:
		return events.Feat{}
	case col.kind == kTokens:
		return events.Feat{IDs: slices.Clone(c.toks)}
	case col.kind == kID && c.null:
		return events.Feat{ID: events.NullID}
	case col.kind == kID:
		return events.Feat{ID: c.i}
	case col.kind == kTime && c.null:
		return events.Feat{ID: events.NullID} // unknown: the layout reads age 0, never 1970
	case col.kind == kTime:
		return events.Feat{Num: float64(c.i)}
	}
	return events.Feat{Num: c.f}
}

// readImpressions reads the impression log into events.
func (rd *read) readImpressions(ctx context.Context, rep *Report, emit func(*events.Event) error) error {
	m := &rd.spec.Impressions
	e := events.Event{Kind: events.Impression}
	scale := 1.0
	if m.WatchTimeUnit == "ms" {
		scale = 1e-3
	}
	return scan(ctx, rd.imp, rd.opt.Strict, rd.opt.MaxRejected, rep, func(c []cell) error {
		e.User, e.Item, e.Time, e.Clicked = c[0].i, c[1].i, c[2].i, c[3].i != 0
		e.WatchTime = 0
		if e.Clicked {
			if c[4].null {
				return &RowError{Column: m.WatchTime, Reason: ReasonNoWatchTime, Msg: string(ReasonNoWatchTime)}
			}
			e.WatchTime = float32(c[4].f * scale)
		}
		e.Feats = e.Feats[:0]
		for i := 5; i < len(c); i++ {
			e.Feats = append(e.Feats, feat(&rd.imp.cols[i], &c[i]))
		}
		return emit(&e)
	})
}

// readCatalogue reads the catalogue (empty without one).
func (rd *read) readCatalogue(ctx context.Context, rep *Report) (*events.Catalogue, error) {
	return rd.readTable(ctx, rd.cat, rd.spec.Catalogue.Features, rep, "video")
}

// readTable reads a table of one row per key (the catalogue, the user
// table; empty when ds is nil): a second row of a key is a rejected row,
// the first kept.
func (rd *read) readTable(ctx context.Context, ds *dataset, features []events.Column, rep *Report, what string) (*events.Catalogue, error) {
	c := &events.Catalogue{Features: features, Items: map[int64][]events.Feat{}}
	if ds == nil {
		return c, nil
	}
	cols := ds.cols
	err := scan(ctx, ds, rd.opt.Strict, rd.opt.MaxRejected, rep, func(cells []cell) error {
		if _, dup := c.Items[cells[0].i]; dup {
			return rowErr(ReasonDuplicate, "%s %d has a row already", what, cells[0].i)
		}
		fs := make([]events.Feat, len(cells)-1)
		for i := range fs {
			fs[i] = feat(&cols[i+1], &cells[i+1])
		}
		c.Items[cells[0].i] = fs
		return nil
	})
	return c, err
}

// spiller writes events into partition files by hash(user).
type spiller struct {
	paths []string
	files []*os.File
	ws    []*bufio.Writer
	buf   []byte
}

func newSpiller(dir string, p int) (*spiller, error) {
	s := &spiller{}
	for i := 0; i < p; i++ {
		path := filepath.Join(dir, fmt.Sprintf("part-%05d", i))
		f, err := os.Create(path)
		if err != nil {
			s.close()
			return nil, err
		}
		s.paths, s.files, s.ws = append(s.paths, path), append(s.files, f), append(s.ws, bufio.NewWriterSize(f, 32<<10))
	}
	return s, nil
}

// mix is splitmix64's finalizer: user IDs that are small consecutive
// integers still spread over the partitions.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

func (s *spiller) add(e *events.Event) error {
	s.buf = appendEvent(s.buf[:0], e)
	_, err := s.ws[mix(uint64(e.User))%uint64(len(s.ws))].Write(s.buf)
	return err
}

func (s *spiller) close() error {
	var first error
	for i, f := range s.files {
		if f == nil {
			continue
		}
		if err := s.ws[i].Flush(); err != nil && first == nil {
			first = err
		}
		if err := f.Close(); err != nil && first == nil {
			first = err
		}
		s.files[i] = nil
	}
	return first
}

// sortPartition reads a partition, sorts it by (user, time, kind) and writes
// it to dst; it returns dst's size.
func sortPartition(src, dst string) (int64, error) {
	f, err := os.Open(src)
	if err != nil {
		return 0, err
	}
	r := bufio.NewReaderSize(f, 1<<16)
	var evs []events.Event
	for {
		var e events.Event
		err := decodeEvent(r, &e)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			f.Close()
			return 0, fmt.Errorf("ingest: spill file %s: %w", src, err)
		}
		evs = append(evs, e)
	}
	f.Close()
	slices.SortStableFunc(evs, func(a, b events.Event) int {
		if c := cmp.Compare(a.User, b.User); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Time, b.Time); c != 0 {
			return c
		}
		return cmp.Compare(a.Kind, b.Kind)
	})
	out, err := os.Create(dst)
	if err != nil {
		return 0, err
	}
	w := bufio.NewWriterSize(out, 1<<16)
	var buf []byte
	var n int64
	for i := range evs {
		buf = appendEvent(buf[:0], &evs[i])
		n += int64(len(buf))
		if _, err := w.Write(buf); err != nil {
			out.Close()
			return 0, err
		}
	}
	if err := w.Flush(); err != nil {
		out.Close()
		return 0, err
	}
	return n, out.Close()
}

// appendEvent encodes an event: varints for the integers, the watch time's
// float32 bits, counts before the tokens and features.
func appendEvent(b []byte, e *events.Event) []byte {
	b = binary.AppendVarint(b, e.User)
	b = binary.AppendVarint(b, e.Time)
	b = binary.AppendVarint(b, e.Item)
	flags := byte(e.Kind)
	if e.Clicked {
		flags |= 2
	}
	b = append(b, flags)
	if e.Clicked {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(e.WatchTime))
	}
	b = binary.AppendUvarint(b, uint64(len(e.Tokens)))
	for _, t := range e.Tokens {
		b = binary.AppendVarint(b, t)
	}
	b = binary.AppendUvarint(b, uint64(len(e.Feats)))
	for _, f := range e.Feats {
		b = binary.AppendVarint(b, f.ID)
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(f.Num))
	}
	return b
}

// maxSpillList bounds a decoded token or feature count (the files are our
// own, but a bound keeps a damaged one from allocating without limit).
const maxSpillList = 1 << 20

func decodeEvent(r *bufio.Reader, e *events.Event) error {
	var err error
	if e.User, err = binary.ReadVarint(r); err != nil {
		return err // io.EOF between events is the end
	}
	fail := func(err error) error {
		if errors.Is(err, io.EOF) {
			return io.ErrUnexpectedEOF
		}
		return err
	}
	if e.Time, err = binary.ReadVarint(r); err != nil {
		return fail(err)
	}
	if e.Item, err = binary.ReadVarint(r); err != nil {
		return fail(err)
	}
	flags, err := r.ReadByte()
	if err != nil {
		return fail(err)
	}
	e.Kind, e.Clicked, e.WatchTime = events.Kind(flags&1), flags&2 != 0, 0
	var b [8]byte
	if e.Clicked {
		if _, err := io.ReadFull(r, b[:4]); err != nil {
			return fail(err)
		}
		e.WatchTime = math.Float32frombits(binary.LittleEndian.Uint32(b[:4]))
	}
	n, err := binary.ReadUvarint(r)
	if err != nil || n > maxSpillList {
		return fail(cmp.Or(err, errors.New("token count out of range")))
	}
	e.Tokens = e.Tokens[:0]
	for i := uint64(0); i < n; i++ {
		t, err := binary.ReadVarint(r)
		if err != nil {
			return fail(err)
		}
		e.Tokens = append(e.Tokens, t)
	}
	if n, err = binary.ReadUvarint(r); err != nil || n > maxSpillList {
		return fail(cmp.Or(err, errors.New("feature count out of range")))
	}
	e.Feats = e.Feats[:0]
	for i := uint64(0); i < n; i++ {
		id, err := binary.ReadVarint(r)
		if err != nil {
			return fail(err)
		}
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return fail(err)
		}
		e.Feats = append(e.Feats, events.Feat{ID: id, Num: math.Float64frombits(binary.LittleEndian.Uint64(b[:]))})
	}
	return nil
}
