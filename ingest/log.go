package ingest

import (
	"bufio"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/ytdnn/ytdnn/events"
)

// Options configure Build.
type Options struct {
	// TempDir holds the spill files [os.TempDir()]; their size is in the
	// package doc ("Grouping by user with bounded memory"). Log.Close
	// removes them.
	TempDir string
	// PartitionEvents is the number of events per spill partition [1<<19]:
	// one partition is held in memory while it is sorted (about 100 bytes
	// an event).
	PartitionEvents int
	// Strict makes the first malformed row an error instead of a counted
	// rejection.
	Strict bool
}

// Log is a watch log and (optionally) an impression log, partitioned by
// hash(user) into spill files on disk and sorted by (user, time) within
// each, so every user's events can be read in time order with memory
// bounded by one partition while sorting and one user while reading.
// Close removes the files.
type Log struct {
	dir   string
	parts []string
	// Watches and Impressions count the events kept.
	Watches, Impressions int64
	// Start and End are the first and last event times (Unix ms).
	Start, End int64
	// WatchReport and ImpressionReport count what the readers saw.
	WatchReport, ImpressionReport Report
	// HasImpressions is whether the data directory had an impression log.
	HasImpressions bool
	// SpillBytes is the size of the sorted spill files.
	SpillBytes int64
}

// Build reads the logs the spec maps under dataDir (the impression log only
// if its folder exists), spills their events into partitions by
// hash(user), and sorts each partition. Malformed rows are counted in the
// reports (or, with Strict, the first is the error); a missing column, a
// truncated or non-Parquet file is an error naming the file.
func Build(ctx context.Context, dataDir string, spec Spec, opt Options) (lg *Log, err error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	if opt.PartitionEvents <= 0 {
		opt.PartitionEvents = 1 << 19
	}
	dir, err := os.MkdirTemp(opt.TempDir, "ytdnn-spill-")
	if err != nil {
		return nil, err
	}
	lg = &Log{dir: dir, Start: math.MaxInt64, End: math.MinInt64}
	cleanup := lg
	defer func() {
		if err != nil {
			cleanup.Close()
		}
	}()
	watchPath := filepath.Join(dataDir, spec.Watches.Path)
	impPath := filepath.Join(dataDir, spec.Impressions.Path)
	_, statErr := os.Stat(impPath)
	lg.HasImpressions = statErr == nil
	est, err := estimateRows(watchPath)
	if err != nil {
		return nil, err
	}
	if lg.HasImpressions {
		n, err := estimateRows(impPath)
		if err != nil {
			return nil, err
		}
		est += n
	}
	p := int(min(max((est+int64(opt.PartitionEvents)-1)/int64(opt.PartitionEvents), 1), 1024))
	sp, err := newSpiller(dir, p)
	if err != nil {
		return nil, err
	}
	defer sp.close()
	add := func(e *events.Event) error {
		lg.Start, lg.End = min(lg.Start, e.Time), max(lg.End, e.Time)
		return sp.add(e)
	}
	if lg.WatchReport, err = readWatches(ctx, watchPath, &spec, opt.Strict, func(e *events.Event) error {
		lg.Watches++
		return add(e)
	}); err != nil {
		return nil, err
	}
	if lg.HasImpressions {
		if lg.ImpressionReport, err = readImpressions(ctx, impPath, &spec, opt.Strict, func(e *events.Event) error {
			lg.Impressions++
			return add(e)
		}); err != nil {
			return nil, err
		}
	}
	if lg.Watches == 0 {
		return nil, fmt.Errorf("ingest: no watch in %s", watchPath)
	}
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

// estimateRows guesses a dataset's rows: Parquet footers' counts, 32 bytes
// a row of CSV.
func estimateRows(path string) (int64, error) {
	files, err := listFiles(path)
	if err != nil {
		return 0, err
	}
	var n int64
	for _, f := range files {
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
	}
	return n, nil
}

// ReadWatches reads the watch log the spec maps under dataDir, calling fn
// with each well-formed row's event (reused after fn returns). Malformed
// rows are counted in the report, or with strict the first is the error.
func ReadWatches(ctx context.Context, dataDir string, spec Spec, strict bool, fn func(*events.Event) error) (Report, error) {
	if err := spec.Validate(); err != nil {
		return Report{}, err
	}
	return readWatches(ctx, filepath.Join(dataDir, spec.Watches.Path), &spec, strict, fn)
}

// readWatches reads the watch log into events.
func readWatches(ctx context.Context, path string, s *Spec, strict bool, emit func(*events.Event) error) (Report, error) {
	w := &s.Watches
	cols := []column{{name: w.User, kind: kID, required: true}, {name: w.Item, kind: kID, required: true}, {name: w.Time, kind: kTime, required: true, unit: w.TimeUnit}}
	tok := -1
	if w.SearchTokens != "" {
		tok = len(cols)
		cols = append(cols, column{name: w.SearchTokens, kind: kTokens})
	}
	first := len(cols)
	for _, f := range w.UserFeatures {
		k := kID
		if f.Kind == events.KindContinuous {
			k = kNum
		}
		cols = append(cols, column{name: f.Column, kind: k})
	}
	e := events.Event{Kind: events.Watch}
	return scan(ctx, path, cols, strict, func(c []cell) error {
		e.User, e.Item, e.Time = c[0].i, c[1].i, c[2].i
		e.Tokens = e.Tokens[:0]
		if tok >= 0 {
			e.Tokens = append(e.Tokens, c[tok].toks...)
		}
		e.Feats = e.Feats[:0]
		for i := first; i < len(cols); i++ {
			e.Feats = append(e.Feats, events.Feat{ID: c[i].i, Num: c[i].f}) // a null reads as 0 (OOV, or the value 0)
		}
		return emit(&e)
	})
}

// readImpressions reads the impression log into events.
func readImpressions(ctx context.Context, path string, s *Spec, strict bool, emit func(*events.Event) error) (Report, error) {
	m := &s.Impressions
	cols := []column{
		{name: m.User, kind: kID, required: true}, {name: m.Item, kind: kID, required: true},
		{name: m.Time, kind: kTime, required: true, unit: m.TimeUnit}, {name: m.Clicked, kind: kBool, required: true},
		{name: m.WatchTime, kind: kNum},
	}
	e := events.Event{Kind: events.Impression}
	return scan(ctx, path, cols, strict, func(c []cell) error {
		e.User, e.Item, e.Time, e.Clicked = c[0].i, c[1].i, c[2].i, c[3].i != 0
		e.WatchTime = 0
		if e.Clicked {
			if c[4].null {
				return &RowError{Column: m.WatchTime, Msg: "a clicked impression without a watch time"}
			}
			if c[4].f < 0 {
				return &RowError{Column: m.WatchTime, Msg: fmt.Sprintf("negative watch time %g", c[4].f)}
			}
			e.WatchTime = float32(c[4].f)
		}
		return emit(&e)
	})
}

// ReadCatalogue reads the catalogue the spec maps under dataDir; a missing
// catalogue folder gives an empty catalogue (videos without features).
func ReadCatalogue(ctx context.Context, dataDir string, spec Spec, strict bool) (*events.Catalogue, Report, error) {
	if err := spec.Validate(); err != nil {
		return nil, Report{}, err
	}
	c := &events.Catalogue{Features: spec.Catalogue.Features, Items: map[int64][]events.Feat{}}
	path := filepath.Join(dataDir, spec.Catalogue.Path)
	if _, err := os.Stat(path); err != nil {
		return c, Report{}, nil
	}
	cols := []column{{name: spec.Catalogue.Item, kind: kID, required: true}}
	for _, f := range spec.Catalogue.Features {
		k := kID
		switch f.Kind {
		case events.KindContinuous:
			k = kNum
		case events.KindTime:
			k = kTime
		}
		cols = append(cols, column{name: f.Column, kind: k, unit: spec.Catalogue.TimeUnit})
	}
	rep, err := scan(ctx, path, cols, strict, func(cells []cell) error {
		fs := make([]events.Feat, len(cells)-1)
		for i := range fs {
			fs[i] = events.Feat{ID: cells[i+1].i, Num: cells[i+1].f}
			if cols[i+1].kind == kTime {
				fs[i] = events.Feat{Num: float64(cells[i+1].i)}
			}
		}
		c.Items[cells[0].i] = fs
		return nil
	})
	return c, rep, err
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
