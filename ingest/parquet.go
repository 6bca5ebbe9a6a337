package ingest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/deprecated"
	"github.com/parquet-go/parquet-go/format"
)

// pqColumn is a mapped column's leaf in a Parquet file, or a value from
// the file's partition folders.
type pqColumn struct {
	leaf     *parquet.Column
	fromPath string // the partition value when the file has no such column
	msUnit   int64  // for TIMESTAMP columns: divisor to milliseconds (0: not one)
	isInt96  bool
	vals     []parquet.Value // the current row group's values
	pos      int             // next value
}

// maxGroupValues bounds the values of one column in one row group (a
// row group of Spark's default 128 MiB holds far fewer).
const maxGroupValues = 1 << 28

// pqReader reads a Parquet file one row group at a time: every mapped
// column's values of the group are decoded (dictionaries resolved, pages
// decompressed by the library), then rows are assembled from them, so
// memory is bounded by the row group, not the file.
type pqReader struct {
	path  string
	f     *os.File
	pf    *parquet.File
	cols  []column
	pcols []pqColumn
	group int   // next row group
	left  int64 // rows left in the loaded group
	rows  int64
}

func openParquet(path string, cols []column, parts map[string]string) (fileReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	pf, err := openParquetFile(f, st.Size())
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("ingest: %s is not a readable Parquet file: %w", path, err)
	}
	r := &pqReader{path: path, f: f, pf: pf, cols: cols, pcols: make([]pqColumn, len(cols))}
	for i, c := range cols {
		leaf, err := findLeaf(pf.Root(), c.name)
		if err != nil {
			if v, ok := parts[c.name]; ok {
				r.pcols[i].fromPath = v
				continue
			}
			f.Close()
			return nil, fmt.Errorf("ingest: %s: %w %q", path, ErrMissingColumn, c.name)
		}
		r.pcols[i].leaf = leaf
		if leaf.Type().Kind() == parquet.Int96 {
			r.pcols[i].isInt96 = true
		}
		r.pcols[i].msUnit = timestampDivisor(leaf)
	}
	return r, nil
}

// openParquetFile opens the file, turning a panic of the decoder on a
// hostile footer into an error.
func openParquetFile(f *os.File, size int64) (pf *parquet.File, err error) {
	// parquet-go allocates the footer's claimed length (up to 4 GiB) before
	// reading it: check the claim against the file first, so a corrupt or
	// hostile file costs nothing.
	var tail [8]byte
	if size < 12 {
		return nil, fmt.Errorf("%d bytes is too short for Parquet", size)
	}
	if _, err := f.ReadAt(tail[:], size-8); err != nil {
		return nil, err
	}
	if footer := int64(binary.LittleEndian.Uint32(tail[:4])); footer > size-12 {
		return nil, fmt.Errorf("footer length %d exceeds the file (%d bytes)", footer, size)
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("corrupt file: %v", r)
		}
	}()
	return parquet.OpenFile(f, size, parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
}

// findLeaf finds a top-level field by name and descends to its single
// leaf (a LIST's element, say).
func findLeaf(root *parquet.Column, name string) (*parquet.Column, error) {
	c := root.Column(name)
	if c == nil {
		return nil, ErrMissingColumn
	}
	for !c.Leaf() {
		kids := c.Columns()
		if len(kids) != 1 {
			return nil, fmt.Errorf("column %q is a group of %d fields, not a value or a list", name, len(kids))
		}
		c = kids[0]
	}
	return c, nil
}

// timestampDivisor is what divides a TIMESTAMP column's integers into
// milliseconds (1 for MILLIS, 1000 for MICROS, 10⁶ for NANOS), 0 when the
// column is not a timestamp.
func timestampDivisor(c *parquet.Column) int64 {
	t := c.Type()
	if lt := t.LogicalType(); lt != nil {
		if ts, ok := lt.Value.(*format.TimestampType); ok {
			switch ts.Unit.Value.(type) {
			case *format.MilliSeconds:
				return 1
			case *format.MicroSeconds:
				return 1000
			case *format.NanoSeconds:
				return 1_000_000
			}
		}
	}
	if ct := t.ConvertedType(); ct != nil {
		switch *ct {
		case deprecated.TimestampMillis:
			return 1
		case deprecated.TimestampMicros:
			return 1000
		}
	}
	return 0
}

func (r *pqReader) row() int64 { return r.rows }

func (r *pqReader) close() error { return r.f.Close() }

// load decodes the mapped columns of the next row group.
func (r *pqReader) load() (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("ingest: %s: corrupt row group %d: %v", r.path, r.group, p)
		}
	}()
	groups := r.pf.RowGroups()
	if r.group >= len(groups) {
		return io.EOF
	}
	g := groups[r.group]
	r.group++
	r.left = g.NumRows()
	chunks := g.ColumnChunks()
	for i := range r.pcols {
		pc := &r.pcols[i]
		pc.vals, pc.pos = pc.vals[:0], 0
		if pc.leaf == nil {
			continue
		}
		pages := chunks[pc.leaf.Index()].Pages()
		for {
			p, err := pages.ReadPage()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				pages.Close()
				return fmt.Errorf("ingest: %s: row group %d, column %q: %w", r.path, r.group-1, r.cols[i].name, err)
			}
			// Values are read in chunks, so a page header claiming more
			// values than the page holds allocates nothing for them.
			vr := p.Values()
			var chunk [1024]parquet.Value
			for {
				got, err := vr.ReadValues(chunk[:])
				for k := range chunk[:got] {
					v := chunk[k]
					if v.Kind() == parquet.ByteArray || v.Kind() == parquet.FixedLenByteArray {
						v = v.Clone() // it points into the page's buffer
					}
					pc.vals = append(pc.vals, v)
				}
				if errors.Is(err, io.EOF) || (err == nil && got == 0) {
					break
				}
				if err != nil {
					parquet.Release(p)
					pages.Close()
					return fmt.Errorf("ingest: %s: row group %d, column %q: %w", r.path, r.group-1, r.cols[i].name, err)
				}
				if len(pc.vals) > maxGroupValues {
					parquet.Release(p)
					pages.Close()
					return fmt.Errorf("ingest: %s: row group %d, column %q holds more than %d values", r.path, r.group-1, r.cols[i].name, maxGroupValues)
				}
			}
			parquet.Release(p)
		}
		pages.Close()
	}
	return nil
}

func (r *pqReader) next(cells []cell) error {
	for r.left == 0 {
		if err := r.load(); err != nil {
			return err
		}
	}
	r.left--
	r.rows++
	var bad *RowError
	for i := range r.pcols {
		pc, c := &r.pcols[i], &r.cols[i]
		out := &cells[i]
		out.null, out.toks, out.i, out.f = false, out.toks[:0], 0, 0
		if pc.leaf == nil {
			if err := parseText(c, pc.fromPath, out); err != nil && bad == nil {
				bad = &RowError{File: r.path, Row: r.rows, Column: c.name, Msg: err.Error()}
			}
			continue
		}
		// The row's values: the first, then those continuing it
		// (repetition level > 0) for lists.
		if pc.pos >= len(pc.vals) {
			return fmt.Errorf("ingest: %s: column %q ends before row %d", r.path, c.name, r.rows)
		}
		first := pc.pos
		pc.pos++
		for pc.pos < len(pc.vals) && pc.vals[pc.pos].RepetitionLevel() > 0 {
			pc.pos++
		}
		vals := pc.vals[first:pc.pos]
		if err := r.convert(pc, c, vals, out); err != nil && bad == nil {
			bad = &RowError{File: r.path, Row: r.rows, Column: c.name, Msg: err.Error()}
		}
		if out.null && c.required && bad == nil {
			bad = &RowError{File: r.path, Row: r.rows, Column: c.name, Msg: "null in a required column"}
		}
	}
	if bad != nil {
		return bad
	}
	return nil
}

// convert reads a row's values of one column into a cell.
func (r *pqReader) convert(pc *pqColumn, c *column, vals []parquet.Value, out *cell) error {
	if c.kind == kTokens && pc.leaf.MaxRepetitionLevel() > 0 {
		for _, v := range vals {
			if v.IsNull() {
				continue
			}
			switch v.Kind() {
			case parquet.Int32, parquet.Int64:
				out.toks = append(out.toks, v.Int64())
			case parquet.ByteArray:
				out.toks = append(out.toks, ParseID(string(v.ByteArray())))
			default:
				return fmt.Errorf("tokens of type %v", v.Kind())
			}
		}
		return nil
	}
	v := vals[0]
	if v.IsNull() {
		out.null = true
		return nil
	}
	if v.Kind() == parquet.ByteArray {
		return parseText(c, string(v.ByteArray()), out)
	}
	switch c.kind {
	case kID:
		switch v.Kind() {
		case parquet.Int32, parquet.Int64:
			out.i = v.Int64()
		default:
			return fmt.Errorf("an ID of type %v", v.Kind())
		}
	case kTime:
		switch {
		case pc.isInt96:
			out.i = int96Millis(v.Int96())
		case v.Kind() == parquet.Int32 || v.Kind() == parquet.Int64:
			if pc.msUnit > 0 {
				out.i = floorDiv(v.Int64(), pc.msUnit)
			} else {
				out.i = toMillis(v.Int64(), c.unit)
			}
		default:
			return fmt.Errorf("a time of type %v", v.Kind())
		}
	case kNum:
		switch v.Kind() {
		case parquet.Int32, parquet.Int64:
			out.f = float64(v.Int64())
		case parquet.Float:
			out.f = float64(v.Float())
		case parquet.Double:
			out.f = v.Double()
		case parquet.Boolean:
			out.f = b2f(v.Boolean())
		default:
			return fmt.Errorf("a number of type %v", v.Kind())
		}
		if math.IsNaN(out.f) || math.IsInf(out.f, 0) {
			return fmt.Errorf("%v is not finite", out.f)
		}
	case kBool:
		switch v.Kind() {
		case parquet.Boolean:
			out.i = int64(b2f(v.Boolean()))
		case parquet.Int32, parquet.Int64:
			out.i = int64(b2f(v.Int64() != 0))
		default:
			return fmt.Errorf("a boolean of type %v", v.Kind())
		}
	case kTokens:
		switch v.Kind() {
		case parquet.Int32, parquet.Int64:
			out.toks = append(out.toks, v.Int64())
		default:
			return fmt.Errorf("tokens of type %v", v.Kind())
		}
	}
	return nil
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// int96Millis converts Spark's legacy INT96 timestamp (nanoseconds of the
// day, then the Julian day) to Unix milliseconds.
func int96Millis(v deprecated.Int96) int64 {
	nanos := int64(v[0]) | int64(v[1])<<32
	day := int64(v[2]) - 2_440_588 // Julian day of 1970-01-01
	return day*86_400_000 + nanos/1_000_000
}
