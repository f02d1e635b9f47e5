#!/usr/bin/python3
"""The benchmark peer for the 1:N gallery: FAISS IndexFlatIP (Debian python3-faiss), one thread,
one query at a time with k=1, over the vectors daemon/match's BenchmarkGallery wrote to DIR.

Prints one JSON document: {"peer": ..., "stages": {"f32_10k": {"ns_per_op": [mean of this round]}}}.
"""
import sys
import time

import faiss
import numpy as np

DIR = sys.argv[1]
faiss.omp_set_num_threads(1)
queries = np.fromfile(DIR + "/queries.f32", dtype="<f4").reshape(-1, 128)

out = {"peer": "faiss %s IndexFlatIP, one thread" % faiss.__version__, "stages": {}}
for n in (10_000, 100_000, 1_000_000):
    xb = np.fromfile(DIR + "/gallery-%d.f32" % n, dtype="<f4").reshape(-1, 128)
    index = faiss.IndexFlatIP(128)
    index.add(xb)
    index.search(queries[:1], 1)  # warm up
    # About one second of single-query searches, as testing.B aims for.
    t0 = time.perf_counter()
    index.search(queries[:1], 1)
    once = max(time.perf_counter() - t0, 1e-7)
    iters = max(1, min(20000, int(1.0 / once)))
    t0 = time.perf_counter()
    for i in range(iters):
        index.search(queries[i % len(queries)][None, :], 1)
    out["stages"]["f32_%dk" % (n // 1000)] = {"ns_per_op": [(time.perf_counter() - t0) / iters * 1e9]}
import json
print(json.dumps(out))
