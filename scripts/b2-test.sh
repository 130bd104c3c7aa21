#!/usr/bin/env bash
# SPDX-License-Identifier: BSL-1.0
# Builds mpdecor with b2 (Jamfile) and runs the tests, the compile-fail checks and the
# examples, then builds and runs test/b2-consumer, a separate b2 project that uses mpdecor
# through use-project, and prints one summary. Extra arguments go to b2 (e.g.
# variant=release), for the consumer too.
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
# The consumer is built from its own folder, so the path must not be relative to this one.
if [[ $build_dir != /* ]]; then
  build_dir=$PWD/$build_dir
fi
# Where b2 puts this project's outputs: DIR/<project id>/<the Jamfile's build-dir>.
project_dir=$build_dir/mpdecor/bin

if ! command -v b2 >/dev/null 2>&1; then
  echo "b2-test: b2 (Boost.Build) is not installed" >&2
  exit 2
fi

log=$(mktemp)
consumer_log=$(mktemp)
warning_log=$(mktemp)
# Marks the start of this run, so that an earlier run's test report is never shown.
started=$(mktemp)
trap 'rm -f "$log" "$consumer_log" "$warning_log" "$started"' EXIT

status=0
b2 -j2 toolset=gcc warnings-as-errors=on --build-dir="$build_dir" "$@" test 2>&1 | tee "$log" ||
  status=$?

# test/b2-consumer, a b2 project of its own, as a user's: it finds mpdecor through
# `use-project /mpdecor : ../..` only. It gets the same toolset, properties and --build-dir
# (the last one given is b2's), so mpdecor's library, already built above for its examples,
# is reused rather than compiled again. --verbose-test shows the program's output.
echo
echo "=== b2 consumer (test/b2-consumer) ==="
consumer_status=0
consumer_started=$SECONDS
(cd test/b2-consumer &&
  b2 -j2 toolset=gcc warnings-as-errors=on "$@" --build-dir="$build_dir" --verbose-test \
    b2_consumer-run) 2>&1 | tee "$consumer_log" || consumer_status=$?
consumer_seconds=$((SECONDS - consumer_started))
# What b2 compiled or linked of mpdecor's for the consumer: nothing when it was reused.
mpdecor_rebuilt=$(awk -v dir="$build_dir/mpdecor/" '$1 ~ /\./ && index($2, dir) == 1' \
  "$consumer_log" | wc -l)

# The consumer's code must not get -Werror from mpdecor: without warnings-as-errors=on, a
# source of its own with a warning, compiled with mpdecor's usage requirements, must
# compile and show that warning.
warning_status=0
warning_started=$SECONDS
(cd test/b2-consumer &&
  b2 -j2 toolset=gcc "$@" --build-dir="$build_dir" warning_check) 2>&1 |
  tee "$warning_log" || warning_status=$?
warning_seconds=$((SECONDS - warning_started))
if ((warning_status == 0)) && ! grep -q "unused_on_purpose" "$warning_log"; then
  # Compiled, but without the warning the check proves nothing (warnings=off, say).
  warning_status=no-warning
fi

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
if ((consumer_status == 0)); then
  if ((mpdecor_rebuilt == 0)); then
    reuse="mpdecor's library reused, none of it rebuilt"
  else
    reuse="$mpdecor_rebuilt of mpdecor's targets built for it"
  fi
  echo "b2 consumer (use-project, shared libmpdecor): passed in ${consumer_seconds} s; $reuse"
else
  echo "b2 consumer (use-project, shared libmpdecor): FAILED to build or run (b2 exit status $consumer_status)"
fi
if [[ $warning_status == 0 ]]; then
  echo "b2 consumer without warnings-as-errors=on: its own warning stayed a warning (${warning_seconds} s)"
elif [[ $warning_status == no-warning ]]; then
  echo "b2 consumer without warnings-as-errors=on: FAILED, warning_check.cpp compiled without its warning"
else
  echo "b2 consumer without warnings-as-errors=on: FAILED, its own warning stopped the build (b2 exit status $warning_status)"
fi
if ((status != 0)); then
  echo "RESULT: FAILED (b2 exit status $status)"
  exit "$status"
fi
if ((consumer_status != 0)) || [[ $warning_status != 0 ]]; then
  echo "RESULT: FAILED (the b2 consumer, test/b2-consumer)"
  exit 1
fi
echo "RESULT: all passed"
