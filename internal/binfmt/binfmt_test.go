package binfmt

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAtomicSaveSurvivesCrash: a save that fails half-way (a failing writer
// standing in for a crash) leaves the previous file intact and no temporary
// file behind.
func TestAtomicSaveSurvivesCrash(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "model")
	write := func(payload string, failAfter int) error {
		return WriteFileAtomic(path, func(w io.Writer) error {
			bw := NewWriter(w, "TEST", 1)
			bw.String(payload)
			if failAfter >= 0 {
				return errors.New("simulated crash")
			}
			return bw.Close()
		})
	}
	require.NoError(t, write("first", -1))
	assert.Error(t, write("second, never finished", 3))
	got, err := Load(path, func(r io.Reader) (string, error) {
		br, err := NewReader(r, "TEST", 1)
		if err != nil {
			return "", err
		}
		s := br.String(100)
		return s, br.Close()
	})
	require.NoError(t, err)
	assert.Equal(t, "first", got)
	entries, _ := os.ReadDir(dir)
	assert.Len(t, entries, 1, "no temporary file is left behind")
}

func TestReaderRejectsBadInput(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf, "TEST", 2)
	w.F32s([]float32{1, 2, 3})
	require.NoError(t, w.Close())
	raw := buf.Bytes()
	_, err := NewReader(bytes.NewReader(raw), "TEST", 1)
	assert.ErrorContains(t, err, "version")
	_, err = NewReader(bytes.NewReader(raw), "NOPE", 2)
	assert.ErrorContains(t, err, "magic")
	r, err := NewReader(bytes.NewReader(raw), "TEST", 2)
	require.NoError(t, err)
	assert.Nil(t, r.F32s(2), "a length above the limit is refused")
	assert.ErrorIs(t, r.Err(), ErrFormat)
	r, _ = NewReader(bytes.NewReader(raw[:len(raw)-1]), "TEST", 2)
	r.F32s(10)
	assert.Error(t, r.Close())
}

// TestTrailingDataIsError: bytes after the checksum (a file with something
// appended, two files concatenated) are a format error.
func TestTrailingDataIsError(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf, "TEST", 1)
	w.String("body")
	require.NoError(t, w.Close())
	read := func(raw []byte) error {
		r, err := NewReader(bytes.NewReader(raw), "TEST", 1)
		require.NoError(t, err)
		assert.Equal(t, "body", r.String(10))
		return r.Close()
	}
	require.NoError(t, read(buf.Bytes()))
	err := read(append(bytes.Clone(buf.Bytes()), 0))
	assert.ErrorIs(t, err, ErrFormat)
	assert.ErrorContains(t, err, "after the checksum")
	assert.ErrorIs(t, read(append(bytes.Clone(buf.Bytes()), buf.Bytes()...)), ErrFormat)
}

// TestDirectorySyncErrorReported: a failing directory fsync (the rename may
// not survive a crash) is an error from WriteFileAtomic, not ignored; the
// file mode is FileMode.
func TestDirectorySyncErrorReported(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	write := func() error {
		return WriteFileAtomic(path, func(w io.Writer) error { _, err := w.Write([]byte("x")); return err })
	}
	require.NoError(t, write())
	st, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(FileMode), st.Mode().Perm())
	orig := syncDir
	defer func() { syncDir = orig }()
	syncDir = func(string) error { return errors.New("EIO") }
	assert.ErrorContains(t, write(), "EIO")
}

// TestBoolIsStrict: a boolean byte other than 0 or 1 is a format error, not
// "true".
func TestBoolIsStrict(t *testing.T) {
	for b, want := range map[byte]bool{0: false, 1: true} {
		r, err := NewReader(bytes.NewReader(Seal("TEST", 1, []byte{b})), "TEST", 1)
		require.NoError(t, err)
		assert.Equal(t, want, r.Bool())
		require.NoError(t, r.Close())
	}
	r, err := NewReader(bytes.NewReader(Seal("TEST", 1, []byte{'0'})), "TEST", 1)
	require.NoError(t, err)
	assert.False(t, r.Bool())
	assert.ErrorIs(t, r.Err(), ErrFormat)
}

// TestPartsInAndOutOfAContainer: a part written through PartWriter goes
// under the container's checksum when given the container's Writer, and
// stands alone (no header, no checksum) over any other io.Writer; its
// reader reads back the same values either way.
func TestPartsInAndOutOfAContainer(t *testing.T) {
	writePart := func(w io.Writer) (int64, error) {
		bw := PartWriter(w)
		n0 := bw.N()
		bw.I64(-5)
		bw.String("x")
		return bw.N() - n0, bw.Err()
	}
	readPart := func(r io.Reader) (int64, string, error) {
		br := PartReader(r)
		v, s := br.I64(), br.String(10)
		return v, s, br.Err()
	}
	var alone bytes.Buffer
	n, err := writePart(&alone)
	require.NoError(t, err)
	assert.Equal(t, int64(alone.Len()), n)
	v, s, err := readPart(&alone)
	require.NoError(t, err)
	assert.Equal(t, int64(-5), v)
	assert.Equal(t, "x", s)

	var boxed bytes.Buffer
	_, err = WriteContainer(&boxed, "TEST", 1, func(w *Writer) { _, _ = writePart(w) })
	require.NoError(t, err)
	assert.Equal(t, 8+int(n)+4, boxed.Len(), "header, the part, checksum")
	got, err := ReadContainer(bytes.NewReader(boxed.Bytes()), "TEST", 1, "part", func(r *Reader) (string, error) {
		_, s, err := readPart(r)
		return s, err
	})
	require.NoError(t, err)
	assert.Equal(t, "x", got)
	raw := boxed.Bytes()
	raw[9] ^= 1 // inside the part: the container's checksum covers it
	_, err = ReadContainer(bytes.NewReader(raw), "TEST", 1, "part", func(r *Reader) (string, error) {
		_, s, err := readPart(r)
		return s, err
	})
	assert.ErrorIs(t, err, ErrChecksum)
}

// TestCheckVersion: a format that reads only its newest version refuses an
// older one by name, not decoded with the newer layout.
func TestCheckVersion(t *testing.T) {
	var buf bytes.Buffer
	_, err := WriteContainer(&buf, "TEST", 1, func(w *Writer) { w.I64(7) })
	require.NoError(t, err)
	read := func(r *Reader) (int64, error) {
		if err := r.CheckVersion(2); err != nil {
			return 0, err
		}
		return r.I64(), r.Err()
	}
	_, err = ReadContainer(bytes.NewReader(buf.Bytes()), "TEST", 2, "thing", read)
	assert.ErrorIs(t, err, ErrFormat)
	assert.ErrorContains(t, err, "format version 1 is no longer read (this build reads 2)")
}
