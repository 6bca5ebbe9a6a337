package weaviate_test

import (
	"fmt"

	"github.com/ytdnn/ytdnn/retrieval/weaviate"
)

// A -retrieval URL names one collection per model version.
func ExampleParseURL() {
	t, err := weaviate.ParseURL("weaviate://127.0.0.1:8080/Videos_{model}")
	if err != nil {
		panic(err)
	}
	fmt.Println(t.Host, t.Name(weaviate.Version("a84f1a9aaa2fe0c1d2")))
	_, err = weaviate.ParseURL("weaviate://127.0.0.1:8080/videos")
	fmt.Println(err != nil)
	// Output:
	// 127.0.0.1:8080 Videos_a84f1a9aaa2f
	// true
}
