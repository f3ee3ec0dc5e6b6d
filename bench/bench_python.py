#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The Python package's background publisher, records/s (run by bench_http,
beside libtraction's publisher in the same set: the figure is a ratio).

    PYTHONPATH=build/python bench/bench_python.py ENDPOINT RECORDS

The records are bench_http's native ones (a metric with one label, a key
each); every one must come back stored, or the run fails."""
import sys
import time

import traction

endpoint, n = sys.argv[1], int(sys.argv[2])
pub = traction.Publisher(endpoint, batch=500, max_in_flight=16, max_queued=200000, timeout=30)
t0 = time.monotonic()
for i in range(n):
    pub.publish(traction.metric("weld-line-3", "defect-vision", "1.0", "defect_rate",
                                0.01 * (i % 9 + 1), key=f"py-{i}", labels={"line": "3"}),
                block=True)
pub.flush(timeout=120)
secs = time.monotonic() - t0
pub.close()
s = pub.stats
if s["accepted"] != n:
    sys.exit(f"bench_python: {s} of {n}")
print(f"{n / secs:.0f}")
