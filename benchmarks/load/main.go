package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/ytdnn/ytdnn/modeldir"
)

// writeWrkScript writes a wrk script that POSTs the targets' bodies in
// turn (each of wrk's threads starting at its own offset).
func writeWrkScript(path string, targets []vegeta.Target) error {
	var b strings.Builder
	b.WriteString("-- written by benchmarks/load -wrk-script: the load command's request bodies\nlocal bodies = {\n")
	for _, t := range targets {
		fmt.Fprintf(&b, "  %q,\n", t.Body)
	}
	b.WriteString(`}
i = 0
local counter = 0
function setup(thread)
  thread:set("i", counter * 997)
  counter = counter + 1
end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
function request()
  i = i + 1
  return wrk.format(nil, nil, nil, bodies[(i % #bodies) + 1])
end
`)
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

func main() {
	model := flag.String("model", "", "model directory the service serves (for the video IDs of the requests; required)")
	url := flag.String("url", "http://127.0.0.1:8080/v1/recommend", "the recommend endpoint")
	rates := flag.String("rates", "250,500,1000,max", "requests per second, comma-separated; max: as fast as the workers go")
	dur := flag.Duration("duration", 10*time.Second, "length of each rate's run")
	workers := flag.Uint64("workers", 16, "connections for the max rate (and the start of the pool for the others)")
	requests := flag.Int("requests", 1000, "distinct request bodies, cycled")
	seed := flag.Uint64("seed", 1, "seed of the request bodies")
	wrkScript := flag.String("wrk-script", "", "write the same request bodies as a Lua script for wrk (a closed-loop generator in C, lighter than vegeta: issue #23's baseline was measured with it) to this file, print wrk's command and exit")
	flag.Parse()
	if *model == "" {
		log.Fatal("load: -model is required")
	}
	md, err := modeldir.Load(*model)
	if err != nil {
		log.Fatal(err)
	}
	vocab := md.Candgen.VideoVocab()
	rng := rand.New(rand.NewPCG(*seed, 3))
	targets := make([]vegeta.Target, *requests)
	hdr := http.Header{"Content-Type": []string{"application/json"}}
	for i := range targets {
		h := make([]string, 5+rng.IntN(16))
		for j := range h {
			id, _ := vocab.ID(int32(1 + rng.IntN(vocab.Size()-1)))
			h[j] = strconv.FormatInt(id, 10)
		}
		targets[i] = vegeta.Target{Method: "POST", URL: *url, Header: hdr, Body: []byte(`{"history": [` + strings.Join(h, ", ") + `], "n": 10}`)}
	}
	if *wrkScript != "" {
		if err := writeWrkScript(*wrkScript, targets); err != nil {
			log.Fatal(err)
		}
		fmt.Printf("wrk -t2 -c16 -d10s --latency -s %s %s\n", *wrkScript, *url)
		return
	}
	fmt.Println("| rate (req/s) | achieved (req/s) | 200s | p50 (ms) | p99 (ms) | p99.9 (ms) |")
	fmt.Println("|---|---|---|---|---|---|")
	for _, r := range strings.Split(*rates, ",") {
		var pacer vegeta.Pacer
		opts := []func(*vegeta.Attacker){vegeta.Workers(*workers), vegeta.KeepAlive(true), vegeta.Timeout(10 * time.Second)}
		if r == "max" {
			pacer = vegeta.ConstantPacer{}
			opts = append(opts, vegeta.MaxWorkers(*workers))
		} else {
			f, err := strconv.Atoi(r)
			if err != nil || f <= 0 {
				log.Fatalf("load: rate %q: a positive number or max", r)
			}
			pacer = vegeta.Rate{Freq: f, Per: time.Second}
		}
		atk := vegeta.NewAttacker(opts...)
		var m vegeta.Metrics
		for res := range atk.Attack(vegeta.NewStaticTargeter(targets...), pacer, *dur, r) {
			m.Add(res)
		}
		m.Close()
		ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
		fmt.Printf("| %s | %.0f | %.1f%% | %.1f | %.1f | %.1f |\n", r, m.Throughput, 100*m.Success,
			ms(m.Latencies.P50), ms(m.Latencies.P99), ms(m.Latencies.Quantile(0.999)))
		raw, _ := json.Marshal(map[string]any{"rate": r, "throughput": m.Throughput, "success": m.Success,
			"p50_ms": ms(m.Latencies.P50), "p99_ms": ms(m.Latencies.P99), "p999_ms": ms(m.Latencies.Quantile(0.999)), "errors": m.Errors})
		fmt.Fprintln(os.Stderr, string(raw))
	}
}
