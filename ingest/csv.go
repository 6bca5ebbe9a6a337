package ingest

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
)

// csvReader reads a CSV or TSV file whose first line names the columns.
type csvReader struct {
	path  string
	f     *os.File
	r     *csv.Reader
	cols  []column
	idx   []int    // per mapped column: its field, or -1 (from a partition folder)
	parts []string // per mapped column: the partition value when idx is -1
	rows  int64
}

func openCSV(path string, cols []column, parts map[string]string, comma rune) (fileReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	r := csv.NewReader(bufio.NewReaderSize(f, 1<<16))
	r.Comma = comma
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	if comma == '\t' {
		r.LazyQuotes = true
	}
	head, err := r.Read()
	if err != nil {
		f.Close()
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("ingest: %s is empty (no header line)", path)
		}
		return nil, fmt.Errorf("ingest: %s: header: %w", path, err)
	}
	at := map[string]int{}
	for i, h := range head {
		at[h] = i
	}
	c := &csvReader{path: path, f: f, r: r, cols: cols, idx: make([]int, len(cols)), parts: make([]string, len(cols))}
	for i, col := range cols {
		j, ok := at[col.name]
		if !ok {
			v, inPath := parts[col.name]
			if !inPath {
				f.Close()
				return nil, fmt.Errorf("ingest: %s: %w %q", path, ErrMissingColumn, col.name)
			}
			j, c.parts[i] = -1, v
		}
		c.idx[i] = j
	}
	return c, nil
}

func (c *csvReader) row() int64 { return c.rows }

func (c *csvReader) close() error { return c.f.Close() }

func (c *csvReader) next(cells []cell) error {
	rec, err := c.r.Read()
	if errors.Is(err, io.EOF) {
		return io.EOF
	}
	c.rows++
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return &RowError{File: c.path, Row: c.rows, Msg: pe.Err.Error()}
		}
		return fmt.Errorf("ingest: %s: %w", c.path, err)
	}
	var bad *RowError
	for i := range c.cols {
		col, out := &c.cols[i], &cells[i]
		out.null, out.toks, out.i, out.f = false, out.toks[:0], 0, 0
		text := c.parts[i]
		if j := c.idx[i]; j >= 0 {
			if j >= len(rec) {
				if bad == nil {
					bad = &RowError{File: c.path, Row: c.rows, Column: col.name, Msg: fmt.Sprintf("row has %d fields", len(rec))}
				}
				continue
			}
			text = rec[j]
		}
		if err := parseText(col, text, out); err != nil && bad == nil {
			bad = &RowError{File: c.path, Row: c.rows, Column: col.name, Msg: err.Error()}
		}
		if out.null && col.required && bad == nil {
			bad = &RowError{File: c.path, Row: c.rows, Column: col.name, Msg: "null in a required column"}
		}
	}
	if bad != nil {
		return bad
	}
	return nil
}
