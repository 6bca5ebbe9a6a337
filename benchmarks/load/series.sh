#!/bin/bash
# series.sh MODELDIR [CANDIDATES] [PORT]: the service's throughput and tail
# latency, repeated (this machine's speed moves from minute to minute):
# one serve process, a 3 s warm-up, wrk five times (10 s each, 2 threads,
# 16 connections, the load command's request bodies), then vegeta at
# 1,000 requests/s three times. Needs wrk on PATH.
set -euo pipefail
models=${1:?usage: series.sh MODELDIR [CANDIDATES] [PORT]}
cands=${2:-300}
port=${3:-18181}
bin=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; rm -rf "$bin"' EXIT
go build -o "$bin/serve" ./examples/serve
go build -o "$bin/load" ./benchmarks/load
url=http://127.0.0.1:$port/v1/recommend
"$bin/load" -model "$models" -url "$url" -wrk-script "$bin/req.lua" >/dev/null
"$bin/serve" -models "$models" -addr "127.0.0.1:$port" -candidates "$cands" 2>"$bin/serve.log" &
pid=$!
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
wrk -t2 -c16 -d3s -s "$bin/req.lua" "$url" >/dev/null
for _ in 1 2 3 4 5; do wrk -t2 -c16 -d10s -s "$bin/req.lua" "$url" | grep Requests/sec; done
for _ in 1 2 3; do "$bin/load" -model "$models" -url "$url" -rates 1000 -duration 10s 2>/dev/null | grep '^| 1000'; done
