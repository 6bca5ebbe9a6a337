package embedding

import (
	"fmt"
	"io"
	"math/bits"
	"math/rand/v2"

	"github.com/ytdnn/ytdnn/internal/binfmt"
	"github.com/ytdnn/ytdnn/internal/optim"
	"github.com/ytdnn/ytdnn/internal/vec"
)

// ErrFormat is wrapped by every error of a part read from a malformed,
// truncated or corrupted model file (errors.Is), as opposed to an I/O
// error.
var ErrFormat = binfmt.ErrFormat

// DimPerLog2 is the number of embedding dimensions per doubling of an ID
// space's cardinality used by Dim.
const DimPerLog2 = 4

// The bounds of Dim.
const minDim, maxDim = 4, 256

// Dim returns the default embedding dimension for an ID space with the given
// number of distinct values: DimPerLog2·⌈log2(cardinality)⌉, at least 4 and
// at most 256. It grows with log(cardinality), as in the paper. A space
// that wants a fixed size sets it instead (feature.Space.Dim; zero there
// means Dim of the vocabulary's size).
func Dim(cardinality int) int {
	d := DimPerLog2 * bits.Len(uint(max(cardinality, 1)-1))
	return max(minDim, min(maxDim, d))
}

// Table is one float32 embedding table, Rows×Dim, row-major, for one ID
// space. Row OOV (0) is all zeros and stays zero. Every feature of the ID
// space reads the same Table. Reads are safe for concurrent use; updates are
// not safe concurrently with anything else.
type Table struct {
	Rows, Dim int
	// Data holds row r at Data[r*Dim:(r+1)*Dim].
	Data []float32
}

// NewTable returns a Rows×Dim table with rows 1.. drawn from N(0, std²) using
// rng (nil means a fixed-seed generator), and row 0 zero.
func NewTable(rows, dim int, std float64, rng *rand.Rand) (*Table, error) {
	if rows < 1 || dim < 1 {
		return nil, fmt.Errorf("embedding: invalid table shape %d×%d", rows, dim)
	}
	if rng == nil {
		rng = rand.New(rand.NewPCG(1, 2))
	}
	t := &Table{Rows: rows, Dim: dim, Data: make([]float32, rows*dim)}
	for i := dim; i < len(t.Data); i++ {
		t.Data[i] = float32(rng.NormFloat64() * std)
	}
	return t, nil
}

// Row returns row r as a slice aliasing the table.
func (t *Table) Row(r int32) []float32 { return t.Data[int(r)*t.Dim : (int(r)+1)*t.Dim] }

// Lookup copies the rows of ids into dst (len(ids)·Dim floats). Indices out of
// range read as OOV (zeros). A dst of another length is an error.
func (t *Table) Lookup(dst []float32, ids []int32) error {
	if len(dst) != len(ids)*t.Dim {
		return fmt.Errorf("embedding: Lookup: dst holds %d floats, want %d ids × dim %d", len(dst), len(ids), t.Dim)
	}
	for i, id := range ids {
		d := dst[i*t.Dim : (i+1)*t.Dim]
		if id <= 0 || int(id) >= t.Rows {
			clear(d)
			continue
		}
		copy(d, t.Row(id))
	}
	return nil
}

// LookupBag writes the mean of the rows of ids into dst (Dim floats). OOV
// members contribute zero rows to the mean; an empty bag gives zeros. A dst
// of another length than Dim is an error.
func (t *Table) LookupBag(dst []float32, ids []int32) error {
	if len(dst) != t.Dim {
		return fmt.Errorf("embedding: LookupBag: dst holds %d floats, want dim %d", len(dst), t.Dim)
	}
	clear(dst)
	if len(ids) == 0 {
		return nil
	}
	for _, id := range ids {
		if id <= 0 || int(id) >= t.Rows {
			continue
		}
		vec.Axpy(1, t.Row(id), dst)
	}
	vec.Scale(1/float32(len(ids)), dst)
	return nil
}

// Clone returns a deep copy.
func (t *Table) Clone() *Table {
	c := *t
	c.Data = append([]float32(nil), t.Data...)
	return &c
}

// WriteTo writes the table as a part of a model file (layout in the
// package doc, # Files): inside the container when w is the model's
// binfmt writer.
func (t *Table) WriteTo(w io.Writer) (int64, error) {
	bw := binfmt.PartWriter(w)
	n0 := bw.N()
	bw.U64(uint64(t.Rows))
	bw.U64(uint64(t.Dim))
	bw.F32s(t.Data)
	return bw.N() - n0, bw.Err()
}

// ReadTable reads a table written by WriteTo, checking its shape and that
// its values are finite. Its errors wrap ErrFormat, unprefixed (see the
// package doc, # Files).
func ReadTable(r io.Reader) (*Table, error) {
	br := binfmt.PartReader(r)
	rows := br.Len(binfmt.MaxElems, "table rows")
	dim := br.Len(1<<16, "table dim")
	data := br.F32s(binfmt.MaxElems)
	if err := br.Err(); err != nil {
		return nil, err
	}
	if rows < 1 || dim < 1 || len(data) != rows*dim {
		return nil, fmt.Errorf("%w: table %d×%d holds %d values", binfmt.ErrFormat, rows, dim, len(data))
	}
	if !optim.Finite(data) {
		return nil, fmt.Errorf("%w: table holds a non-finite value", binfmt.ErrFormat)
	}
	return &Table{Rows: rows, Dim: dim, Data: data}, nil
}
