package ingest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// kind is how a mapped column is read.
type kind int

const (
	kID     kind = iota // an ID, through its space (see ids.go)
	kTime               // a time, converted to Unix milliseconds (see times.go)
	kNum                // a finite number
	kWatch              // a watch time: a finite number, ≥ 0, within float32
	kBool               // exactly 0, 1, true or false
	kTokens             // a list of tokens, or text of space-separated tokens
)

// column is one column to read from every file of a dataset.
type column struct {
	name     string
	kind     kind
	required bool      // a null is a rejected row
	space    *idSpace  // kID, kTokens
	commas   bool      // kTokens: text holding a comma splits at commas only (a catalogue "ids" column); other text at spaces
	time     *timeRule // kTime
}

// cell is one row's value of one column.
type cell struct {
	i    int64
	f    float64
	toks []int64
	null bool
}

func (c *cell) reset() { c.null, c.toks, c.i, c.f = false, c.toks[:0], 0, 0 }

// Reason names why a row was rejected; a Report counts rows by reason.
type Reason string

// The reasons a row is rejected.
const (
	ReasonNullID        Reason = "null ID"                       // a null user or video
	ReasonNotCanonical  Reason = "ID not a canonical integer"    // "007", "+7", " 7", "12.0" under id_type int
	ReasonIDRange       Reason = "ID out of range"               // beyond int64, or events.NullID itself
	ReasonIDLong        Reason = "ID too long"                   // text beyond events.MaxIDText bytes
	ReasonNull          Reason = "null value"                    // a null time or click
	ReasonTimeSyntax    Reason = "time not readable"             // text in no known form
	ReasonTimeRange     Reason = "time out of range"             // before 1900, after 2262, or overflowing
	ReasonTimeAmbiguous Reason = "time unit ambiguous"           // "auto" cannot tell the unit
	ReasonTimeFuture    Reason = "time after max_time"           // later than Options.MaxTime
	ReasonNumber        Reason = "not a finite number"           // unparseable, NaN or ±Inf
	ReasonNegative      Reason = "negative watch time"           //
	ReasonFloat32       Reason = "watch time beyond float32"     // finite as float64, +Inf as float32
	ReasonBool          Reason = "click not 0, 1, true or false" //
	ReasonNoWatchTime   Reason = "clicked without a watch time"  //
	ReasonRow           Reason = "malformed row"                 // CSV quoting, too few fields
	ReasonEmptyInList   Reason = "empty value in a list"         // "12,,60" or "12," in an ids column
	ReasonDuplicate     Reason = "listed again"                  // a second row of one video in the catalogue, or of one user in the user table (the first is kept)
)

// RowError is a rejected row: its file, its 1-based row number in that
// file (data rows, a CSV header excluded), the column, why (Reason) and
// what was seen (Msg, which starts with the reason).
type RowError struct {
	File   string
	Row    int64
	Column string
	Reason Reason
	Msg    string
}

func (e *RowError) Error() string {
	if e.Column == "" {
		return fmt.Sprintf("%s: row %d: %s", e.File, e.Row, e.Msg)
	}
	return fmt.Sprintf("%s: row %d: column %q: %s", e.File, e.Row, e.Column, e.Msg)
}

func rowErr(reason Reason, format string, a ...any) *RowError {
	return &RowError{Reason: reason, Msg: string(reason) + ": " + fmt.Sprintf(format, a...)}
}

// ErrMissingColumn is wrapped by the error for a mapped column a file does
// not have; the message names the column and the file.
var ErrMissingColumn = errors.New("missing column")

// ErrColumnType is wrapped by the error for a mapped column whose type
// cannot hold what it maps (a DOUBLE, list or struct column mapped as an
// ID, say); the message names the file, the column and its type.
var ErrColumnType = errors.New("wrong column type")

// ErrTooManyRejected is wrapped by the error for a file with more than
// Options.MaxRejected of its rows rejected; the message names the file and
// the top reason.
var ErrTooManyRejected = errors.New("too many rejected rows")

// Report counts what a read saw: data files, rows read, rows rejected (by
// reason, and the first MaxReported with file and row), and the 0-byte
// files skipped (the first MaxReported named).
type Report struct {
	Files      int
	Rows       int64
	Rejected   int64
	ByReason   map[Reason]int64
	First      []RowError
	Empty      int
	EmptyFiles []string
}

// MaxReported is how many rejected rows and empty files a Report names.
const MaxReported = 10

func (r *Report) reject(e *RowError) {
	r.Rejected++
	if r.ByReason == nil {
		r.ByReason = map[Reason]int64{}
	}
	r.ByReason[e.Reason]++
	if len(r.First) < MaxReported {
		r.First = append(r.First, *e)
	}
}

// Add merges another report into r.
func (r *Report) Add(o Report) {
	r.Files += o.Files
	r.Rows += o.Rows
	r.Rejected += o.Rejected
	for k, n := range o.ByReason {
		if r.ByReason == nil {
			r.ByReason = map[Reason]int64{}
		}
		r.ByReason[k] += n
	}
	for _, e := range o.First {
		if len(r.First) < MaxReported {
			r.First = append(r.First, e)
		}
	}
	r.Empty += o.Empty
	for _, f := range o.EmptyFiles {
		if len(r.EmptyFiles) < MaxReported {
			r.EmptyFiles = append(r.EmptyFiles, f)
		}
	}
}

// Reasons returns the reasons rows were rejected for, most rows first
// (ties by name).
func (r *Report) Reasons() []Reason {
	out := make([]Reason, 0, len(r.ByReason))
	for k := range r.ByReason {
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b Reason) int {
		return cmp.Or(cmp.Compare(r.ByReason[b], r.ByReason[a]), cmp.Compare(a, b))
	})
	return out
}

// Summary is one line: rows read and rejected, the count of each reason,
// and the first rejected row.
func (r *Report) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d rows read in %d files, %d rejected", r.Rows, r.Files, r.Rejected)
	for i, k := range r.Reasons() {
		sep := ", "
		if i == 0 {
			sep = ": "
		}
		fmt.Fprintf(&b, "%s%d %s", sep, r.ByReason[k], k)
	}
	if len(r.First) > 0 {
		fmt.Fprintf(&b, "; first: %v", &r.First[0])
	}
	if r.Empty > 0 {
		fmt.Fprintf(&b, "; %d empty files skipped", r.Empty)
	}
	return b.String()
}

// fileReader yields the rows of one file.
type fileReader interface {
	// next fills one cell per column with the next row; io.EOF at the end.
	// A *RowError is a rejected row (the reader has moved past it).
	next(cells []cell) error
	// row is the 1-based number of the row next returned last.
	row() int64
	close() error
}

// text reads a text value (a CSV cell, a Parquet string, a partition
// folder's value) into a cell.
func (c *column) text(s string, out *cell) *RowError {
	var bad *RowError
	switch c.kind {
	case kID:
		if nullText[s] {
			out.null = true
			return nil
		}
		out.i, bad = c.space.fromText(s)
	case kTokens:
		if nullText[s] {
			out.null = true
			return nil
		}
		fields := strings.Fields(s)
		if c.commas && strings.Contains(s, ",") {
			// A comma list: the values are between the commas (one may
			// hold a space: "hip hop,jazz" is two); none may be empty.
			fields = strings.Split(s, ",")
			for i, f := range fields {
				if fields[i] = strings.TrimSpace(f); fields[i] == "" {
					return rowErr(ReasonEmptyInList, "%q: value %d of the list is empty", s, i+1)
				}
			}
		}
		for _, f := range fields {
			id, bad := c.space.fromText(f)
			if bad != nil {
				return bad
			}
			out.toks = append(out.toks, id)
		}
	case kTime:
		s = strings.TrimSpace(s)
		if nullText[s] {
			out.null = true
			return nil
		}
		out.i, bad = c.time.text(s)
	case kNum, kWatch:
		s = strings.TrimSpace(s)
		if isNullNumber(s) {
			out.null = true
			return nil
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return rowErr(ReasonNumber, "%q", clip(s))
		}
		return c.number(v, out)
	case kBool:
		s = strings.TrimSpace(s)
		if nullText[s] {
			out.null = true
			return nil
		}
		switch strings.ToLower(s) {
		case "1", "true":
			out.i = 1
		case "0", "false":
			out.i = 0
		default:
			return rowErr(ReasonBool, "%q", clip(s))
		}
	}
	return bad
}

// number applies a number column's rule.
func (c *column) number(v float64, out *cell) *RowError {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return rowErr(ReasonNumber, "%v", v)
	}
	if c.kind == kWatch {
		if v < 0 {
			return rowErr(ReasonNegative, "%g", v)
		}
		if v > math.MaxFloat32 {
			return rowErr(ReasonFloat32, "%g seconds", v)
		}
	}
	out.f = v
	return nil
}

// boolean applies the click rule to an integer.
func (c *column) boolean(v int64, out *cell) *RowError {
	if v != 0 && v != 1 {
		return rowErr(ReasonBool, "%d", v)
	}
	out.i = v
	return nil
}

// checkNull turns a null in a required column into a rejection.
func (c *column) checkNull(out *cell) *RowError {
	if !out.null || !c.required {
		return nil
	}
	if c.kind == kID {
		return rowErr(ReasonNullID, "a null %s", strings.TrimSuffix(c.space.what, "s"))
	}
	return rowErr(ReasonNull, "null in a required column")
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// scan reads every row of a dataset, calling fn with the cells of each
// well-formed row. Rejected rows are counted in the report and skipped,
// or, with strict, the first one is the error; a file with more than
// maxRejected of its rows rejected is an error naming the file and the top
// reason. A missing column, a column of the wrong type, or a file that is
// not what its name says is an error naming the file.
func scan(ctx context.Context, ds *dataset, strict bool, maxRejected float64, rep *Report, fn func(cells []cell) error) error {
	rep.Files += len(ds.files)
	rep.Add(Report{Empty: len(ds.empty), EmptyFiles: ds.empty[:min(len(ds.empty), MaxReported)]})
	cells := make([]cell, len(ds.cols))
	for _, f := range ds.files {
		r, err := openFile(f, ds.cols, partitionValues(ds.path, f))
		if err != nil {
			return err
		}
		var frep Report
		err = scanFile(ctx, r, f, strict, &frep, cells, fn)
		rep.Add(Report{Rows: frep.Rows, Rejected: frep.Rejected, ByReason: frep.ByReason, First: frep.First})
		if cerr := r.close(); err == nil && cerr != nil {
			err = fmt.Errorf("ingest: %s: %w", f, cerr)
		}
		if err != nil {
			return err
		}
		if frep.Rejected > 0 && float64(frep.Rejected) > maxRejected*float64(frep.Rows) {
			top := frep.Reasons()[0]
			return fmt.Errorf("ingest: %s: %w: %d of %d rows (%.3g%%, more than the %.3g%% allowed by MaxRejected, -max-rejected); top reason %q (%d rows), first: %v",
				f, ErrTooManyRejected, frep.Rejected, frep.Rows, 100*float64(frep.Rejected)/float64(frep.Rows), 100*maxRejected, top, frep.ByReason[top], &frep.First[0])
		}
	}
	return nil
}

func scanFile(ctx context.Context, r fileReader, f string, strict bool, rep *Report, cells []cell, fn func(cells []cell) error) error {
	for {
		if rep.Rows%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		err := r.next(cells)
		if errors.Is(err, io.EOF) {
			return nil
		}
		rep.Rows++
		if err == nil {
			err = fn(cells)
		}
		var re *RowError
		if errors.As(err, &re) {
			re.File, re.Row = f, r.row()
			if strict {
				return re
			}
			rep.reject(re)
			continue
		}
		if err != nil {
			return err
		}
	}
}

// openFile opens a data file by its extension.
func openFile(path string, cols []column, parts map[string]string) (fileReader, error) {
	switch {
	case strings.HasSuffix(path, ".parquet"):
		return openParquet(path, cols, parts)
	case strings.HasSuffix(path, ".tsv"):
		return openCSV(path, cols, parts, '\t')
	default:
		return openCSV(path, cols, parts, ',')
	}
}
