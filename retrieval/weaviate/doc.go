// Package weaviate serves candidate generation's retrieval from Weaviate,
// a distributed vector database written in Go (sharding, replication, HNSW
// with dot-product distance), for catalogues that outgrow one process
// (paper §3.2: retrieval is a nearest-neighbour search in the dot-product
// space).
//
// Export writes a model version's items [v_j, b_j] into a collection of
// their own (dot distance, no vectorizer; batch import through the official
// Go client, github.com/weaviate/weaviate-go-client/v5), each under its
// video ID and index row; its description records the version, the
// dimension and the item count. Open connects a retrieval.Index to that
// collection after checking all three, and the engine's object count;
// candgen.Model.SetRemoteIndex serves through it: the query is [u, 1], the
// hits come back as rows, the user's history is filtered out.
//
// # Versions
//
// A version is the first 12 hex digits of the model's candgen.model
// SHA-256. A collection name may hold ModelPlaceholder ("{model}"):
// Videos_{model} names one collection per version, so a service whose
// -retrieval URL holds it switches collection when it reloads a new
// version. A version's collection is created once by Export (after
// training, before the reload) and retired with Delete once no service
// reads it.
//
// # Errors
//
// An engine that is down, slow or refuses a query gives an error wrapping
// ErrUnavailable (a service answers 503), every call bounded by a timeout;
// a collection that is missing or holds another dimension, version or
// item count one wrapping ErrMismatch, naming both sides.
package weaviate
