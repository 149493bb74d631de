"""Python's pickle on pool-bench's wire datasets: encode and decode MB/s (encoded MB / time).

Usage: python3 python_pickle_peer.py MIN_SECONDS
Prints one JSON object per line: {"figure": ..., "value": ..., "unit": "MB/s", "peer": ...}.
"""

import json
import pickle
import sys
import time


def best_rate(operation, size, min_seconds):
    """Megabytes per second (`size` bytes per operation), from the fastest of several batches."""
    best = None
    deadline = time.perf_counter() + min_seconds
    while best is None or time.perf_counter() < deadline:
        repeats = 0
        start = time.perf_counter()
        while True:
            operation()
            repeats += 1
            elapsed = time.perf_counter() - start
            if elapsed >= min_seconds / 5:
                break
        per_op = elapsed / repeats
        best = per_op if best is None else min(best, per_op)
    return size / 1e6 / best


def main():
    min_seconds = float(sys.argv[1])
    state = 12345
    random_bytes = bytearray()
    for _ in range(1_000_000):
        state = (state * 1103515245 + 12345) & 0x7FFFFFFF
        random_bytes.append(state & 0xFF)
    ints = []
    for _ in range(100_000):
        state = (state * 1103515245 + 12345) & 0x7FFFFFFF
        ints.append(state)
    datasets = {
        "bytes_1MB": bytes(random_bytes),
        "ints_100k": ints,
        "items_10k": [{"id": i, "name": "item-%d" % i, "score": i / 7} for i in range(10_000)],
    }
    for name, value in datasets.items():
        encoded = pickle.dumps(value, protocol=4)
        encode = best_rate(lambda: pickle.dumps(value, protocol=4), len(encoded), min_seconds)
        decode = best_rate(lambda: pickle.loads(encoded), len(encoded), min_seconds)
        print(json.dumps({"figure": "%s_bytes" % name, "value": len(encoded), "unit": "bytes", "peer": "python pickle"}))
        for op, rate in (("encode", encode), ("decode", decode)):
            print(json.dumps({"figure": "%s_%s" % (name, op), "value": rate, "unit": "MB/s", "peer": "python pickle"}))


if __name__ == "__main__":
    main()
