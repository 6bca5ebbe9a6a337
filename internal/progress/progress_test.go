package progress

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// failAfter writes to buf until n writes have been made, then fails.
type failAfter struct {
	buf bytes.Buffer
	n   int
}

func (w *failAfter) Write(p []byte) (int, error) {
	if w.n == 0 {
		return 0, errors.New("terminal gone")
	}
	w.n--
	return w.buf.Write(p)
}

// TestBarStopsAfterFailedWrite: once a write fails, the bar draws nothing
// more, Done included.
func TestBarStopsAfterFailedWrite(t *testing.T) {
	w := &failAfter{n: 1}
	b := &Bar{w: w, label: "x", total: 3, start: time.Now()}
	b.Set(1, "")
	drawn := w.buf.Len()
	assert.Positive(t, drawn, "the first write draws")
	b.last = time.Time{}
	b.Set(2, "") // fails
	assert.True(t, b.failed)
	w.n = 10 // the writer would work again: the bar stays quiet
	b.last = time.Time{}
	b.Set(3, "")
	b.Done("done")
	assert.Equal(t, drawn, w.buf.Len(), "nothing drawn after the failure")
}

// TestNewIsSilentOffATerminal: a writer that is not a terminal gets the nil
// bar, whose methods do nothing.
func TestNewIsSilentOffATerminal(t *testing.T) {
	var buf bytes.Buffer
	b := New(&buf, "x", 3)
	assert.Nil(t, b)
	b.Set(1, "")
	b.Done("")
	assert.Zero(t, buf.Len())
	assert.Nil(t, New(nil, "x", 3))
}
