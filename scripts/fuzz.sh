#!/usr/bin/env bash
# SPDX-License-Identifier: BSL-1.0
# Builds the libFuzzer targets with clang (AddressSanitizer and UndefinedBehaviorSanitizer)
# and runs each for a bounded time from the committed seed corpus.
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET]   (default 30)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
seconds="${1:-30}"

scripts/setup.sh clang libclang-rt-14-dev
CC=clang CXX=clang++ cmake -S . -B build/fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DMPDECOR_BUILD_TESTS=OFF -DMPDECOR_BUILD_EXAMPLES=OFF -DMPDECOR_BUILD_BENCHMARKS=OFF \
  -DMPDECOR_BUILD_FUZZERS=ON \
  -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined"
cmake --build build/fuzz -j2

work="build/fuzz/run"
rm -rf "$work"
status=0
for target in call reply; do
  mkdir -p "$work/$target"
  echo "=== fuzzing the $target decoder for ${seconds}s"
  # -rss_limit_mb: a decoder that over-allocates fails here too, not only in the checks.
  if ! (cd "$work" && "$root/build/fuzz/test/fuzz/mpdecor_fuzz_$target" \
        -max_total_time="$seconds" -rss_limit_mb=1024 -print_final_stats=1 \
        "$target" "$root/test/fuzz/corpus/$target" 2>"$target.log"); then
    echo "fuzz_$target FAILED; see $work/$target.log and $work/crash-*"
    tail -n 30 "$work/$target.log"
    status=1
  fi
  grep -E "stat::number_of_executed_units" "$work/$target.log" | sed "s/^/fuzz_$target: /"
done
exit $status
