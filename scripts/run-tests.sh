#!/usr/bin/env bash
# SPDX-License-Identifier: BSL-1.0
# Sets everything up on Debian 12 and runs mpdecor's whole test suite:
#   0. the sources' layout against .clang-format
#   1. CMake build, CTest: tests, examples, compile-time checks, package tests, soak
#   2. b2 build: the same library, tests and examples
#   3. the test suite under AddressSanitizer + UndefinedBehaviorSanitizer; then, on Debian 13
#      (GCC 14, Boost 1.88) in a debootstrap chroot, under ThreadSanitizer
#   4. both decoders fuzzed for a bounded time
#   5. the Windows build (MinGW-w64) of the suite and examples, run under Wine; the library
#      and three examples also built with clang for MinGW-w64 and run under Wine
#   6. the Slurm suite and example against a real Slurm cluster started on this machine
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
fuzz_seconds="${MPDECOR_FUZZ_SECONDS:-20}"

# clang for the fuzzers; Google Benchmark so that the benchmarks (built, not run) compile.
scripts/setup.sh clang clang-format-14 libclang-rt-14-dev libbenchmark-dev debootstrap

# Each stage's heading says how long the run has taken so far, so that a log shows where the
# time goes.
step() { echo; echo "=== [$((SECONDS / 60))m$((SECONDS % 60))s] $*"; }

# While the first stages build, in the background: the packages of the Windows and Slurm
# stages (whose own setup then finds them installed) and the Debian 13 chroot. Its output
# is shown when the Debian 13 stage waits for it; a run that ends earlier still waits for
# it, so that no package installation is cut off halfway.
mkdir -p build
background_log=build/background-setup.log
(scripts/setup.sh g++-mingw-w64-x86-64-posix wine wine64 lld slurm-wlm slurmctld slurmd \
  slurm-client munge && scripts/debian13-test.sh --prepare) >"$background_log" 2>&1 &
background=$!
trap 'wait' EXIT

step "layout of the sources (.clang-format)"
scripts/check-format.sh

step "CMake build and CTest"
cmake --preset release
cmake --build --preset release
ctest --preset release

step "b2 build and tests"
scripts/b2-test.sh

step "test suite under asan-ubsan"
cmake --preset asan-ubsan
cmake --build --preset asan-ubsan
ctest --preset asan-ubsan

step "Debian 13 (GCC 14, Boost 1.88) in a chroot: the suite under ThreadSanitizer"
echo "=== what was set up in the background"
background_status=0
wait "$background" || background_status=$?
cat "$background_log"
if ((background_status != 0)); then
  echo "the background setup failed ($background_status)"
  exit "$background_status"
fi
scripts/debian13-test.sh

step "fuzzing, ${fuzz_seconds}s per decoder"
scripts/fuzz.sh "$fuzz_seconds"

step "Windows: the same suite and examples built with MinGW-w64, run under Wine"
scripts/windows-test.sh

step "Slurm: the suite and the sbatch example on a two-node cluster on this machine"
scripts/slurm-test.sh

step "all tests passed"
