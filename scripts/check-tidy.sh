#!/usr/bin/env bash
# SPDX-License-Identifier: BSL-1.0
# Runs clang-tidy 14 with .clang-tidy's checks over the library's sources (lib/, and the
# headers they include), and fails on any finding. It needs a CMake build's compile
# database: BUILD_DIR (default build/release) is configured with
# CMAKE_EXPORT_COMPILE_COMMANDS=ON first. Takes about 2.5 minutes on two cores.
#
# The database is rewritten for clang: GCC's precompiled header is replaced by the header it
# is made from (lib/config.hpp), the language is C++17 (GCC 12 defaults to it, clang 14 does
# not, so CMake writes no -std), and stack_trace.cpp takes its dladdr path (GCC's
# libbacktrace header is GCC's own).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
build="${1:-build/release}"

scripts/setup.sh clang-tidy-14 python3
cmake -S . -B "$build" -DCMAKE_EXPORT_COMPILE_COMMANDS=ON > /dev/null
database=$(mktemp -d)
trap 'rm -rf "$database"' EXIT
python3 - "$build/compile_commands.json" "$database/compile_commands.json" "$root" <<'PY'
import json, re, sys
entries = json.load(open(sys.argv[1]))
for entry in entries:
    command = re.sub(r"-include \S*cmake_pch\.hxx", "-include " + sys.argv[3] + "/lib/config.hpp",
                     entry["command"])
    entry["command"] = command.replace("-Winvalid-pch", "")
json.dump(entries, open(sys.argv[2], "w"))
PY

mapfile -t sources < <(git ls-files 'lib/*.cpp' | grep -v '_windows\.cpp$')
printf '%s\n' "${sources[@]}" |
  xargs -P "$(nproc)" -n 1 clang-tidy-14 -p "$database" --quiet --extra-arg=-std=c++17 \
    --extra-arg=-UMPDECOR_HAVE_LIBBACKTRACE
echo "check-tidy: ${#sources[@]} sources pass .clang-tidy's checks"
