package progress_test

import (
	"bytes"
	"fmt"

	"github.com/ytdnn/ytdnn/internal/progress"
)

// A bar draws only on a terminal: elsewhere (a file, a buffer, go test's
// output) New returns nil, and the nil bar's methods do nothing.
func ExampleNew() {
	var log bytes.Buffer
	bar := progress.New(&log, "train", 100)
	for i := range 100 {
		bar.Set(i+1, "")
	}
	bar.Done("loss 0.42")
	fmt.Println(bar == nil, log.Len())
	// Output: true 0
}
