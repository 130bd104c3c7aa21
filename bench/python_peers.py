# SPDX-License-Identifier: BSL-1.0
"""Python's own ways to run a function in another process, timed as mpdecor_bench times
mpdecor's: the peers that docs/performance.md compares mpdecor with.

    python3 bench/python_peers.py [--quick] [--out FILE]

Prints (or writes) JSON: for each case its median and mean, the unit, and the number of
samples.
Standard library only.
"""
import argparse
import json
import multiprocessing
import platform
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor


def nothing():
    pass


def increment(x):
    return x + 1


def time_calls(count, call):
    """Wall times of `count` calls of `call`, in microseconds."""
    samples = []
    for i in range(count):
        start = time.perf_counter()
        call(i)
        samples.append((time.perf_counter() - start) * 1e6)
    return samples


def start_join(method, count):
    context = multiprocessing.get_context(method)

    def call(_):
        process = context.Process(target=nothing)
        process.start()
        process.join()
        if process.exitcode != 0:
            raise RuntimeError(f"{method} child exited with {process.exitcode}")

    call(0)  # imports and the resource tracker, before the timing
    return time_calls(count, call)


def pool_round_trip(count):
    with ProcessPoolExecutor(2) as pool:
        for i in range(50):  # starts the workers before the timing
            pool.submit(increment, i).result()

        def call(i):
            if pool.submit(increment, i).result() != i + 1:
                raise RuntimeError("wrong answer")

        return time_calls(count, call)


def pool_map(items, chunksize, repetitions):
    samples = []
    with ProcessPoolExecutor(2) as pool:
        for i in range(50):
            pool.submit(increment, i).result()
        for _ in range(repetitions):
            start = time.perf_counter()
            results = list(pool.map(increment, range(items), chunksize=chunksize))
            samples.append((time.perf_counter() - start) * 1e3)
            if len(results) != items or results[-1] != items:
                raise RuntimeError("wrong results")
    return samples


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples, fewer items")
    parser.add_argument("--out", help="write the JSON here instead of standard output")
    options = parser.parse_args()

    quick = options.quick
    map_items = 10000 if quick else 100000
    map_repetitions = 2 if quick else 3
    results = []

    def record(name, unit, samples, what):
        median = statistics.median(samples)
        results.append({"name": name, "median": median, "mean": statistics.fmean(samples),
                        "unit": unit, "samples": len(samples), "description": what})
        print(f"  {name:<32} {median:12.1f} {unit}", file=sys.stderr)

    print("Python peers:", file=sys.stderr)
    record("spawn_start_join", "us", start_join("spawn", 5 if quick else 30),
           "multiprocessing spawn: Process(target=f).start() + join()")
    record("fork_start_join", "us", start_join("fork", 50 if quick else 300),
           "multiprocessing fork: Process(target=f).start() + join()")
    record("pool_round_trip", "us", pool_round_trip(500 if quick else 5000),
           "ProcessPoolExecutor(2).submit(f, x).result(), warm")
    record("pool_map_chunk_1", "ms", pool_map(map_items, 1, map_repetitions),
           f"ProcessPoolExecutor(2).map(f, range({map_items}))")
    record("pool_map_chunk_100", "ms", pool_map(map_items, 100, map_repetitions),
           f"ProcessPoolExecutor(2).map(f, range({map_items}), chunksize=100)")
    record("pool_map_chunk_1000", "ms", pool_map(map_items, 1000, map_repetitions),
           f"ProcessPoolExecutor(2).map(f, range({map_items}), chunksize=1000)")

    document = {
        "python": platform.python_implementation() + " " + platform.python_version(),
        "quick": quick,
        "map_items": map_items,
        "results": results,
    }
    text = json.dumps(document, indent=2)
    if options.out:
        with open(options.out, "w", encoding="utf-8") as out:
            out.write(text + "\n")
    else:
        print(text)


if __name__ == "__main__":
    main()
