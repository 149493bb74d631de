"""Python's ThreadPoolExecutor, measured the way pool-bench measures ThreadPool.

pool-bench starts this script once per round (interleaved with the Swift implementations)
and reads one JSON object per line: {"figure": ..., "value": ..., "unit": ...}.
Usage: python3 python_thread_peer.py SUBMIT_COUNT MAP_COUNT ROUND_TRIPS WORKERS
"""

import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor


def noop():
    return None


def plus_one(value):
    return value + 1


def emit(figure, value, unit):
    print(json.dumps({"figure": figure, "value": value, "unit": unit}), flush=True)


def main():
    submit_count, map_count, round_trips, workers = (int(arg) for arg in sys.argv[1:5])
    with ThreadPoolExecutor(max_workers=workers) as pool:
        # Warm up: start every worker thread before timing.
        for future in [pool.submit(noop) for _ in range(workers * 10)]:
            future.result()

        start = time.perf_counter()
        futures = [pool.submit(noop) for _ in range(submit_count)]
        for future in futures:
            future.result()
        emit("submit_wait", (time.perf_counter() - start) / submit_count * 1e6, "us/task")

        start = time.perf_counter()
        results = list(pool.map(plus_one, range(map_count)))
        elapsed = time.perf_counter() - start
        assert results[-1] == map_count
        emit("map_tiny", elapsed / map_count * 1e9, "ns/item")

        start = time.perf_counter()
        for _ in range(round_trips):
            pool.submit(noop).result()
        emit("round_trip", (time.perf_counter() - start) / round_trips * 1e6, "us")


if __name__ == "__main__":
    main()
