#!/usr/bin/env python3
"""Runs the datasets BenchmarkRetrieve exports through hnswlib and FAISS.

    YTDNN_BENCH_EXPORT=/tmp/bench go test -run '^$' -bench 'Retrieve/gaussian/100k' ./benchmarks
    OPENBLAS_CORETYPE=SkylakeX python3 benchmarks/compare/hnswlib_faiss.py /tmp/bench/gaussian-100k

Same parameters as the Go benchmark: inner product, M=16, efConstruction=200,
build on 2 threads, queries one at a time on 1 thread, recall@100 against
truth.npy. A measuring stick on a developer's machine (Debian's
python3-hnswlib, python3-faiss, python3-numpy), never a dependency.
"""
import sys, time
import numpy as np

d = sys.argv[1]
x = np.load(d + "/items.npy")
q = np.load(d + "/queries.npy")
truth = np.load(d + "/truth.npy")
n, dim = x.shape
print(f"{d}: {n} items, {len(q)} queries, dim {dim}")

def recall(found):
    return np.mean([len(set(found[i]) & set(truth[i])) / truth.shape[1] for i in range(len(q))])

import hnswlib
idx = hnswlib.Index(space="ip", dim=dim)
idx.init_index(max_elements=n, M=16, ef_construction=200, random_seed=1)
idx.set_num_threads(2)
t0 = time.time()
idx.add_items(x, np.arange(n))
print(f"hnswlib build (2 threads): {time.time() - t0:.1f} s")
idx.set_num_threads(1)
print("| ef | recall@100 | hnswlib q/s (1 thread) |")
for ef in [50, 100, 200, 400, 800]:
    idx.set_ef(max(ef, 100))
    found = np.zeros((len(q), 100), dtype=np.int64)
    t0 = time.time()
    for i in range(len(q)):
        labels, _ = idx.knn_query(q[i:i + 1], k=100)
        found[i] = labels[0]
    el = time.time() - t0
    print(f"| {ef} | {recall(found):.3f} | {len(q) / el:.0f} |")

try:
    import faiss
    faiss.omp_set_num_threads(1)
    flat = faiss.IndexFlatIP(dim)
    flat.add(x)
    t0 = time.time()
    for i in range(200):
        flat.search(q[i:i + 1], 100)
    one = 200 / (time.time() - t0)
    t0 = time.time()
    flat.search(q, 100)
    batched = len(q) / (time.time() - t0)
    print(f"FAISS flat, 1 thread: {one:.0f} q/s one at a time, {batched:.0f} q/s batched")
except ImportError:
    print("no faiss here")
