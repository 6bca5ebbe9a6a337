// Package server is the HTTP two-stage recommendation service of
// examples/serve: candidate generation retrieves a few hundred videos, the
// ranker orders them by expected watch time, and the top n are returned.
// Models are loaded from a model directory (package modeldir) and can be
// swapped atomically while requests continue.
//
// # Requests
//
// POST /v1/recommend takes one JSON object (Request): history and
// search_tokens (int64 IDs, exact as written), attributes by the layout's
// column names, and n. An attribute value is a JSON number or a JSON
// string (Attr): a string is a text ID, looked up in the model's ID
// dictionary; until that dictionary is wired into model directories, every
// text ID reads as unknown, as an absent attribute does. Each item of the
// answer carries its video ID twice: video (a JSON number, rounded above
// 2^53 by float64 parsers) and video_id (a JSON string, exact).
//
// # Errors
//
// A client error is a RequestError: its message says what was wrong with
// the request in JSON's terms (never a Go type), and repeats at most
// MaxEcho bytes of any value from the request, quoted. An error reading
// the body (a stall past the server's read timeout: 408; a body cut short:
// StatusClientClosedRequest; anything else: 400) gets a generic message;
// its details, socket addresses included, go to Server.Log only. Every
// response, errors and unknown routes included, carries GenerationHeader.
//
// # Files
//
// The only files read are model directories (modeldir.Load: every file
// regular, bounded and bound to the manifest by SHA-256) and the admin
// token (ReadToken: a regular file of at most MaxTokenFile bytes). A
// version named in a reload is resolved with every link followed and must
// stay inside Server.ModelRoot.
//
// # Concurrency
//
// A Server's handlers are safe for concurrent use, reloads included (one
// at a time; a second one gets ErrReloadBusy). Set its exported fields
// before serving. A Models is not changed once in service.
package server
