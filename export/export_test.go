package export

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ytdnn/ytdnn/candgen"
	"github.com/ytdnn/ytdnn/feature"
	"github.com/ytdnn/ytdnn/train"
)

// TestNPYHeaderFollowsTheSpec checks the bytes against NumPy's format
// description (version 1.0): magic, version, little-endian header length,
// a dict literal with descr, fortran_order and shape (a 1-tuple with its
// comma), space padding and '\n' so the data starts on a 64-byte boundary.
func TestNPYHeaderFollowsTheSpec(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, WriteNPYFloat32(&buf, []float32{1, 2, 3, 4, 5, 6}, 2, 3))
	b := buf.Bytes()
	assert.Equal(t, "\x93NUMPY", string(b[:6]))
	assert.Equal(t, []byte{1, 0}, b[6:8])
	hlen := int(binary.LittleEndian.Uint16(b[8:10]))
	assert.Zero(t, (10+hlen)%64, "data aligned to 64 bytes")
	header := string(b[10 : 10+hlen])
	assert.True(t, strings.HasPrefix(header, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"), header)
	assert.True(t, strings.HasSuffix(header, "\n"))
	assert.Equal(t, 10+hlen+6*4, len(b))
	buf.Reset()
	require.NoError(t, WriteNPYInt64(&buf, []int64{7, 8}, 2))
	assert.Contains(t, buf.String(), "'shape': (2,), }", "a 1-tuple keeps its comma")
}

func TestNPYRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	v := []float32{1.5, -2, 3e-8, 4e30}
	require.NoError(t, WriteNPYFloat32(&buf, v, 2, 2))
	got, shape, err := ReadNPYFloat32(bytes.NewReader(buf.Bytes()))
	require.NoError(t, err)
	assert.Equal(t, v, got)
	assert.Equal(t, []int{2, 2}, shape)
	buf.Reset()
	require.NoError(t, WriteNPYInt32(&buf, []int32{-1, 2, 3}, 3))
	ids, _, err := ReadNPYInt64(bytes.NewReader(buf.Bytes()))
	require.NoError(t, err)
	assert.Equal(t, []int64{-1, 2, 3}, ids)
}

// TestReadNPYRejects: every malformed .npy file is an error wrapping
// ErrFormat that says what is wrong, with the package prefix once.
func TestReadNPYRejects(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, WriteNPYInt32(&buf, []int32{-1, 2, 3}, 3))
	raw := buf.Bytes()
	v2 := bytes.Clone(raw)
	v2[6] = 2 // version 2.0 takes a 4-byte header length
	readInt64 := func(b []byte) func() error {
		return func() error { _, _, err := ReadNPYInt64(bytes.NewReader(b)); return err }
	}
	for _, tc := range []struct {
		name, want string
		err        func() error
	}{
		{"truncated data", "export: malformed file: .npy data truncated", readInt64(raw[:len(raw)-2])},
		{"not npy", "export: malformed file: not an .npy file", readInt64([]byte("PAR1...."))},
		{"short", "export: malformed file: short .npy header", readInt64(raw[:5])},
		{"huge shape", "export: malformed file: .npy shape (9999999999999,)", readInt64(bytes.Replace(raw, []byte("(3,)"), []byte("(9999999999999,)"), 1))},
		{"fortran order", "export: malformed file: Fortran-order .npy arrays are not read", readInt64(bytes.Replace(raw, []byte("False"), []byte("True "), 1))},
		{"another version", "export: malformed file: .npy version 9.0", readInt64(append(append([]byte{}, raw[:6]...), append([]byte{9, 0}, raw[8:]...)...))},
		{"header over its limit", "export: malformed file: .npy header of", readInt64(v2)},
		{"no dict in the header", "export: malformed file: .npy header", readInt64(bytes.Replace(raw, []byte("'descr'"), []byte("'DESCR'"), 1))},
		{"int32 data read as float32", `export: malformed file: .npy dtype "<i4", want '<f4'`, func() error { _, _, err := ReadNPYFloat32(bytes.NewReader(raw)); return err }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.err()
			assert.ErrorIs(t, err, ErrFormat)
			assert.ErrorContains(t, err, tc.want)
			assert.Equal(t, 1, strings.Count(err.Error(), "export: "), "prefix once: %v", err)
		})
	}
}

// failingWriter fails every write after the first n bytes.
type failingWriter struct{ n int }

var errDiskFull = errors.New("disk full")

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		k := w.n
		w.n = 0
		return k, errDiskFull
	}
	w.n -= len(p)
	return len(p), nil
}

// TestWriteRejects: data that does not fill its shape and failing writers
// are errors that say what is wrong, with the package prefix once; a
// writer's error is wrapped, not dropped.
func TestWriteRejects(t *testing.T) {
	var buf bytes.Buffer
	vecs := make([]float32, 5000*4)
	ids := make([]int64, 5000)
	for _, tc := range []struct {
		name, want string
		is         error
		err        func() error
	}{
		{"float32 data short of the shape", "export: writing .npy: 6 values do not fill shape [2 4]", nil, func() error { return WriteNPYFloat32(&buf, make([]float32, 6), 2, 4) }},
		{"int64 data beyond the shape", "export: writing .npy: 2 values do not fill shape [3]", nil, func() error { return WriteNPYInt64(&buf, []int64{7, 8}, 3) }},
		{"int32 data with a negative dimension", "export: writing .npy: negative dimension in shape [-1 -2]", nil, func() error { return WriteNPYInt32(&buf, []int32{1, 2}, -1, -2) }},
		{"no shape", "export: writing .npy: 1 values do not fill shape []", nil, func() error { return WriteNPYInt32(&buf, []int32{1}) }},
		{"npy header to a full disk", "export: writing .npy: disk full", errDiskFull, func() error { return WriteNPYFloat32(&failingWriter{n: 10}, vecs, 5000, 4) }},
		{"npy data to a full disk", "export: writing .npy: disk full", errDiskFull, func() error { return WriteNPYFloat32(&failingWriter{n: 10_000}, vecs, 5000, 4) }},
		{"small npy file to a full disk", "export: writing .npy: disk full", errDiskFull, func() error { return WriteNPYInt64(&failingWriter{n: 10}, []int64{1, 2}, 2) }},
		{"Parquet of too few floats", "export: 10 floats are not 5000 vectors of dimension 4", nil, func() error { return WriteParquet(&buf, ids, vecs[:10], 4) }},
		{"Parquet of dimension 0", "export: 0 floats are not 0 vectors of dimension 0", nil, func() error { return WriteParquet(&buf, nil, nil, 0) }},
		{"Parquet to a full disk", "export: writing Parquet: ", errDiskFull, func() error { return WriteParquet(&failingWriter{n: 100}, ids, vecs, 4) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.err()
			assert.ErrorContains(t, err, tc.want)
			assert.Equal(t, 1, strings.Count(err.Error(), "export: "), "prefix once: %v", err)
			if tc.is != nil {
				assert.ErrorIs(t, err, tc.is)
			}
		})
	}
}

// TestNPYWithNumPy loads the files with NumPy itself, where the machine has
// it (python3 with numpy; Debian's python3-numpy), and has NumPy write one
// for us to read. Skipped otherwise: go test never needs Python.
func TestNPYWithNumPy(t *testing.T) {
	py, err := exec.LookPath("/usr/bin/python3")
	if err != nil || exec.Command(py, "-c", "import numpy").Run() != nil {
		t.Skip("no python3 with numpy here")
	}
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, "v.npy"))
	require.NoError(t, err)
	require.NoError(t, WriteNPYFloat32(f, []float32{1, 2, 3, 4, 5, 6.5}, 3, 2))
	require.NoError(t, f.Close())
	f, err = os.Create(filepath.Join(dir, "ids.npy"))
	require.NoError(t, err)
	require.NoError(t, WriteNPYInt64(f, []int64{10, 1 << 40, -3}, 3))
	require.NoError(t, f.Close())
	script := `import numpy as np, sys
d = sys.argv[1]
v = np.load(d + '/v.npy'); i = np.load(d + '/ids.npy')
assert v.dtype == np.float32 and v.shape == (3, 2) and v[2, 1] == 6.5, (v.dtype, v.shape)
assert i.dtype == np.int64 and list(i) == [10, 1 << 40, -3], i
np.save(d + '/np.npy', np.arange(12, dtype=np.float32).reshape(4, 3))
print('ok')`
	out, err := exec.Command(py, "-c", script, dir).CombinedOutput()
	require.NoError(t, err, string(out))
	raw, err := os.ReadFile(filepath.Join(dir, "np.npy"))
	require.NoError(t, err)
	v, shape, err := ReadNPYFloat32(bytes.NewReader(raw))
	require.NoError(t, err)
	assert.Equal(t, []int{4, 3}, shape)
	assert.Equal(t, float32(11), v[11])
}

func TestParquetRoundTrip(t *testing.T) {
	const n, dim = 70_000, 5 // more than one row group
	ids := make([]int64, n)
	vecs := make([]float32, n*dim)
	for i := range ids {
		ids[i] = int64(i*3 + 1)
		for j := 0; j < dim; j++ {
			vecs[i*dim+j] = float32(i) + float32(j)/10
		}
	}
	var buf bytes.Buffer
	require.NoError(t, WriteParquet(&buf, ids, vecs, dim))
	gotIDs, gotVecs, gotDim, err := ReadParquet(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	require.NoError(t, err)
	assert.Equal(t, dim, gotDim)
	assert.Equal(t, ids, gotIDs)
	assert.Equal(t, vecs, gotVecs)
}

// TestReadParquetRejects: a file that is not Parquet, or whose vectors
// differ in length, is an error wrapping ErrFormat, with the package prefix
// once, and returns no partial data.
func TestReadParquetRejects(t *testing.T) {
	var ragged bytes.Buffer
	pw := parquet.NewGenericWriter[Row](&ragged)
	_, err := pw.Write([]Row{{ID: 1, Vector: []float32{1, 2}}, {ID: 2, Vector: []float32{3}}})
	require.NoError(t, err)
	require.NoError(t, pw.Close())
	for _, tc := range []struct {
		name, want string
		raw        []byte
	}{
		{"not Parquet", "export: reading Parquet: malformed file: ", []byte("not parquet")},
		{"vectors of two lengths", "export: reading Parquet: malformed file: vectors of dimensions 2 and 1", ragged.Bytes()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ids, vecs, dim, err := ReadParquet(bytes.NewReader(tc.raw), int64(len(tc.raw)))
			assert.ErrorIs(t, err, ErrFormat)
			assert.ErrorContains(t, err, tc.want)
			assert.Equal(t, 1, strings.Count(err.Error(), "export: "), "prefix once: %v", err)
			assert.Nil(t, ids)
			assert.Nil(t, vecs)
			assert.Zero(t, dim)
		})
	}
}

// TestModelItems: exported items are the model's videos by raw ID, and a
// query [u, 1] scores them as the model does.
func TestModelItems(t *testing.T) {
	spec := feature.Spec{Spaces: []feature.Space{{Name: "video"}}, Features: []feature.Feature{{Name: "h", Kind: feature.Bag, Space: "video"}}}
	var data []candgen.Example
	for i := 0; i < 300; i++ {
		data = append(data, candgen.Example{Features: feature.Example{IDs: [][]int64{{int64(100 + i%13)}}, Nums: []float64{0}}, Label: int64(500 + i%17)})
	}
	m, _, err := train.Candgen(context.Background(), train.CandgenConfig{Spec: spec, Tower: []int{8}, Negatives: 5, Options: train.Options{Batch: 32, Seed: 1}}, data)
	require.NoError(t, err)
	ids, vecs, dim := ModelItems(m)
	require.Equal(t, m.D()+1, dim)
	require.Len(t, ids, m.VideoVocab().Size()-1, "every in-vocabulary video (history and labels)")
	ex := feature.Example{IDs: [][]int64{{103}}, Nums: []float64{0}}
	u, err := m.UserVector(ex)
	require.NoError(t, err)
	recs, err := m.Recommend(context.Background(), ex, 3, nil)
	require.NoError(t, err)
	for _, r := range recs {
		k := slices.Index(ids, r.ID)
		require.GreaterOrEqual(t, k, 0, "video %d exported", r.ID)
		var s float32
		for j := 0; j < dim-1; j++ {
			s += u[j] * vecs[k*dim+j]
		}
		s += vecs[k*dim+dim-1]
		assert.InDelta(t, r.Score, s, 1e-4)
	}
}
