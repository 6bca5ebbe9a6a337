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
	br := bufio.NewReaderSize(f, 1<<16)
	if bom, err := br.Peek(3); err == nil && string(bom) == "\xEF\xBB\xBF" {
		br.Discard(3) // a UTF-8 byte-order mark (Excel's, PowerShell's) is not part of the header
	}
	r := csv.NewReader(br)
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
		if _, dup := at[h]; dup {
			at[h] = -2 // named twice: an error if mapped
			continue
		}
		at[h] = i
	}
	c := &csvReader{path: path, f: f, r: r, cols: cols, idx: make([]int, len(cols)), parts: make([]string, len(cols))}
	for i, col := range cols {
		j, ok := at[col.name]
		if j == -2 {
			f.Close()
			return nil, fmt.Errorf("ingest: %s: the header names column %q twice", path, col.name)
		}
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
			return rowErr(ReasonRow, "%v", pe.Err)
		}
		return fmt.Errorf("ingest: %s: %w", c.path, err)
	}
	var bad *RowError
	for i := range c.cols {
		col, out := &c.cols[i], &cells[i]
		out.reset()
		text := c.parts[i]
		if j := c.idx[i]; j >= 0 {
			if j >= len(rec) {
				if bad == nil {
					bad = rowErr(ReasonRow, "the row has %d fields", len(rec))
					bad.Column = col.name
				}
				continue
			}
			text = rec[j]
		}
		e := col.text(text, out)
		if e == nil {
			e = col.checkNull(out)
		}
		if e != nil && bad == nil {
			e.Column = col.name
			bad = e
		}
	}
	if bad != nil {
		return bad
	}
	return nil
}
