#!/usr/bin/env bash
# SPDX-License-Identifier: BSL-1.0
# A small Slurm cluster on this one machine, for mpdecor's Slurm tests and examples:
# slurmctld and two slurmd "nodes", n1 and n2 with 2 CPUs each, all listening on
# 127.0.0.1 only. Configuration, state, logs and pid files live in one folder,
# $MPDECOR_SLURM_CLUSTER_DIR (default: build/slurm-cluster in the repository); nothing is
# written to system paths and no service manager is involved.
#
# Usage: scripts/slurm-cluster.sh start|stop|status|env
#   start   start the daemons (if they are not running) and wait until both nodes are idle
#           and a two-node step runs
#   stop    shut the cluster down, cancel what still runs, and wait until no daemon or step
#           process of this cluster is left
#   status  print the daemons and the nodes; exits 0 when the cluster is up, 3 when not
#   env     print the shell lines that point Slurm's commands at this cluster:
#           eval "$(scripts/slurm-cluster.sh env)"
#
# Environment: MPDECOR_SLURM_CLUSTER_DIR (the folder), MPDECOR_SLURM_PORT (slurmctld's port;
# the nodes take the next two; default: the first free trio from 17017 on).
#
# Needs Debian's slurmctld, slurmd and slurm-client (scripts/setup.sh slurmctld slurmd
# slurm-client). Runs as root, or as a normal user, who then owns the cluster and can only
# run jobs as themselves.
#
# Authentication is auth/none with cred/none: every daemon runs on this machine and
# listens on loopback only, so munge would add a daemon and a key without protecting
# anything here.
set -euo pipefail

# The daemons are in /usr/sbin, which a normal user's PATH may lack.
PATH="$PATH:/usr/sbin:/sbin"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${MPDECOR_SLURM_CLUSTER_DIR:-$root/build/slurm-cluster}"
conf="$dir/slurm.conf"
nodes=(n1 n2)

say() { echo "slurm-cluster: $*"; }
fail() { echo "slurm-cluster: $*" >&2; exit 1; }

# The pid in a pid file, if that process is alive and is the daemon the file names (a
# stale file may hold a pid that now belongs to something else). A daemon that has exited
# but not yet been reaped (a zombie, which pid 1 may leave for a while) counts as gone.
live_pid() {
  local file="$1" pid state daemon
  [ -s "$file" ] || return 1
  pid="$(cat "$file")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  daemon="$(basename "$file" .pid)"
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "${daemon%%-*}" ] || return 1
  state="$(awk '/^State:/ {print $2}' "/proc/$pid/status" 2>/dev/null)" || return 1
  [ -n "$state" ] && [ "$state" != Z ] || return 1
  echo "$pid"
}

pid_files() {
  echo "$dir/run/slurmctld.pid"
  for node in "${nodes[@]}"; do echo "$dir/run/slurmd-$node.pid"; done
}

# Step daemons (slurmstepd) of this cluster: they log into this cluster's folder, so one
# of their open files lies in it. Other clusters' steps on the same machine are left alone.
step_pids() {
  local pid fd
  for pid in $(pgrep -x slurmstepd 2>/dev/null || true); do
    for fd in "/proc/$pid/fd/"*; do
      if [[ "$(readlink "$fd" 2>/dev/null)" == "$dir/"* ]]; then
        echo "$pid"
        break
      fi
    done
  done
}

port_in_use() { ss -Htln "sport = :$1" 2>/dev/null | grep -q .; }

choose_port() {
  if [ -n "${MPDECOR_SLURM_PORT:-}" ]; then
    echo "$MPDECOR_SLURM_PORT"
    return
  fi
  local base
  for base in $(seq 17017 100 19917); do
    if ! port_in_use "$base" && ! port_in_use $((base + 1)) && ! port_in_use $((base + 2)); then
      echo "$base"
      return
    fi
  done
  fail "no free ports for slurmctld and the nodes between 17017 and 19919; set MPDECOR_SLURM_PORT"
}

write_config() {
  local port="$1" user
  user="$(id -un)"
  mkdir -p "$dir/state" "$dir/log" "$dir/run"
  for node in "${nodes[@]}"; do mkdir -p "$dir/spool/$node"; done
  cat >"$conf" <<EOF
# Written by scripts/slurm-cluster.sh: a single-machine test cluster for mpdecor.
ClusterName=mpdecor
# slurmctld checks that it runs on the host named here; the address keeps it on loopback.
SlurmctldHost=$(hostname -s)(127.0.0.1)
SlurmctldPort=$port
SlurmUser=$user
SlurmdUser=$user
AuthType=auth/none
CredType=cred/none
# Both are needed: with NoInAddrAny alone slurmctld still listens on every address.
CommunicationParameters=NoCtldInAddrAny,NoInAddrAny
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool/%n
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd-%n.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd-%n.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MpiDefault=none
MailProg=/bin/true
# Nodes come back by themselves after a restart; trust the CPU counts below even on a
# machine with fewer cores (both nodes share this machine's CPUs).
ReturnToService=2
SlurmdParameters=config_overrides
# A cancelled step gets SIGKILL 2 s after SIGTERM; finished jobs leave the controller soon.
KillWait=2
MinJobAge=30
# Several slurmd on one machine: one port each, the same loopback address.
NodeName=n[1-2] NodeHostname=localhost NodeAddr=127.0.0.1 Port=[$((port + 1))-$((port + 2))] CPUs=2 State=UNKNOWN
PartitionName=debug Nodes=n[1-2] Default=YES MaxTime=INFINITE State=UP
EOF
}

running() { live_pid "$dir/run/slurmctld.pid" >/dev/null; }

wait_until_ready() {
  local deadline=$((SECONDS + 60)) idle=0
  while [ $SECONDS -lt $deadline ]; do
    idle="$(sinfo -h -N -t idle -o '%N' 2>/dev/null | sort -u | wc -l)"
    [ "$idle" -eq ${#nodes[@]} ] && break
    sleep 0.2
  done
  if [ "$idle" -ne ${#nodes[@]} ]; then
    sinfo -N -l >&2 || true
    fail "the nodes did not become idle within 60 s; logs in $dir/log"
  fi
  # A step on both nodes at once proves that the controller, both slurmd and the step
  # daemons work together.
  local ran
  ran="$(timeout 60 srun --quiet --job-name=mpdecor-cluster-check -N2 -n2 printenv SLURMD_NODENAME | sort | tr '\n' ' ')" ||
    fail "a two-node check step failed; logs in $dir/log"
  [ "$ran" = "n1 n2 " ] || fail "the check step ran on '$ran', expected 'n1 n2'"
  # The check job leaves the queue, and the nodes its "completing" state, within moments;
  # callers that count jobs or idle nodes then start from an empty cluster.
  deadline=$((SECONDS + 30))
  while [ $SECONDS -lt $deadline ]; do
    if [ -z "$(squeue -h -o %i 2>/dev/null)" ] &&
      [ "$(sinfo -h -N -t idle -o '%N' 2>/dev/null | sort -u | wc -l)" -eq ${#nodes[@]} ]; then
      return 0
    fi
    sleep 0.2
  done
  fail "the check job did not leave the queue within 30 s"
}

start() {
  local program
  for program in slurmctld slurmd srun; do
    command -v "$program" >/dev/null ||
      fail "$program is missing: scripts/setup.sh slurm-wlm slurmctld slurmd slurm-client"
  done
  export SLURM_CONF="$conf"
  unset SLURM_JOB_ID SLURM_JOBID
  if running; then
    say "already running ($conf)"
  else
    stop quietly
    local port
    port="$(choose_port)"
    write_config "$port"
    # -c: start from an empty job list, whatever a previous run left in the state folder.
    slurmctld -f "$conf" -c -i
    for node in "${nodes[@]}"; do
      slurmd -f "$conf" -N "$node"
    done
    say "started: slurmctld on 127.0.0.1:$port, nodes n1 and n2 on ports $((port + 1)) and $((port + 2))"
  fi
  wait_until_ready
  say "ready: $(sinfo -h -o '%D nodes %T, %C CPUs (allocated/idle/other/total)')"
}

# Waits until none of the given pids is alive (zombies count as gone); true on success.
wait_gone() {
  local seconds="$1" pid left state
  shift
  local deadline=$((SECONDS + seconds))
  while :; do
    left=0
    for pid in "$@"; do
      state="$(awk '/^State:/ {print $2}' "/proc/$pid/status" 2>/dev/null)" || continue
      [ "$state" = Z ] || left=1
    done
    [ $left -eq 0 ] && return 0
    [ $SECONDS -ge $deadline ] && return 1
    sleep 0.2
  done
}

stop() {
  local quiet="${1:-}" pids=() pid file
  export SLURM_CONF="$conf"
  # The pids first: the daemons remove their pid files while they shut down.
  while read -r file; do
    pid="$(live_pid "$file")" && pids+=("$pid")
  done < <(pid_files)
  if running && [ -f "$conf" ]; then
    # Cancel everything first, so that no step outlives its slurmd.
    squeue -h -o %i 2>/dev/null | xargs -r scancel --quiet 2>/dev/null || true
    for pid in $(step_pids); do pids+=("$pid"); done
    # While the controller still runs, srun and salloc clients hear that their jobs have
    # ended, and end too.
    local deadline=$((SECONDS + 15))
    while [ -n "$(squeue -h -o %i 2>/dev/null)" ] && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
    scontrol shutdown >/dev/null 2>&1 || true
  else
    for pid in $(step_pids); do pids+=("$pid"); done
  fi
  if [ ${#pids[@]} -gt 0 ] && ! wait_gone 15 "${pids[@]}"; then
    # Whatever ignored the shutdown request: its own pid only, never by name.
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    if ! wait_gone 5 "${pids[@]}"; then
      for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
      wait_gone 5 "${pids[@]}" || fail "processes ${pids[*]} did not end"
    fi
  fi
  while read -r file; do rm -f "$file"; done < <(pid_files)
  [ -n "$quiet" ] || say "stopped"
}

status() {
  local file pid name up=0
  export SLURM_CONF="$conf"
  while read -r file; do
    name="$(basename "$file" .pid)"
    if pid="$(live_pid "$file")"; then
      echo "$name: running, pid $pid"
    else
      echo "$name: not running"
      up=3
    fi
  done < <(pid_files)
  if [ $up -eq 0 ]; then
    sinfo -N -o '%N %T %C' || up=3
    squeue || true
  fi
  return $up
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  env)
    echo "export SLURM_CONF='$conf'"
    # Commands run outside any allocation unless the caller makes one.
    echo "unset SLURM_JOB_ID SLURM_JOBID"
    ;;
  *)
    echo "usage: $0 start|stop|status|env" >&2
    exit 2
    ;;
esac
