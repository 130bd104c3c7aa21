#!/usr/bin/env bash
# Sets everything up on Debian 12 and runs mpdecor's whole test suite: the CMake build with
# CTest (tests, examples, compile-time checks, package tests), then the b2 build.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

scripts/setup.sh

echo "=== CMake build and CTest"
cmake -S . -B build/ci -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build/ci -j2
ctest --test-dir build/ci --output-on-failure -j2 --timeout 900

echo "=== b2 build and tests"
scripts/b2-test.sh

echo "=== all tests passed"
