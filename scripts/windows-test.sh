#!/usr/bin/env bash
# Builds mpdecor, its tests and its examples as Windows programs with MinGW-w64 and runs
# every one of them under Wine through CTest (cmake/toolchain-mingw64.cmake,
# cmake/wine-run.sh). Exits non-zero when anything fails to build or to pass.
#
# Wine occasionally fails a CreateProcess with system error 1359, which mpdecor reports
# as launch_error (it never retries by itself). A test whose only failures are such
# launch errors is run once more, and this script says so; any other failure fails the run.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

scripts/setup.sh g++-mingw-w64-x86-64-posix wine wine64

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

echo "=== CTest under Wine"
status=0
ctest --test-dir "$build" --output-on-failure -j2 --timeout 900 || status=$?
if ((status == 0)); then
  echo "=== all Windows tests passed under Wine"
  exit 0
fi

# Which failed tests failed only because a launch failed: every line of their output in
# which Boost.Test reports a failure ('error: in "suite/case": ...', 'fatal error: in ...')
# names mpdecor::launch_error or carries its message. Other lines (a test skipped because
# its precondition failed, a test case whose name contains "failed") are no failures.
log="$build/Testing/Temporary/LastTest.log"
failed_list="$build/Testing/Temporary/LastTestsFailed.log"
only_launch_errors=1
retried=()
while IFS=: read -r _ name; do
  output=$(awk -v name="$name" '
    $0 ~ "^[0-9]+/[0-9]+ Test: " name "$" { inside = 1; next }
    inside && /^Test time =/ { inside = 0 }
    inside { print }' "$log")
  failures=$(grep -E 'error: in "|what\(\)' <<<"$output" || true)
  if [[ -n $failures ]] && ! grep -qvE 'mpdecor::launch_error|could not start a child' <<<"$failures"; then
    retried+=("$name")
  else
    only_launch_errors=0
  fi
done <"$failed_list"

if ((only_launch_errors == 0 || ${#retried[@]} == 0)); then
  echo "=== Windows tests FAILED under Wine"
  exit "$status"
fi
echo "=== Wine failed a launch (mpdecor::launch_error) in: ${retried[*]}; running once more"
ctest --test-dir "$build" --output-on-failure --timeout 900 --rerun-failed
echo "=== all Windows tests passed under Wine (retried after a launch_error: ${retried[*]})"
