#!/usr/bin/env bash
# SPDX-License-Identifier: BSL-1.0
# Builds mpdecor with b2 (Jamfile) and runs the tests, the compile-fail checks and the
# examples, then prints one summary. Extra arguments go to b2 (e.g. variant=release).
# Everything b2 writes goes outside the source tree, to $MPDECOR_B2_BUILD_DIR (by default
# ${TMPDIR:-/tmp}/mpdecor-b2), or to the folder of a --build-dir=DIR argument. Warnings are
# errors (warnings-as-errors=on). Exits non-zero when anything fails to build or to pass.
set -euo pipefail

build_dir=${MPDECOR_B2_BUILD_DIR:-${TMPDIR:-/tmp}/mpdecor-b2}
# A relative folder is taken from where the script was started.
if [[ $build_dir != /* ]]; then
  build_dir=$PWD/$build_dir
fi

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# b2 takes the last --build-dir it is given, relative to this folder.
for arg in "$@"; do
  if [[ $arg == --build-dir=* ]]; then
    build_dir=${arg#--build-dir=}
  fi
done
# Where b2 puts this project's outputs: DIR/<project id>/<the Jamfile's build-dir>.
project_dir=$build_dir/mpdecor/bin

if ! command -v b2 >/dev/null 2>&1; then
  echo "b2-test: b2 (Boost.Build) is not installed" >&2
  exit 2
fi

log=$(mktemp)
# Marks the start of this run, so that an earlier run's test report is never shown.
started=$(mktemp)
trap 'rm -f "$log" "$started"' EXIT

status=0
b2 -j2 toolset=gcc warnings-as-errors=on --build-dir="$build_dir" "$@" test 2>&1 | tee "$log" ||
  status=$?

# b2 reports each result on its own line; collect them by kind for the summary.
mapfile -t passed_runs < <(sed -n 's|^\*\*passed\*\* .*/\([^/]*\)-run\.test/.*|\1|p' "$log" | sort)
mapfile -t started_checks < <(sed -n 's|.*compile-fail-check .*/compile_fail_\([^/]*\)\.passed$|\1|p' "$log" | sort -u)
mapfile -t failed < <(sed -n -e '/^\.\.\.failed updating /d' -e 's|^\.\.\.failed [^ ]* \(.*\)\.\.\.$|\1|p' "$log")
skipped=$(sed -n 's|^\.\.\.skipped \([0-9]*\) targets\{0,1\}\.\.\.$|\1|p' "$log")

failed_checks=()
for target in "${failed[@]}"; do
  if [[ $target =~ compile_fail_(.*)\.passed$ ]]; then
    failed_checks+=("${BASH_REMATCH[1]}")
  fi
done
passed_checks=0
for check in "${started_checks[@]}"; do
  if [[ " ${failed_checks[*]} " != *" $check "* ]]; then
    passed_checks=$((passed_checks + 1))
  fi
done

echo
echo "=== b2 summary ==="
tests_output=$(find "$project_dir/mpdecor_tests-run.test" -name 'mpdecor_tests-run.output' -newer "$started" -print -quit 2>/dev/null || true)
if [[ -n $tests_output ]]; then
  # Boost.Test colours its report even into a file.
  sed 's/\x1b\[[0-9;]*m//g' "$tests_output" | grep -E '^(Test module|\*\*\*|  [0-9]+ (test case|assertion))' || true
fi
echo "programs run and passed (${#passed_runs[@]}): ${passed_runs[*]:-none}"
echo "compile-fail checks passed: $passed_checks of ${#started_checks[@]}"
if ((${#failed[@]})); then
  echo "FAILED (${#failed[@]}):"
  printf '  %s\n' "${failed[@]#"$project_dir/"}"
fi
if [[ -n $skipped ]]; then
  echo "skipped because something they need failed: $skipped"
fi
if ((status != 0)); then
  echo "RESULT: FAILED (b2 exit status $status)"
  exit "$status"
fi
echo "RESULT: all passed"
