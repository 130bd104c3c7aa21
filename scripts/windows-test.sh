#!/usr/bin/env bash
# SPDX-License-Identifier: BSL-1.0
# Builds mpdecor, its tests and its examples as Windows programs with MinGW-w64 and runs
# every one of them under Wine through CTest (cmake/toolchain-mingw64.cmake,
# cmake/wine-run.sh). First, the second Windows compiler: clang for MinGW-w64
# (cmake/toolchain-mingw64-clang.cmake) builds the library and three examples, which run under
# Wine as well. Exits non-zero when anything fails to build or to pass.
#
# Wine occasionally fails a CreateProcess with system error 1359 (ERROR_INTERNAL_ERROR: the
# new Wine process did not start), which mpdecor reports as launch_error (it never retries
# by itself). A test whose only failures are such launch errors is run again, up to three
# times: only its failed cases for the Boost.Test suites, the whole program otherwise. This
# script says so; any other failure, or a fourth launch error, fails the run.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

scripts/setup.sh g++-mingw-w64-x86-64-posix wine wine64 clang lld

build=build/windows
echo "=== Windows build (MinGW-w64)"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_TOOLCHAIN_FILE="$root/cmake/toolchain-mingw64.cmake"
cmake --build "$build" -j2

# One Wine prefix for every program of the run, so that one wineserver serves them all and
# stopping it stops everything Wine started.
export WINEPREFIX="$root/$build/wine-prefix"
stop_wine() { wineserver -k 2>/dev/null || true; }
trap stop_wine EXIT

# A process starts in about 0.1-0.2 s under Wine: the descriptor-leak test makes 300 calls
# rather than 1000 (a leak of one handle per call shows as well), as the sanitizer runs do.
export MPDECOR_TEST_CALLS="${MPDECOR_TEST_CALLS:-300}"

# The lines of a test's output in which it reports a failure: Boost.Test's
# ('error: in "suite/case": ...', 'fatal error: in ...') and an uncaught exception's
# ('what():  ...'). Other lines (a test skipped because its precondition failed, a test case
# whose name contains "failed") are no failures.
failure_lines() { grep -E 'error: in "|what\(\)' || true; }

# True when there are failure lines and each of them is a launch that Wine failed, or belongs
# to a test case that also has such a line: a case whose child never started also fails the
# checks that follow the launch (a wait_for that should have timed out returns at once), and
# those failures are the launch's, not the case's.
only_launch_errors() {
  local failures="$1"
  [[ -n $failures ]] && awk '
    { line[NR] = $0; name[NR] = "" }
    /error: in "/ { split($0, part, "\""); name[NR] = part[2] }
    /mpdecor::launch_error|could not start a child/ { launch[NR] = 1; if (name[NR] != "") failed_launch[name[NR]] = 1 }
    END {
      for (i = 1; i <= NR; ++i)
        if (!(i in launch) && !(name[i] != "" && name[i] in failed_launch)) exit 1
    }' <<<"$failures"
}

# The second Windows compiler: clang with Debian's MinGW-w64 runtime
# (cmake/toolchain-mingw64-clang.cmake) builds the library and three examples, with warnings
# as errors, and the examples run under Wine. The whole suite runs with GCC's build below.
echo "=== clang for Windows (x86_64-w64-mingw32): the library and three examples"
clang_build=build/windows-clang
cmake -S . -B "$clang_build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_TOOLCHAIN_FILE="$root/cmake/toolchain-mingw64-clang.cmake" \
  -DMPDECOR_BUILD_TESTS=OFF -DMPDECOR_BUILD_BENCHMARKS=OFF
# For the run's time, three examples rather than all eight: a call's value, a pool's map
# and Asio calls, which between them use all of the library.
clang_examples=(return_value pool_map async_calls)
cmake --build "$clang_build" -j2 --target "${clang_examples[@]}"
clang_status=0
clang_output=$(ctest --test-dir "$clang_build" --output-on-failure -j2 --timeout 300 \
  -R "^example\.(return_value|pool_map|async_calls)\$" 2>&1) || clang_status=$?
echo "$clang_output"
if ((clang_status != 0)); then
  # As below: a launch that Wine failed is retried, once; nothing else is.
  if ! only_launch_errors "$(failure_lines <<<"$clang_output")"; then
    echo "=== clang's Windows examples FAILED under Wine"
    exit "$clang_status"
  fi
  echo "=== Wine failed a launch (mpdecor::launch_error); running the failed examples again"
  ctest --test-dir "$clang_build" --output-on-failure --timeout 300 --rerun-failed
fi

echo "=== CTest under Wine"
status=0
ctest --test-dir "$build" --output-on-failure -j2 --timeout 900 || status=$?
if ((status == 0)); then
  echo "=== all Windows tests passed under Wine"
  exit 0
fi


log="$build/Testing/Temporary/LastTest.log"
failed_list="$build/Testing/Temporary/LastTestsFailed.log"
reruns=()
declare -A first_failures
while IFS=: read -r _ name; do
  failures=$(awk -v name="$name" '
    $0 ~ "^[0-9]+/[0-9]+ Test: " name "$" { inside = 1; next }
    inside && /^Test time =/ { inside = 0 }
    inside { print }' "$log" | failure_lines)
  if ! only_launch_errors "$failures"; then
    echo "=== Windows tests FAILED under Wine ($name):"
    echo "${failures:-(no failure line: see the output above)}"
    exit "$status"
  fi
  reruns+=("$name")
  first_failures[$name]=$failures
done <"$failed_list"
if ((${#reruns[@]} == 0)); then
  echo "=== Windows tests FAILED under Wine"
  exit "$status"
fi

# The Boost.Test cases ("suite/case") named in failure lines, one a line.
cases_of() { grep -oE 'error: in "[^"]+"' <<<"$1" | sed -E 's/.*"(.*)"/\1/' | sort -u || true; }

# Runs one failed test again until it passes, at most three times. A Boost.Test suite runs
# only the cases that failed (a whole suite makes thousands of launches, any of which Wine
# may fail again); the cases of an attempt that fails on launch errors alone are the next
# attempt's.
rerun() {
  local name="$1" program="$build/test/$1.exe" failures
  local cases
  cases=$(cases_of "${first_failures[$name]}")
  for attempt in 1 2 3; do
    local output status=0
    if [[ -f $program && -n $cases ]]; then
      local filters=()
      while read -r case_name; do filters+=("--run_test=$case_name"); done <<<"$cases"
      echo "=== $name, attempt $attempt: ${filters[*]}"
      output=$(cd "$build/test" && "$root/cmake/wine-run.sh" "$root/$program" \
        --log_level=test_suite --report_level=short "${filters[@]}" 2>&1) || status=$?
    else
      echo "=== $name, attempt $attempt"
      output=$(ctest --test-dir "$build" --output-on-failure --timeout 900 -R "^$name\$" 2>&1) ||
        status=$?
    fi
    echo "$output" | tail -n 20
    ((status == 0)) && return 0
    failures=$(failure_lines <<<"$output")
    only_launch_errors "$failures" || return 1
    cases=$(cases_of "$failures")
  done
  return 1
}

echo "=== Wine failed a launch (mpdecor::launch_error) in: ${reruns[*]}; running them again"
for name in "${reruns[@]}"; do
  if ! rerun "$name"; then
    echo "=== Windows tests FAILED under Wine ($name)"
    exit 1
  fi
done
echo "=== all Windows tests passed under Wine (run again after a launch_error: ${reruns[*]})"
