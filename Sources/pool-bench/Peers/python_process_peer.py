"""Python's ProcessPoolExecutor, measured the way pool-bench measures ProcessPool.

pool-bench starts this script once per round (interleaved with the Swift implementations) and
reads one JSON object per line: {"figure": ..., "value": ..., "unit": ..., "peer": ...}.
Usage: python3 python_process_peer.py MAP_COUNT ROUND_TRIPS MB_ITEMS BIG_MB BIG_ITEMS WORKERS
"""

import json
import multiprocessing
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor


def noop(value):
    return value


def emit(figure, value, unit, peer):
    print(json.dumps({"figure": figure, "value": value, "unit": unit, "peer": peer}), flush=True)


def first_result(method, workers):
    context = multiprocessing.get_context(method)
    start = time.perf_counter()
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        pool.submit(noop, 1).result()
        return (time.perf_counter() - start) * 1e3


def main():
    map_count, round_trips, mb_items, big_mb, big_items, workers = (int(a) for a in sys.argv[1:7])
    emit("first_result", first_result("fork", workers), "ms", "python ProcessPoolExecutor, fork")
    emit("first_result", first_result("spawn", workers), "ms", "python ProcessPoolExecutor, spawn")

    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        list(pool.map(noop, range(1000)))  # every worker up
        times = []
        for _ in range(round_trips):
            start = time.perf_counter()
            pool.submit(noop, 1).result()
            times.append(time.perf_counter() - start)
        emit("round_trip", statistics.median(times) * 1e6, "us", "python ProcessPoolExecutor, fork")

        for chunk in (1, 100):
            start = time.perf_counter()
            results = list(pool.map(noop, range(map_count), chunksize=chunk))
            assert len(results) == map_count
            emit(
                "map_empty_chunk%d" % chunk, (time.perf_counter() - start) / map_count * 1e6, "us/item",
                "python ProcessPoolExecutor, fork, chunksize=%d" % chunk,
            )

        one_mb = bytes(1_000_000)
        start = time.perf_counter()
        sizes = list(pool.map(len, [one_mb] * mb_items, chunksize=1))
        assert sum(sizes) == mb_items * 1_000_000
        emit("payload_1MB", mb_items / (time.perf_counter() - start), "MB/s", "python ProcessPoolExecutor, fork")

        big = bytes(big_mb * 1_000_000)
        start = time.perf_counter()
        sizes = list(pool.map(len, [big] * big_items, chunksize=1))
        assert sum(sizes) == big_items * big_mb * 1_000_000
        emit(
            "payload_%dMB" % big_mb, big_items * big_mb / (time.perf_counter() - start), "MB/s",
            "python ProcessPoolExecutor, fork",
        )


if __name__ == "__main__":
    main()
