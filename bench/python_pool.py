# SPDX-License-Identifier: BSL-1.0
"""Median round trip of ProcessPoolExecutor(2).submit(f, i).result(), in microseconds.

Run by bench/pool_roundtrip.cpp for comparison with mpdecor's pool; the argument is the
number of calls.
"""
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor


def f(x):
    return x + 1


def main():
    calls = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    with ProcessPoolExecutor(2) as pool:
        for i in range(50):  # starts the workers before timing
            pool.submit(f, i).result()
        samples = []
        for i in range(calls):
            start = time.perf_counter()
            pool.submit(f, i).result()
            samples.append(time.perf_counter() - start)
    print(f"{statistics.median(samples) * 1e6:.1f}")


if __name__ == "__main__":
    main()
