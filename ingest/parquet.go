package ingest

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"os"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

// valType is how a Parquet leaf's values are read, from its physical and
// logical types.
type valType uint8

const (
	vOther     valType = iota // nothing ingest reads (TIME, INTERVAL, JSON, ...)
	vInt                      // INT32/INT64, signed
	vUint                     // INT32/INT64 annotated unsigned
	vText                     // BYTE_ARRAY: STRING, ENUM or unannotated
	vUUID                     // FIXED_LEN_BYTE_ARRAY(16) UUID: its canonical text
	vFloat                    // FLOAT, DOUBLE
	vBool                     // BOOLEAN
	vInt96                    // Spark's legacy INT96 timestamp
	vDate                     // DATE: days since 1970-01-01
	vTimestamp                // TIMESTAMP(MILLIS|MICROS|NANOS)
	vDecimal                  // DECIMAL(p, s) of any physical type
)

// pqColumn is a mapped column's leaf in a Parquet file, or a value from
// the file's partition folders.
type pqColumn struct {
	leaf     *parquet.Column
	fromPath string // the partition value when the file has no such column
	vt       valType
	div      int64           // vTimestamp: units per millisecond
	local    bool            // vTimestamp: not adjusted to UTC (a wall clock)
	scale    int32           // vDecimal
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
	for i := range cols {
		c, pc := &cols[i], &r.pcols[i]
		top := pf.Root().Column(c.name)
		if top == nil {
			if v, ok := parts[c.name]; ok {
				pc.fromPath = v
				continue
			}
			f.Close()
			return nil, fmt.Errorf("ingest: %s: %w %q", path, ErrMissingColumn, c.name)
		}
		leaf, err := leafFor(top, c.kind)
		if err == nil {
			pc.leaf = leaf
			err = pc.classify(c.kind)
		}
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("ingest: %s: column %q: %w: %v", path, c.name, ErrColumnType, err)
		}
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

// leafFor returns the leaf a column of kind k is read from: the column
// itself, a single value per row, for every kind but tokens, which may also
// be a LIST (or a repeated leaf). A list, map or struct where one value is
// wanted is an error saying what the column is.
func leafFor(top *parquet.Column, k kind) (*parquet.Column, error) {
	if top.Leaf() {
		if top.Repeated() && k != kTokens {
			return nil, fmt.Errorf("a repeated %v (a list), not one value per row", top.Type())
		}
		return top, nil
	}
	what := "a struct"
	if lt := top.Type().LogicalType(); lt != nil {
		switch lt.Value.(type) {
		case *format.ListType:
			what = "a list"
		case *format.MapType:
			what = "a map"
		}
	}
	if k != kTokens || what == "a map" {
		return nil, fmt.Errorf("%s, not one value per row", what)
	}
	// Tokens: a LIST, or a legacy list (a group around a repeated leaf).
	c := top
	for !c.Leaf() {
		kids := c.Columns()
		if len(kids) != 1 {
			return nil, fmt.Errorf("a list of structs of %d fields, not of values", len(kids))
		}
		c = kids[0]
	}
	if c.MaxRepetitionLevel() == 0 {
		return nil, fmt.Errorf("%s, not a list of tokens", what)
	}
	return c, nil
}

// classify sets how the leaf's values are read and checks that a column of
// kind k can hold them.
func (pc *pqColumn) classify(k kind) error {
	t := pc.leaf.Type()
	pc.vt = vOther
	switch t.Kind() {
	case parquet.Boolean:
		pc.vt = vBool
	case parquet.Int32, parquet.Int64:
		pc.vt = vInt
	case parquet.Int96:
		pc.vt = vInt96
	case parquet.Float, parquet.Double:
		pc.vt = vFloat
	case parquet.ByteArray:
		pc.vt = vText
	}
	if lt := t.LogicalType(); lt != nil && lt.Value != nil {
		switch v := lt.Value.(type) {
		case *format.StringType, *format.EnumType:
		case *format.IntType:
			if !v.IsSigned {
				pc.vt = vUint
			}
		case *format.UUIDType:
			pc.vt = vUUID
		case *format.DecimalType:
			pc.vt, pc.scale = vDecimal, v.Scale
		case *format.DateType:
			pc.vt = vDate
		case *format.TimestampType:
			pc.vt, pc.local = vTimestamp, !v.IsAdjustedToUTC
			switch v.Unit.Value.(type) {
			case *format.MilliSeconds:
				pc.div = 1
			case *format.MicroSeconds:
				pc.div = 1000
			case *format.NanoSeconds:
				pc.div = 1_000_000
			default:
				pc.vt = vOther
			}
		default: // TIME, JSON, BSON, INTERVAL, NULL, ...
			pc.vt = vOther
		}
	}
	ok := false
	switch k {
	case kID, kTokens:
		ok = pc.vt == vInt || pc.vt == vUint || pc.vt == vText || pc.vt == vUUID
	case kTime:
		ok = pc.vt == vInt || pc.vt == vUint || pc.vt == vText || pc.vt == vFloat || pc.vt == vInt96 || pc.vt == vDate || pc.vt == vTimestamp
	case kNum, kWatch:
		ok = pc.vt == vInt || pc.vt == vUint || pc.vt == vText || pc.vt == vFloat || pc.vt == vDecimal || pc.vt == vBool
	case kBool:
		ok = pc.vt == vBool || pc.vt == vInt || pc.vt == vUint || pc.vt == vText
	}
	if !ok {
		return fmt.Errorf("%v, not %s", t, kindWant[k])
	}
	return nil
}

var kindWant = map[kind]string{
	kID:     "an ID (an integer or text column)",
	kTokens: "tokens (integers or text, or a list of them)",
	kTime:   "a time (TIMESTAMP, DATE, INT96, an integer or number in time_unit, or text)",
	kNum:    "a number",
	kWatch:  "a number",
	kBool:   "a click (BOOLEAN, 0/1 or text)",
}

// idTypeOf is what a Parquet column says of the IDs it holds: integers,
// text, or nothing (the column cannot hold IDs: reading it fails later,
// naming it).
func idTypeOf(top *parquet.Column, k kind) idType {
	leaf, err := leafFor(top, k)
	if err != nil {
		return idUnknown
	}
	pc := pqColumn{leaf: leaf}
	if pc.classify(k) != nil {
		return idUnknown
	}
	if pc.vt == vInt || pc.vt == vUint {
		return idInt
	}
	return idText
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
		out.reset()
		var e *RowError
		if pc.leaf == nil {
			e = c.text(pc.fromPath, out)
		} else {
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
			e = r.convert(pc, c, pc.vals[first:pc.pos], out)
		}
		if e == nil {
			e = c.checkNull(out)
		}
		if e != nil && bad == nil {
			e.Column = c.name
			bad = e
		}
	}
	if bad != nil {
		return bad
	}
	return nil
}

// id is the ID in space of one non-null value of an ID or token column
// (integer, UUID or text: what openColumn lets such a column be).
func (pc *pqColumn) id(space *idSpace, v parquet.Value) (int64, *RowError) {
	switch pc.vt {
	case vInt:
		return space.fromInt(intOf(v))
	case vUint:
		return space.fromUint(uintOf(v))
	case vUUID:
		return space.fromText(uuidText(v.ByteArray()))
	default:
		return space.fromText(string(v.ByteArray()))
	}
}

// convert reads a row's values of one column into a cell.
func (r *pqReader) convert(pc *pqColumn, c *column, vals []parquet.Value, out *cell) *RowError {
	if c.kind == kTokens && pc.leaf.MaxRepetitionLevel() > 0 {
		// A list: each element is one token.
		for _, v := range vals {
			if v.IsNull() {
				continue
			}
			id, bad := pc.id(c.space, v)
			if bad != nil {
				return bad
			}
			out.toks = append(out.toks, id)
		}
		return nil
	}
	v := vals[0]
	if v.IsNull() {
		out.null = true
		return nil
	}
	if pc.vt == vText {
		return c.text(string(v.ByteArray()), out)
	}
	var bad *RowError
	switch c.kind {
	case kTokens: // one integer token
		var id int64
		id, bad = pc.id(c.space, v)
		out.toks = append(out.toks, id)
	case kID:
		out.i, bad = pc.id(c.space, v)
	case kTime:
		switch pc.vt {
		case vInt:
			out.i, bad = c.time.integer(intOf(v))
		case vUint:
			u := uintOf(v)
			if u > math.MaxInt64 {
				return rowErr(ReasonTimeRange, "%d is outside int64", u)
			}
			out.i, bad = c.time.integer(int64(u))
		case vFloat:
			out.i, bad = c.time.float(floatOf(v))
		case vInt96:
			w := v.Int96()
			out.i, bad = c.time.check(int96Millis(w[0], w[1], w[2]))
		case vDate:
			out.i, bad = c.time.date(intOf(v))
		case vTimestamp:
			ms := floorDiv(intOf(v), pc.div)
			if pc.local {
				ms = c.time.inZone(ms)
			}
			out.i, bad = c.time.check(ms)
		}
	case kNum, kWatch:
		var f float64
		switch pc.vt {
		case vInt:
			f = float64(intOf(v))
		case vUint:
			f = float64(uintOf(v))
		case vFloat:
			f = floatOf(v)
		case vBool:
			f = b2f(v.Boolean())
		case vDecimal:
			f = decimalOf(v, pc.scale)
		}
		return c.number(f, out)
	case kBool:
		switch pc.vt {
		case vBool:
			out.i = int64(b2f(v.Boolean()))
		case vInt:
			return c.boolean(intOf(v), out)
		case vUint:
			u := uintOf(v)
			if u > 1 {
				return rowErr(ReasonBool, "%d", u)
			}
			out.i = int64(u)
		}
	}
	return bad
}

// intOf reads a signed INT32 or INT64 value.
func intOf(v parquet.Value) int64 {
	if v.Kind() == parquet.Int32 {
		return int64(v.Int32())
	}
	return v.Int64()
}

// uintOf reads an unsigned INT32 or INT64 value.
func uintOf(v parquet.Value) uint64 {
	if v.Kind() == parquet.Int32 {
		return uint64(v.Uint32())
	}
	return v.Uint64()
}

func floatOf(v parquet.Value) float64 {
	if v.Kind() == parquet.Float {
		return float64(v.Float())
	}
	return v.Double()
}

// decimalOf reads a DECIMAL value (an integer, or big-endian two's
// complement bytes, scaled by 10^-scale) as the nearest float64.
func decimalOf(v parquet.Value, scale int32) float64 {
	var n big.Int
	switch v.Kind() {
	case parquet.Int32, parquet.Int64:
		n.SetInt64(intOf(v))
	default:
		b := v.ByteArray()
		n.SetBytes(b)
		if len(b) > 0 && b[0]&0x80 != 0 { // negative: subtract 2^(8·len)
			n.Sub(&n, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
		}
	}
	q := new(big.Rat).SetInt(&n)
	if scale > 0 {
		q.Quo(q, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil)))
	}
	f, _ := q.Float64()
	return f
}

// uuidText is a UUID's canonical text (lower-case 8-4-4-4-12 hex).
func uuidText(b []byte) string {
	if len(b) != 16 {
		return hex.EncodeToString(b)
	}
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
