// Command serve is an HTTP JSON two-stage recommendation service. It loads
// a model directory (package modeldir: pipeline.json, the catalogue,
// candgen.model, ranking.model, optionally index.hnsw), as
// examples/pipeline train writes it, and answers
//
//	POST /v1/recommend   {"history": [12, 7], "search_tokens": [4], "attributes": {"region": 3}, "n": 10}
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
//	go run ./examples/pipeline gen -out /tmp/ytdnn-data
//	go run ./examples/pipeline train -data /tmp/ytdnn-data -spec /tmp/ytdnn-data/spec.json -out /tmp/ytdnn-models -hnsw
//	go run ./examples/serve -models /tmp/ytdnn-models
//	curl -s localhost:8080/v1/recommend -H 'Content-Type: application/json' -d '{"history":[1,2,3],"n":5}'
package main
