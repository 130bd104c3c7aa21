#!/usr/bin/env bash
# SPDX-License-Identifier: BSL-1.0
# mpdecor's Slurm tests on a real (single-machine) Slurm cluster:
#   1. installs Slurm's Debian packages if missing, starts the cluster
#      (scripts/slurm-cluster.sh: nodes n1 and n2, 2 CPUs each, loopback only)
#   2. builds build/slurm with -DMPDECOR_BUILD_SLURM_TESTS=ON (the suite and the example)
#   3. runs the suite outside any allocation (each call a job of its own), then inside a
#      two-node allocation with the start method taken from MPDECOR_START_METHOD
#   4. submits examples/slurm/run.sbatch with `sbatch --wait` and checks its output
# The cluster is stopped however this ends. Exits non-zero if anything failed.
#
# Environment: MPDECOR_SLURM_CLUSTER_DIR (the cluster's folder, see slurm-cluster.sh),
# MPDECOR_BUILD_JOBS (parallel build jobs; default: the number of CPUs).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
build="$root/build/slurm"
jobs="${MPDECOR_BUILD_JOBS:-$(nproc)}"

step() { echo; echo "=== $*"; }

step "packages"
scripts/setup.sh slurm-wlm slurmctld slurmd slurm-client munge

step "Slurm cluster"
trap 'step "stopping the Slurm cluster"; scripts/slurm-cluster.sh stop' EXIT
scripts/slurm-cluster.sh start
eval "$(scripts/slurm-cluster.sh env)"

step "build ($build)"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DMPDECOR_BUILD_SLURM_TESTS=ON -DMPDECOR_BUILD_EXAMPLES=OFF -DMPDECOR_BUILD_BENCHMARKS=OFF
cmake --build "$build" --parallel "$jobs" --target mpdecor_slurm_tests mpdecor_slurm_example
tests="$build/test/slurm/mpdecor_slurm_tests"
example="$build/test/slurm/mpdecor_slurm_example"

failures=()
# Whatever a phase leaves in the queue (a job or a step still running) is a failure too.
queue_is_empty() {
  local deadline=$((SECONDS + 15)) left
  while :; do
    left="$(squeue -h -o '%i %j %T' 2>&1)"
    [ -z "$left" ] && return 0
    [ $SECONDS -ge $deadline ] && break
    sleep 0.5
  done
  echo "left in the queue after $1:"
  echo "$left"
  squeue -s
  return 1
}
run_phase() {
  local name="$1"
  shift
  step "$name"
  local runner=(timeout 600)
  declare -F "$1" >/dev/null && runner=() # a function of this script: no separate process
  if "${runner[@]}" "$@" && queue_is_empty "$name"; then
    echo "--- $name: passed"
  else
    echo "--- $name: FAILED"
    failures+=("$name")
  fi
}

run_phase "suite outside an allocation (a job per call)" \
  "$tests" --log_level=message --report_level=short

# Inside an allocation, plain calls take Slurm from the environment, with an srun option
# from MPDECOR_SRUN_OPTIONS that the suite checks in the step.
run_phase "suite inside an allocation (salloc -N2, a step per call)" \
  salloc --quiet --nodes=2 --ntasks-per-node=2 --time=10 --job-name=mpdecor-slurm-tests \
  env MPDECOR_START_METHOD=slurm \
  MPDECOR_SRUN_OPTIONS="--export=ALL,MPDECOR_SLURM_TEST_SET=from-srun-options" \
  MPDECOR_SLURM_TEST_EXPECT=from-srun-options \
  "$tests" --log_level=message --report_level=short

# The example as a batch job: the program runs in the batch step, its calls are steps
# spread over both nodes.
check_example() {
  local output="$build/cluster_calls-sbatch.out"
  rm -f "$output"
  sbatch --quiet --wait --output="$output" examples/slurm/run.sbatch "$example" || {
    cat "$output" 2>/dev/null
    return 1
  }
  cat "$output"
  if grep -q '^proc_wait: simulate(1) = .* on n[12] ' "$output" &&
    [ "$(grep -c '^proc: simulate(.*) = .* on n[12] ' "$output")" -eq 4 ] &&
    grep -q '^proc: .* on n1 ' "$output" && grep -q '^proc: .* on n2 ' "$output" &&
    grep -q '^pool: 12 items ran on n1 ([0-9]*) n2 ([0-9]*)$' "$output"; then
    return 0
  fi
  echo "the example's output lacks a call, or a call on each node"
  return 1
}
run_phase "example: sbatch --wait examples/slurm/run.sbatch" check_example

step "summary"
if [ ${#failures[@]} -ne 0 ]; then
  printf 'failed: %s\n' "${failures[@]}"
  exit 1
fi
echo "all Slurm tests passed"
