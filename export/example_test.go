package export_test

import (
	"bytes"
	"fmt"

	"github.com/ytdnn/ytdnn/export"
)

// Two 3-dimensional vectors as a (2, 3) float32 array, as numpy.load reads
// it, and back.
func ExampleWriteNPYFloat32() {
	var buf bytes.Buffer
	if err := export.WriteNPYFloat32(&buf, []float32{1, 2, 3, 4, 5, 6}, 2, 3); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(buf.Len()%64 == 24) // a 64-byte-aligned header, then 6×4 bytes
	v, shape, err := export.ReadNPYFloat32(&buf)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(shape, v)
	// Output:
	// true
	// [2 3] [1 2 3 4 5 6]
}
