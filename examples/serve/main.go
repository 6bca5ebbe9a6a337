// Command serve is an HTTP JSON two-stage recommendation service: it loads a
// model directory (candgen.model, ranking.model, world.json and optionally
// index.hnsw) and answers
//
//	POST /v1/recommend   {"history": [12, 7], "region": 3, "device": 1, "gender": 0, "logged_in": 1, "age": 31, "n": 10}
//	GET  /healthz
//	GET  /metrics        (Prometheus text format)
//	POST /admin/reload   {"dir": "other/models"}   (or send SIGHUP to reload the same directory)
//
// A broken model directory is rejected on reload and the old models keep
// serving. SIGINT/SIGTERM shut down gracefully, finishing requests in flight.
//
//	go run ./examples/serve -build -models /tmp/ytdnn-models   # train demo models, then serve
//	curl -s localhost:8080/v1/recommend -H 'Content-Type: application/json' -d '{"history":[1,2,3],"n":5}'
package main

import (
	"context"
	"flag"
	"log"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/ytdnn/ytdnn/examples/serve/server"
	"github.com/ytdnn/ytdnn/examples/world"
)

func main() {
	dir := flag.String("models", "models", "model directory")
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	build := flag.Bool("build", false, "train demo models on a generated world into -models first (if it has none)")
	index := flag.Bool("hnsw", true, "with -build, also build an HNSW index")
	candidates := flag.Int("candidates", 300, "candidates retrieved per request")
	timeout := flag.Duration("timeout", 2*time.Second, "per-request work limit")
	flag.Parse()
	logger := log.New(os.Stderr, "serve: ", log.LstdFlags)
	if *build {
		if _, err := os.Stat(filepath.Join(*dir, server.CandgenFile)); err != nil {
			logger.Printf("training demo models into %s", *dir)
			if err := server.Build(context.Background(), *dir, world.Config{Users: 3000, Videos: 5000, Seed: 1}, 4, *index); err != nil {
				logger.Fatal(err)
			}
		}
	}
	m, err := server.Load(*dir)
	if err != nil {
		logger.Fatalf("loading %s: %v (use -build to train demo models)", *dir, err)
	}
	s := server.New(m)
	s.Candidates, s.Timeout, s.Log = *candidates, *timeout, logger
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		for range hup {
			s.Reload("")
		}
	}()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		logger.Fatal(err)
	}
	logger.Printf("serving %s on http://%s", *dir, *addr)
	if err := server.Serve(ctx, ln, s.Handler(), *timeout+5*time.Second, 10*time.Second); err != nil {
		logger.Fatal(err)
	}
	logger.Print("stopped")
}
