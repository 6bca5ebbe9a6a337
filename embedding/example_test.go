package embedding_test

import (
	"fmt"

	"github.com/ytdnn/ytdnn/embedding"
)

func ExampleVocab() {
	c := embedding.NewCounter()
	c.Add(42, 10)
	c.Add(7, 3)
	c.Add(9, 1)
	v := c.Vocab(2) // keep the top 2 by count
	fmt.Println(v.Size(), v.Index(42), v.Index(7), v.Index(9))
	// Output: 3 1 2 0
}

func ExampleTable_LookupBag() {
	t := &embedding.Table{Rows: 3, Dim: 2, Data: []float32{0, 0, 1, 2, 3, 4}}
	dst := make([]float32, 2) // Dim floats
	if err := t.LookupBag(dst, []int32{1, 2}); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(dst)
	// Output: [2 3]
}
