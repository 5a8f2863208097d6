#!/usr/bin/env bash
# Stops the single-node Slurm cluster that tools/slurm/start.sh brought up: cancels its jobs,
# stops slurmd, slurmctld and the munged it started (by the pid files in the state folder),
# waits until they are gone, and removes the /etc/slurm/slurm.conf symlink start.sh made.
# The state folder ($MOXI_SLURM_DIR, default /tmp/moxi-slurm: logs, job state) stays unless
# --purge is given. Safe to run when nothing runs.
#
# Usage: tools/slurm/stop.sh [--purge]
set -euo pipefail

STATE=${MOXI_SLURM_DIR:-/tmp/moxi-slurm}
ETC_CONF=/etc/slurm/slurm.conf
CONF="$STATE/slurm.conf"
PURGE=0
for arg in "$@"; do
  case "$arg" in
    --purge) PURGE=1 ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "slurm-stop: unknown argument '$arg' (usage: stop.sh [--purge])" >&2; exit 2 ;;
  esac
done

say() { printf 'slurm-stop: %s\n' "$*" >&2; }
[ "$(id -u)" = 0 ] || { say "error: must run as root"; exit 1; }

# pid_of PIDFILE COMM: the pid in PIDFILE if it is alive and is COMM.
pid_of() {
  local pid
  [ -s "$1" ] || return 1
  pid=$(cat "$1" 2>/dev/null) || return 1
  [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ] && echo "$pid"
}

# Job step daemons of this cluster: slurmstepd processes started by our slurmd, which
# inherited SLURM_CONF=$CONF from start.sh.
stepd_pids() {
  local p
  for p in /proc/[0-9]*; do
    [ "$(cat "$p/comm" 2>/dev/null)" = slurmstepd ] || continue
    tr '\0' '\n' 2>/dev/null < "$p/environ" | grep -qxF "SLURM_CONF=$CONF" && echo "${p#/proc/}"
  done
  return 0
}

# wait_gone SECONDS PID...: wait until none of the pids exists (zombies count as gone).
wait_gone() {
  local deadline=$((SECONDS + $1)) pid alive; shift
  while :; do
    alive=0
    for pid in "$@"; do
      [ -d "/proc/$pid" ] && [ "$(awk '/^State:/{print $2}' "/proc/$pid/status" 2>/dev/null)" != Z ] && alive=1
    done
    [ $alive = 0 ] && return 0
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.2
  done
}

ctld=$(pid_of "$STATE/run/slurmctld.pid" slurmctld || true)
slurmd=$(pid_of "$STATE/run/slurmd.pid" slurmd || true)
munged=$(pid_of "$STATE/munge/munged.pid" munged || true)

# 1. Cancel every job so no job processes outlive the daemons.
if [ -n "$ctld" ] && [ -f "$CONF" ]; then
  jobs=$(SLURM_CONF="$CONF" squeue -h -o %A 2>/dev/null | sort -u | tr '\n' ' ' || true)
  if [ -n "${jobs// }" ]; then
    say "cancelling jobs: $jobs"
    # shellcheck disable=SC2086
    SLURM_CONF="$CONF" scancel $jobs 2>/dev/null || true
  fi
fi
steps=$(stepd_pids)
if [ -n "$steps" ]; then
  # shellcheck disable=SC2086
  wait_gone 15 $steps || {
    say "job steps still running after 15 s; killing them"
    for s in $steps; do pkill -KILL -P "$s" 2>/dev/null || true; kill -KILL "$s" 2>/dev/null || true; done
  }
fi

# 2. The daemons, slurmd first, munged last (the others authenticate through it).
stop_daemon() { # NAME PID
  [ -n "$2" ] || return 0
  kill -TERM "$2" 2>/dev/null || return 0
  if ! wait_gone 15 "$2"; then
    say "$1 (pid $2) did not stop after SIGTERM; sending SIGKILL"
    kill -KILL "$2" 2>/dev/null || true
    wait_gone 5 "$2" || { say "error: $1 (pid $2) is still running"; exit 1; }
  fi
  say "stopped $1 (pid $2)"
}
stop_daemon slurmd "$slurmd"
stop_daemon slurmctld "$ctld"
stop_daemon munged "$munged"
[ -n "$slurmd$ctld$munged" ] || say "no daemons of $STATE were running"
# Let init reap them, so that a following pgrep finds nothing (bounded; zombies are harmless).
deadline=$((SECONDS + 5))
for pid in $slurmd $ctld $munged $steps; do
  while [ -d "/proc/$pid" ] && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
done

rm -f "$STATE/run/slurmd.pid" "$STATE/run/slurmctld.pid" "$STATE/munge/munged.pid"
if [ -L "$ETC_CONF" ] && [ "$(readlink "$ETC_CONF")" = "$CONF" ]; then rm -f "$ETC_CONF"; fi
if [ $PURGE = 1 ] && [ -d "$STATE" ]; then
  rm -rf "$STATE"
  say "removed $STATE"
fi
