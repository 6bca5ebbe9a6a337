package server

import (
	"context"
	"math/rand/v2"
	"os"
	"testing"
)

// BenchmarkRecommend runs both stages for one request at a time (history of
// 5-20 videos, n=10, 300 candidates), on the model directory
// YTDNN_BENCH_MODELS names or the tests' small one. With -cpuprofile it
// shows where a request's time goes:
//
//	YTDNN_BENCH_MODELS=/tmp/demo-m go test -run '^$' -bench Recommend -cpuprofile /tmp/cpu.out ./examples/serve/server
//	go tool pprof -top -nodecount 25 /tmp/cpu.out
func BenchmarkRecommend(b *testing.B) {
	dir := os.Getenv("YTDNN_BENCH_MODELS")
	if dir == "" {
		dir, _ = dirs(b)
	}
	m, err := Load(dir)
	if err != nil {
		b.Fatal(err)
	}
	vocab := m.Candgen.VideoVocab()
	rng := rand.New(rand.NewPCG(1, 3))
	reqs := make([]*Request, 256)
	for i := range reqs {
		h := make([]ID, 5+rng.IntN(16))
		for j := range h {
			id, _ := vocab.ID(int32(1 + rng.IntN(vocab.Size()-1)))
			h[j] = ID{Int: id}
		}
		reqs[i] = &Request{History: h, N: 10}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := m.Recommend(context.Background(), reqs[i%len(reqs)], 300); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "requests/s")
}
