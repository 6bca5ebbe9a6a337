package binfmt

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
)

// ErrFormat is wrapped by every error caused by a malformed or corrupted file.
var ErrFormat = errors.New("malformed file")

// ErrChecksum is returned when the trailing checksum does not match.
var ErrChecksum = fmt.Errorf("%w: checksum mismatch (file truncated or corrupted)", ErrFormat)

var table = crc32.MakeTable(crc32.Castagnoli)

// MaxElems bounds any single slice read from a file (2^31 elements).
const MaxElems = 1 << 31

// Writer writes the container. Errors are sticky: after the first failure
// every call is a no-op and Err/Close report it.
type Writer struct {
	w   io.Writer
	crc hash.Hash32
	err error
	n   int64 // bytes written
	buf [8]byte
}

// PartWriter returns the writer a part of a model file (a table, an
// encoder, a tower) writes through: w itself when it is a *Writer (the part
// goes inside that container, under its checksum), or else a Writer over w
// with no header and no checksum (a part written on its own).
func PartWriter(w io.Writer) *Writer {
	if bw, ok := w.(*Writer); ok {
		return bw
	}
	return &Writer{w: w, crc: crc32.New(table)}
}

// Write implements io.Writer: p goes raw into the container (and its
// checksum).
func (w *Writer) Write(p []byte) (int, error) {
	w.Bytes(p)
	if w.err != nil {
		return 0, w.err
	}
	return len(p), nil
}

// N returns the number of bytes written so far.
func (w *Writer) N() int64 { return w.n }

// NewWriter starts a container with the given magic and version.
func NewWriter(w io.Writer, magic string, version uint32) *Writer {
	if len(magic) != 4 {
		panic("binfmt: magic must be 4 bytes")
	}
	bw := &Writer{w: w, crc: crc32.New(table)}
	bw.Bytes([]byte(magic))
	bw.U32(version)
	return bw
}

// Bytes writes raw bytes.
func (w *Writer) Bytes(p []byte) {
	if w.err != nil {
		return
	}
	w.crc.Write(p)
	var n int
	n, w.err = w.w.Write(p)
	w.n += int64(n)
}

// U32 writes a uint32.
func (w *Writer) U32(v uint32) {
	binary.LittleEndian.PutUint32(w.buf[:4], v)
	w.Bytes(w.buf[:4])
}

// U64 writes a uint64.
func (w *Writer) U64(v uint64) {
	binary.LittleEndian.PutUint64(w.buf[:8], v)
	w.Bytes(w.buf[:8])
}

// I64 writes an int64.
func (w *Writer) I64(v int64) { w.U64(uint64(v)) }

// F64 writes a float64.
func (w *Writer) F64(v float64) { w.U64(math.Float64bits(v)) }

// Bool writes a bool as one byte.
func (w *Writer) Bool(v bool) {
	b := byte(0)
	if v {
		b = 1
	}
	w.Bytes([]byte{b})
}

// String writes a length-prefixed string.
func (w *Writer) String(s string) {
	w.U64(uint64(len(s)))
	w.Bytes([]byte(s))
}

// F32s writes a length-prefixed float32 slice.
func (w *Writer) F32s(v []float32) {
	w.U64(uint64(len(v)))
	const chunk = 4096
	var buf [chunk * 4]byte
	for len(v) > 0 {
		n := min(len(v), chunk)
		for i := 0; i < n; i++ {
			binary.LittleEndian.PutUint32(buf[i*4:], math.Float32bits(v[i]))
		}
		w.Bytes(buf[:n*4])
		v = v[n:]
	}
}

// F64s writes a length-prefixed float64 slice.
func (w *Writer) F64s(v []float64) {
	w.U64(uint64(len(v)))
	for _, x := range v {
		w.F64(x)
	}
}

// I64s writes a length-prefixed int64 slice.
func (w *Writer) I64s(v []int64) {
	w.U64(uint64(len(v)))
	for _, x := range v {
		w.I64(x)
	}
}

// Ints writes a length-prefixed int slice (as int64).
func (w *Writer) Ints(v []int) {
	w.U64(uint64(len(v)))
	for _, x := range v {
		w.I64(int64(x))
	}
}

// Strings writes a length-prefixed string slice.
func (w *Writer) Strings(v []string) {
	w.U64(uint64(len(v)))
	for _, s := range v {
		w.String(s)
	}
}

// Err reports the first error seen.
func (w *Writer) Err() error { return w.err }

// Close writes the trailing checksum and returns the first error seen.
func (w *Writer) Close() error {
	if w.err != nil {
		return w.err
	}
	binary.LittleEndian.PutUint32(w.buf[:4], w.crc.Sum32())
	_, w.err = w.w.Write(w.buf[:4])
	return w.err
}

// Reader reads a container written by Writer. Errors are sticky: after the
// first failure reads return zero values and Err reports the failure.
type Reader struct {
	r       *bufio.Reader
	crc     hash.Hash32
	err     error
	buf     [8]byte
	Version uint32
}

// PartReader returns the reader a part of a model file is read through: r
// itself when it is a *Reader (the part is inside that container), or else
// a Reader over r with no header and no checksum. Such a Reader reads r
// through a bufio.Reader, r itself when it is one: pass a *bufio.Reader to
// read on after the part.
func PartReader(r io.Reader) *Reader {
	switch x := r.(type) {
	case *Reader:
		return x
	case *bufio.Reader:
		return &Reader{r: x, crc: crc32.New(table)}
	}
	return &Reader{r: bufio.NewReaderSize(r, 1<<16), crc: crc32.New(table)}
}

// Read implements io.Reader: raw bytes of the container (counted into its
// checksum).
func (r *Reader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	n, err := r.r.Read(p)
	r.crc.Write(p[:n])
	return n, err
}

// NewReader checks the magic and reads the version. maxVersion is the newest
// version the caller understands; newer or zero versions are rejected.
func NewReader(r io.Reader, magic string, maxVersion uint32) (*Reader, error) {
	br := &Reader{r: bufio.NewReaderSize(r, 1<<16), crc: crc32.New(table)}
	var m [4]byte
	br.full(m[:])
	if br.err != nil {
		return nil, fmt.Errorf("%w: reading header: %v", ErrFormat, br.err)
	}
	if string(m[:]) != magic {
		return nil, fmt.Errorf("%w: bad magic %q, want %q", ErrFormat, m[:], magic)
	}
	br.Version = br.U32()
	if br.err != nil {
		return nil, fmt.Errorf("%w: reading version: %v", ErrFormat, br.err)
	}
	if br.Version == 0 || br.Version > maxVersion {
		return nil, fmt.Errorf("%w: unsupported version %d (this build reads up to %d)", ErrFormat, br.Version, maxVersion)
	}
	return br, nil
}

// Full reads exactly len(p) raw bytes (zeros after an error).
func (r *Reader) Full(p []byte) { r.full(p) }

func (r *Reader) full(p []byte) {
	if r.err != nil {
		for i := range p {
			p[i] = 0
		}
		return
	}
	if _, err := io.ReadFull(r.r, p); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			err = fmt.Errorf("%w: unexpected end of file (truncated)", ErrFormat)
		}
		r.err = err
		return
	}
	r.crc.Write(p)
}

// Fail records err (if no error was recorded yet) so callers can add their own
// validation to the sticky error.
func (r *Reader) Fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s", ErrFormat, fmt.Sprintf(format, args...))
	}
}

// U32 reads a uint32.
func (r *Reader) U32() uint32 {
	r.full(r.buf[:4])
	return binary.LittleEndian.Uint32(r.buf[:4])
}

// U64 reads a uint64.
func (r *Reader) U64() uint64 {
	r.full(r.buf[:8])
	return binary.LittleEndian.Uint64(r.buf[:8])
}

// I64 reads an int64.
func (r *Reader) I64() int64 { return int64(r.U64()) }

// F64 reads a float64.
func (r *Reader) F64() float64 { return math.Float64frombits(r.U64()) }

// Bool reads a bool: the byte 0 or 1; any other byte is a format error.
func (r *Reader) Bool() bool {
	r.full(r.buf[:1])
	if r.err == nil && r.buf[0] > 1 {
		r.Fail("boolean byte %d is neither 0 nor 1", r.buf[0])
	}
	return r.err == nil && r.buf[0] == 1
}

// Len reads a length and checks it against limit.
func (r *Reader) Len(limit int, what string) int {
	n := r.U64()
	if r.err != nil {
		return 0
	}
	if n > uint64(limit) || n > MaxElems {
		r.Fail("%s: length %d exceeds limit %d", what, n, limit)
		return 0
	}
	return int(n)
}

// String reads a string of at most limit bytes.
func (r *Reader) String(limit int) string {
	n := r.Len(limit, "string")
	if r.err != nil {
		return ""
	}
	p := make([]byte, 0, min(n, 1<<16))
	var chunk [4096]byte
	for n > 0 && r.err == nil {
		k := min(n, len(chunk))
		r.full(chunk[:k])
		p = append(p, chunk[:k]...)
		n -= k
	}
	return string(p)
}

// F32s reads a float32 slice of at most limit elements. The slice grows as
// bytes arrive, so a corrupted length cannot allocate more than the file holds.
func (r *Reader) F32s(limit int) []float32 {
	n := r.Len(limit, "float32 slice")
	if r.err != nil {
		return nil
	}
	out := make([]float32, 0, min(n, 1<<20))
	var chunk [4096 * 4]byte
	for n > 0 && r.err == nil {
		k := min(n, 4096)
		r.full(chunk[:k*4])
		for i := 0; i < k; i++ {
			out = append(out, math.Float32frombits(binary.LittleEndian.Uint32(chunk[i*4:])))
		}
		n -= k
	}
	return out
}

// F64s reads a float64 slice of at most limit elements.
func (r *Reader) F64s(limit int) []float64 {
	n := r.Len(limit, "float64 slice")
	out := make([]float64, 0, min(n, 1<<16))
	for i := 0; i < n && r.err == nil; i++ {
		out = append(out, r.F64())
	}
	return out
}

// I64s reads an int64 slice of at most limit elements.
func (r *Reader) I64s(limit int) []int64 {
	n := r.Len(limit, "int64 slice")
	out := make([]int64, 0, min(n, 1<<16))
	for i := 0; i < n && r.err == nil; i++ {
		out = append(out, r.I64())
	}
	return out
}

// Ints reads an int slice of at most limit elements.
func (r *Reader) Ints(limit int) []int {
	n := r.Len(limit, "int slice")
	out := make([]int, 0, min(n, 1<<16))
	for i := 0; i < n && r.err == nil; i++ {
		out = append(out, int(r.I64()))
	}
	return out
}

// Strings reads a string slice.
func (r *Reader) Strings(limit, strLimit int) []string {
	n := r.Len(limit, "string slice")
	out := make([]string, 0, min(n, 1<<16))
	for i := 0; i < n && r.err == nil; i++ {
		out = append(out, r.String(strLimit))
	}
	return out
}

// Err reports the first error seen.
func (r *Reader) Err() error { return r.err }

// Close verifies the trailing checksum, checks that nothing follows it, and
// returns the first error seen.
func (r *Reader) Close() error {
	if r.err != nil {
		return r.err
	}
	want := r.crc.Sum32()
	var b [4]byte
	if _, err := io.ReadFull(r.r, b[:]); err != nil {
		return fmt.Errorf("%w: missing checksum (truncated)", ErrFormat)
	}
	if binary.LittleEndian.Uint32(b[:]) != want {
		return ErrChecksum
	}
	if _, err := r.r.ReadByte(); err != io.EOF {
		if err != nil {
			return err
		}
		return fmt.Errorf("%w: data after the checksum", ErrFormat)
	}
	return nil
}

// FileMode is the permission of every file WriteFileAtomic writes (model
// files, indexes, manifests, exports): readable by all, writable by the
// owner. Models hold no secrets, and serving replicas often run as another
// user than the trainer.
const FileMode = 0o644

// WriteFileAtomic writes a file through write: the data goes to a temporary
// file in the same directory, which is fsynced, given FileMode, closed and
// renamed over path, and the directory is fsynced, so a crash or a failing
// write leaves any previous file at path intact. An error syncing the
// directory is returned (the new file may not survive a crash then).
func WriteFileAtomic(path string, write func(w io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<16)
	if err = write(bw); err != nil {
		return err
	}
	if err = bw.Flush(); err != nil {
		return err
	}
	if err = f.Chmod(FileMode); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	return syncDir(dir)
}

// syncDir fsyncs a directory, so a rename in it is durable (a variable so
// tests can make it fail).
var syncDir = func(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		d.Close()
		return fmt.Errorf("syncing directory %s: %w", dir, err)
	}
	return d.Close()
}

// Load opens path and decodes it with read; errors name the path.
func Load[T any](path string, read func(r io.Reader) (T, error)) (T, error) {
	var zero T
	f, err := os.Open(path)
	if err != nil {
		return zero, err
	}
	defer f.Close()
	v, err := read(f)
	if err != nil {
		return zero, fmt.Errorf("%s: %w", path, err)
	}
	return v, nil
}

// WriteContainer writes one container to w (magic, version, what encode
// writes, CRC-32C) and returns the number of bytes written, as
// io.WriterTo's WriteTo does.
func WriteContainer(w io.Writer, magic string, version uint32, encode func(*Writer)) (int64, error) {
	cw := &CountingWriter{W: w}
	bw := NewWriter(cw, magic, version)
	encode(bw)
	return cw.N, bw.Close()
}

// ReadContainer reads one container written by WriteContainer: it checks the
// header, decodes the body with decode and verifies the checksum. A header
// error is returned as it is; a decoding or checksum error is prefixed with
// "reading <what>: ". Versions up to version are accepted: decode reads
// Reader.Version (see CheckVersion).
func ReadContainer[T any](r io.Reader, magic string, version uint32, what string, decode func(*Reader) (T, error)) (T, error) {
	var zero T
	br, err := NewReader(r, magic, version)
	if err != nil {
		return zero, err
	}
	v, err := decode(br)
	if err == nil {
		err = br.Close()
	}
	if err != nil {
		return zero, fmt.Errorf("reading %s: %w", what, err)
	}
	return v, nil
}

// CheckVersion refuses a container older than the only version its reader
// reads, by name (for formats that do not read their older versions).
func (r *Reader) CheckVersion(version uint32) error {
	if r.Version != version {
		return fmt.Errorf("%w: format version %d is no longer read (this build reads %d): write it again with this build", ErrFormat, r.Version, version)
	}
	return nil
}

// CountingWriter counts the bytes written through it (for WriteTo's count).
type CountingWriter struct {
	W io.Writer
	N int64
}

// Write implements io.Writer.
func (c *CountingWriter) Write(p []byte) (int, error) {
	n, err := c.W.Write(p)
	c.N += int64(n)
	return n, err
}

// Save writes v to path atomically (see WriteFileAtomic).
func Save(path string, v io.WriterTo) error {
	return WriteFileAtomic(path, func(w io.Writer) error {
		_, err := v.WriteTo(w)
		return err
	})
}

// Seal wraps body in a container (magic, version, body, CRC-32C), so tests
// and fuzzers can feed decoders bodies whose checksum is right and reach
// past it. Body is its inverse.
func Seal(magic string, version uint32, body []byte) []byte {
	var buf bytes.Buffer
	w := NewWriter(&buf, magic, version)
	w.Bytes(body)
	w.Close() // a bytes.Buffer does not fail
	return buf.Bytes()
}

// Body returns the body of a container Seal or a Writer produced (without
// its 8-byte header and 4-byte checksum), or nil if raw is too short.
func Body(raw []byte) []byte {
	if len(raw) < 12 {
		return nil
	}
	return raw[8 : len(raw)-4]
}

// BodySeeds writes v and returns fuzzing seeds for its decoder: the body of
// the container (see Body), its first half, and the body with one bit
// flipped a third of the way in.
func BodySeeds(v io.WriterTo) ([][]byte, error) {
	var buf bytes.Buffer
	if _, err := v.WriteTo(&buf); err != nil {
		return nil, err
	}
	body := Body(buf.Bytes())
	flip := bytes.Clone(body)
	flip[len(flip)/3] ^= 0x40
	return [][]byte{body, body[:len(body)/2], flip}, nil
}
