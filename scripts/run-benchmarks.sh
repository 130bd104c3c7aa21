#!/usr/bin/env bash
# SPDX-License-Identifier: BSL-1.0
# Sets everything up on Debian 12, builds mpdecor's benchmark suite (Release), runs it and
# the Python peers, and writes docs/performance.md and docs/performance.png.
#
#   scripts/run-benchmarks.sh           the whole suite (several minutes on 2 cores)
#   scripts/run-benchmarks.sh --quick   a short run with smaller sizes, to check the setup
#
# Extra arguments after --quick go to both runs of mpdecor_bench (e.g.
# --benchmark_min_time=0.5; a --benchmark_filter given there replaces the script's own).
# The raw results stay in build/bench/results/.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

quick=()
if [ "${1:-}" = "--quick" ]; then
  quick=(--quick)
  shift
fi
build=build/bench
results="$build/results"
jobs="${MPDECOR_BUILD_JOBS:-2}"

step() { echo; echo "=== $*"; }

scripts/setup.sh libbenchmark-dev gnuplot-nox python3

step "building mpdecor_bench (Release) in $build"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DMPDECOR_BUILD_TESTS=OFF -DMPDECOR_BUILD_EXAMPLES=OFF -DMPDECOR_BUILD_FUZZERS=OFF \
  -DMPDECOR_BUILD_BENCHMARKS=ON
cmake --build "$build" -j"$jobs" --target mpdecor_bench

mkdir -p "$results"
# Repetitions of the cases randomly interleaved: a stretch of load from other processes
# falls on every case alike, which keeps the ratios between them honest. The throughput
# cases run in a second process: their big payloads leave memory in malloc's arenas, and
# the other cases (the forks of a big parent above all) want a parent of known size.
bench=("$build/bench/mpdecor_bench" ${quick[@]+"${quick[@]}"} --benchmark_enable_random_interleaving=true
       --benchmark_out_format=json)
step "mpdecor_bench ${quick[*]}: everything but throughput"
"${bench[@]}" --benchmark_filter='-^throughput/' --benchmark_out="$results/mpdecor_bench.json" "$@"
step "mpdecor_bench ${quick[*]}: throughput"
"${bench[@]}" --benchmark_filter='^throughput/' --benchmark_out="$results/mpdecor_bench_throughput.json" "$@"

step "Python peers ${quick[*]}"
python3 bench/python_peers.py ${quick[@]+"${quick[@]}"} --out "$results/python_peers.json"

step "writing docs/performance.md and docs/performance.png"
python3 bench/make_report.py --bench "$results/mpdecor_bench.json" \
  --bench "$results/mpdecor_bench_throughput.json" \
  --python "$results/python_peers.json" --markdown docs/performance.md \
  --figure docs/performance.png --work "$results/figure"
echo "=== done: docs/performance.md"
