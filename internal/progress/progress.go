package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// Bar is a progress bar for one task of Total steps. A nil *Bar is valid and
// does nothing. A bar whose write fails stops drawing: the terminal is gone,
// and the task it reports on goes on. Not safe for concurrent use.
type Bar struct {
	w      io.Writer
	label  string
	total  int
	start  time.Time
	last   time.Time
	failed bool // a write failed: draw no more
}

// IsTerminal reports whether w is a character device (a terminal).
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// New returns a bar writing to w, or nil (silent) when w is nil or not a
// terminal.
func New(w io.Writer, label string, total int) *Bar {
	if w == nil || !IsTerminal(w) {
		return nil
	}
	return &Bar{w: w, label: label, total: max(total, 1), start: time.Now()}
}

// Set draws the bar at done steps with an optional status text, at most ten
// times a second.
func (b *Bar) Set(done int, status string) {
	if b == nil || b.failed {
		return
	}
	now := time.Now()
	if done < b.total && now.Sub(b.last) < 100*time.Millisecond {
		return
	}
	b.last = now
	const width = 30
	frac := float64(min(done, b.total)) / float64(b.total)
	n := int(frac * width)
	el := now.Sub(b.start).Seconds()
	eta := ""
	if frac > 0 && frac < 1 {
		eta = fmt.Sprintf(" eta %.0fs", el/frac-el)
	}
	_, err := fmt.Fprintf(b.w, "\r%s [%s%s] %3.0f%% %.0fs%s %s\x1b[K", b.label, strings.Repeat("=", n), strings.Repeat(" ", width-n), 100*frac, el, eta, status)
	b.failed = err != nil
}

// Done finishes the line.
func (b *Bar) Done(status string) {
	if b == nil {
		return
	}
	b.last = time.Time{}
	b.Set(b.total, status)
	if !b.failed {
		_, err := fmt.Fprintln(b.w)
		b.failed = err != nil
	}
}
