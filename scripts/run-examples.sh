#!/usr/bin/env bash
# SPDX-License-Identifier: BSL-1.0
# Sets everything up on Debian 12, builds mpdecor and runs every example.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

scripts/setup.sh
cmake -S . -B build/examples -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMPDECOR_BUILD_TESTS=OFF -DMPDECOR_BUILD_BENCHMARKS=OFF
cmake --build build/examples -j2
for example in build/examples/examples/*; do
  if [ -f "$example" ] && [ -x "$example" ]; then
    echo "=== $(basename "$example")"
    "$example"
  fi
done
echo "=== all examples ran"
