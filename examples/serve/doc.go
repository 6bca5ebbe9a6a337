// Command serve is an HTTP JSON two-stage recommendation service. It loads
// a model directory (package modeldir: pipeline.json, the catalogue,
// candgen.model, ranking.model, optionally index.hnsw, every file bound to
// the manifest by size and SHA-256), as examples/pipeline train writes it,
// and answers
//
//	POST /v1/recommend   {"history": [12, 7], "search_tokens": [4], "attributes": {"region": 3, "age": 31}, "n": 10}
//	GET  /healthz
//	GET  /metrics        (Prometheus text format)
//	POST /admin/reload   {} or {"version": "v2"}   (only with -admin-token-file)
//
// IDs (history, search tokens, event videos, ID attributes) are JSON
// integers for a model trained on integer IDs and JSON strings for one
// trained on text IDs, mapped through the model directory's dictionary
// (text the log never had reads as unknown); an absent attribute is
// unknown, never category 0. Requests may carry the user's timed events
// ("events", "time") instead of a history, so the ranking signals are
// computed as at training. Items carry "video" (the model's int64 ID) and
// "video_id" (the ID as the log had it: its text, or the integer as a
// string, exact beyond 2^53). Error messages
// never hold server details (socket addresses, paths, Go types) and repeat
// at most 64 bytes of any request value.
//
// Admin routes are off unless -admin-token-file names a file holding a token
// (16 bytes or more, a regular file of at most 4 KiB); requests then carry
// "Authorization: Bearer <token>" (the scheme in any case). With
// -admin-addr they are served on that listener only. A reload loads the
// current model directory again, or, with -model-root, a named version
// under it (a link is followed only if it resolves inside the root); never
// a path from the request. SIGHUP reloads the current directory too; the
// SIGHUP handler is installed before the models are loaded, so a SIGHUP
// during start-up does not kill the process (it reloads once serving). A
// broken model directory is rejected and the old models keep serving.
// SIGINT/SIGTERM shut down gracefully, finishing requests in flight. Every
// response, errors included, carries the X-Model-Generation header. A client
// that goes away before its answer is counted as status 499, not 503.
//
//	go run ./examples/pipeline gen -out /tmp/ytdnn-data
//	go run ./examples/pipeline train -data /tmp/ytdnn-data -spec /tmp/ytdnn-data/spec.json -out /tmp/ytdnn-models -hnsw
//	go run ./examples/serve -models /tmp/ytdnn-models
//	curl -s localhost:8080/v1/recommend -H 'Content-Type: application/json' -d '{"history":[1,2,3],"n":5}'
package main
