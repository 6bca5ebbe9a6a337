package export

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"

	"github.com/ytdnn/ytdnn/candgen"
	"github.com/ytdnn/ytdnn/internal/binfmt"
)

// ErrFormat is wrapped by errors about malformed input files.
var ErrFormat = binfmt.ErrFormat

const npyMagic = "\x93NUMPY"

// npyHeader builds a version-1.0 header for descr and shape.
func npyHeader(descr string, shape []int) []byte {
	dims := make([]string, len(shape))
	for i, d := range shape {
		dims[i] = strconv.Itoa(d)
	}
	sh := strings.Join(dims, ", ")
	if len(shape) == 1 {
		sh += ","
	}
	dict := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", descr, sh)
	// magic (6) + version (2) + length (2) + dict + padding + '\n' ≡ 0 mod 64
	total := 10 + len(dict) + 1
	pad := (64 - total%64) % 64
	h := make([]byte, 0, total+pad)
	h = append(h, npyMagic...)
	h = append(h, 1, 0)
	h = binary.LittleEndian.AppendUint16(h, uint16(len(dict)+pad+1))
	h = append(h, dict...)
	for i := 0; i < pad; i++ {
		h = append(h, ' ')
	}
	return append(h, '\n')
}

// checkShape reports a shape that n values do not fill.
func checkShape(n int, shape []int) error {
	p := 1
	for _, d := range shape {
		if d < 0 {
			return fmt.Errorf("negative dimension in shape %v", shape)
		}
		p *= d
	}
	if len(shape) == 0 || p != n {
		return fmt.Errorf("%d values do not fill shape %v", n, shape)
	}
	return nil
}

// writeNPY writes an .npy file of shape whose elements are size bytes,
// put encoding one of them.
func writeNPY[T any](w io.Writer, descr string, size int, data []T, shape []int, put func([]byte, T)) error {
	if err := checkShape(len(data), shape); err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	if _, err := bw.Write(npyHeader(descr, shape)); err != nil {
		return err
	}
	var b [8]byte
	for _, v := range data {
		put(b[:size], v)
		if _, err := bw.Write(b[:size]); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// WriteNPYFloat32 writes data as a float32 ('<f4') array of the given
// shape (row-major), e.g. (n, d) for n vectors of d floats.
func WriteNPYFloat32(w io.Writer, data []float32, shape ...int) error {
	if err := writeNPY(w, "<f4", 4, data, shape, func(b []byte, v float32) { binary.LittleEndian.PutUint32(b, math.Float32bits(v)) }); err != nil {
		return fmt.Errorf("export: writing .npy: %w", err)
	}
	return nil
}

// WriteNPYInt64 writes data as an int64 ('<i8') array of the given shape.
func WriteNPYInt64(w io.Writer, data []int64, shape ...int) error {
	if err := writeNPY(w, "<i8", 8, data, shape, func(b []byte, v int64) { binary.LittleEndian.PutUint64(b, uint64(v)) }); err != nil {
		return fmt.Errorf("export: writing .npy: %w", err)
	}
	return nil
}

// WriteNPYInt32 writes data as an int32 ('<i4') array of the given shape.
func WriteNPYInt32(w io.Writer, data []int32, shape ...int) error {
	if err := writeNPY(w, "<i4", 4, data, shape, func(b []byte, v int32) { binary.LittleEndian.PutUint32(b, uint32(v)) }); err != nil {
		return fmt.Errorf("export: writing .npy: %w", err)
	}
	return nil
}

var (
	descrRe = regexp.MustCompile(`'descr':\s*'([^']*)'`)
	orderRe = regexp.MustCompile(`'fortran_order':\s*(True|False)`)
	shapeRe = regexp.MustCompile(`'shape':\s*\(([^)]*)\)`)
)

// maxNPYElems bounds the elements a read allocates for (2^31).
const maxNPYElems = 1 << 31

// readNPYHeader reads an .npy header and returns its descr and shape.
func readNPYHeader(r io.Reader) (string, []int, error) {
	var pre [10]byte
	if _, err := io.ReadFull(r, pre[:8]); err != nil {
		return "", nil, fmt.Errorf("%w: short .npy header", ErrFormat)
	}
	if string(pre[:6]) != npyMagic {
		return "", nil, fmt.Errorf("%w: not an .npy file", ErrFormat)
	}
	var hlen int
	switch pre[6] {
	case 1:
		if _, err := io.ReadFull(r, pre[8:10]); err != nil {
			return "", nil, fmt.Errorf("%w: short .npy header", ErrFormat)
		}
		hlen = int(binary.LittleEndian.Uint16(pre[8:10]))
	case 2, 3:
		var l [4]byte
		if _, err := io.ReadFull(r, l[:]); err != nil {
			return "", nil, fmt.Errorf("%w: short .npy header", ErrFormat)
		}
		hlen = int(binary.LittleEndian.Uint32(l[:]))
	default:
		return "", nil, fmt.Errorf("%w: .npy version %d.%d", ErrFormat, pre[6], pre[7])
	}
	if hlen > 1<<16 {
		return "", nil, fmt.Errorf("%w: .npy header of %d bytes", ErrFormat, hlen)
	}
	h := make([]byte, hlen)
	if _, err := io.ReadFull(r, h); err != nil {
		return "", nil, fmt.Errorf("%w: short .npy header", ErrFormat)
	}
	dict := string(h)
	d, o, s := descrRe.FindStringSubmatch(dict), orderRe.FindStringSubmatch(dict), shapeRe.FindStringSubmatch(dict)
	if d == nil || o == nil || s == nil {
		return "", nil, fmt.Errorf("%w: .npy header %q", ErrFormat, dict)
	}
	if o[1] != "False" {
		return "", nil, fmt.Errorf("%w: Fortran-order .npy arrays are not read", ErrFormat)
	}
	var shape []int
	total := 1
	for _, f := range strings.Split(s[1], ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		v, err := strconv.Atoi(f)
		if err != nil || v < 0 || (v > 0 && total > maxNPYElems/v) {
			return "", nil, fmt.Errorf("%w: .npy shape (%s)", ErrFormat, s[1])
		}
		total *= v
		shape = append(shape, v)
	}
	return d[1], shape, nil
}

func elems(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// readData reads n elements of size bytes each in chunks (a header that
// claims more than the file holds allocates only what arrives).
func readData(r io.Reader, n, size int, put func(b []byte)) error {
	var buf [4096]byte
	per := len(buf) / size
	for n > 0 {
		k := min(n, per)
		if _, err := io.ReadFull(r, buf[:k*size]); err != nil {
			return fmt.Errorf("%w: .npy data truncated", ErrFormat)
		}
		for i := 0; i < k; i++ {
			put(buf[i*size : (i+1)*size])
		}
		n -= k
	}
	return nil
}

// ReadNPYFloat32 reads a '<f4' array and its shape. A malformed file is an
// error wrapping ErrFormat.
func ReadNPYFloat32(r io.Reader) ([]float32, []int, error) {
	descr, shape, err := readNPYHeader(r)
	if err != nil {
		return nil, nil, fmt.Errorf("export: %w", err)
	}
	if descr != "<f4" {
		return nil, nil, fmt.Errorf("export: %w: .npy dtype %q, want '<f4'", ErrFormat, descr)
	}
	n := elems(shape)
	out := make([]float32, 0, min(n, 1<<20))
	if err := readData(r, n, 4, func(b []byte) { out = append(out, math.Float32frombits(binary.LittleEndian.Uint32(b))) }); err != nil {
		return nil, nil, fmt.Errorf("export: %w", err)
	}
	return out, shape, nil
}

// ReadNPYInt64 reads a '<i8' (or '<i4', widened) array and its shape. A
// malformed file is an error wrapping ErrFormat.
func ReadNPYInt64(r io.Reader) ([]int64, []int, error) {
	descr, shape, err := readNPYHeader(r)
	if err != nil {
		return nil, nil, fmt.Errorf("export: %w", err)
	}
	n := elems(shape)
	out := make([]int64, 0, min(n, 1<<20))
	switch descr {
	case "<i8":
		err = readData(r, n, 8, func(b []byte) { out = append(out, int64(binary.LittleEndian.Uint64(b))) })
	case "<i4":
		err = readData(r, n, 4, func(b []byte) { out = append(out, int64(int32(binary.LittleEndian.Uint32(b)))) })
	default:
		return nil, nil, fmt.Errorf("export: %w: .npy dtype %q, want '<i8' or '<i4'", ErrFormat, descr)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("export: %w", err)
	}
	return out, shape, nil
}

// Row is one exported item in Parquet: its id and its vector.
type Row struct {
	ID     int64     `parquet:"id"`
	Vector []float32 `parquet:"vector,list"`
}

// WriteParquet writes ids with their vectors (len(ids)·dim floats,
// row-major) as Parquet: an INT64 `id` column and a LIST<FLOAT> `vector`
// column, zstd-compressed, 64k rows per row group.
func WriteParquet(w io.Writer, ids []int64, vectors []float32, dim int) error {
	if dim < 1 || len(vectors) != len(ids)*dim {
		return fmt.Errorf("export: %d floats are not %d vectors of dimension %d", len(vectors), len(ids), dim)
	}
	if err := writeParquet(w, ids, vectors, dim); err != nil {
		return fmt.Errorf("export: writing Parquet: %w", err)
	}
	return nil
}

func writeParquet(w io.Writer, ids []int64, vectors []float32, dim int) error {
	pw := parquet.NewGenericWriter[Row](w, parquet.Compression(&zstd.Codec{}), parquet.MaxRowsPerRowGroup(1<<16))
	rows := make([]Row, 0, 1024)
	for i := 0; i < len(ids); i += 1024 {
		rows = rows[:0]
		for k := i; k < min(i+1024, len(ids)); k++ {
			rows = append(rows, Row{ID: ids[k], Vector: vectors[k*dim : (k+1)*dim]})
		}
		if _, err := pw.Write(rows); err != nil {
			return err
		}
	}
	return pw.Close()
}

// ReadParquet reads a file WriteParquet wrote (or any with an INT64 `id`
// and a list-of-float `vector` column of one length): ids, row-major
// vectors and their dimension. Vectors of different lengths, or a file the
// Parquet reader panics on, are an error wrapping ErrFormat; the Parquet
// reader's own errors (a file that is not Parquet, an I/O error) are
// wrapped as they are.
func ReadParquet(r io.ReaderAt, size int64) (ids []int64, vectors []float32, dim int, err error) {
	ids, vectors, dim, err = readParquet(r, size)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("export: reading Parquet: %w", err)
	}
	return ids, vectors, dim, nil
}

// readParquet is ReadParquet with a bare error.
func readParquet(r io.ReaderAt, size int64) (ids []int64, vectors []float32, dim int, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: %v", ErrFormat, p)
		}
	}()
	rd := parquet.NewGenericReader[Row](readerAtSize{r, size})
	defer func() {
		if cerr := rd.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	buf := make([]Row, 1024)
	dim = -1
	for {
		n, rerr := rd.Read(buf)
		for _, row := range buf[:n] {
			if dim < 0 {
				dim = len(row.Vector)
			}
			if len(row.Vector) != dim {
				return nil, nil, 0, fmt.Errorf("%w: vectors of dimensions %d and %d", ErrFormat, dim, len(row.Vector))
			}
			ids = append(ids, row.ID)
			vectors = append(vectors, row.Vector...)
		}
		if errors.Is(rerr, io.EOF) {
			break
		}
		if rerr != nil {
			return nil, nil, 0, rerr
		}
	}
	return ids, vectors, max(dim, 0), nil
}

type readerAtSize struct {
	io.ReaderAt
	size int64
}

func (r readerAtSize) Size() int64 { return r.size }

// ModelItems returns a candidate-generation model's items as an engine
// indexes them: every in-vocabulary video's raw ID and its vector
// [v_j, b_j] (dim = D+1 floats, row-major). A user's query is then
// [u, 1] (candgen.Model.UserVectors, then a 1 appended), so the inner
// product is the model's logit v_j·u + b_j. The vectors alias the model:
// do not modify them.
func ModelItems(m *candgen.Model) (ids []int64, vectors []float32, dim int) {
	vecs, ids := m.Items()
	return ids, vecs, m.D() + 1
}
