// Command serve is an HTTP JSON two-stage recommendation service. It loads
// a model directory written by examples/pipeline train (pipeline.json, the
// catalogue, candgen.model, ranking.model, optionally index.hnsw), or a
// demo directory of -build (world.json instead of the catalogue), and
// answers
//
//	POST /v1/recommend   {"history": [12, 7], "search_tokens": [4], "attributes": {"region": 3}, "n": 10}
//	                     (demo models take "region", "device", "gender", "logged_in", "age" as fields)
//	GET  /healthz
//	GET  /metrics        (Prometheus text format)
//	POST /admin/reload   {} or {"version": "v2"}   (only with -admin-token-file)
//
// Admin routes are off unless -admin-token-file names a file holding a token
// (16 bytes or more); requests then carry "Authorization: Bearer <token>".
// With -admin-addr they are served on that listener only. A reload loads the
// current model directory again, or, with -model-root, a named version
// under it; never a path from the request. SIGHUP reloads the current
// directory too. A broken model directory is rejected and the old models
// keep serving. SIGINT/SIGTERM shut down gracefully, finishing requests in
// flight. Every response carries the X-Model-Generation header.
//
//	go run ./examples/serve -build -models /tmp/ytdnn-models   # train demo models, then serve
//	curl -s localhost:8080/v1/recommend -H 'Content-Type: application/json' -d '{"history":[1,2,3],"n":5}'
package main
