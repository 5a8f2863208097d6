#!/usr/bin/env bash
# Brings up a single-node Slurm cluster on this machine (Debian's slurm-wlm + munge, run
# as root, no systemd needed): munged, slurmctld and slurmd, with every state, spool, pid
# and log file under one state folder ($MOXI_SLURM_DIR, default /tmp/moxi-slurm). Waits
# until `sinfo` shows the node idle. Safe to run again: if this state folder's daemons
# already run it says so and exits 0. Stop with tools/slurm/stop.sh. See README.md.
#
# Client commands (sbatch, squeue, scancel, scontrol, sinfo) then just work in any shell:
# the config is written to $MOXI_SLURM_DIR/slurm.conf and /etc/slurm/slurm.conf (Slurm's
# default path) is made a symlink to it. If /etc/slurm/slurm.conf is someone else's file it
# is left alone, and the script says to `export SLURM_CONF=$MOXI_SLURM_DIR/slurm.conf`.
#
# Environment: MOXI_SLURM_DIR (state folder), MOXI_SLURM_TIMEOUT (seconds to wait for the
# node to be idle, default 30).
set -euo pipefail

STATE=${MOXI_SLURM_DIR:-/tmp/moxi-slurm}
TIMEOUT=${MOXI_SLURM_TIMEOUT:-30}
ETC_CONF=/etc/slurm/slurm.conf
MUNGE_KEY=/etc/munge/munge.key
MARKER="# moxi single-node Slurm (tools/slurm/start.sh)"

say() { printf 'slurm-start: %s\n' "$*" >&2; }
die() { printf 'slurm-start: error: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (it starts munged, slurmctld and slurmd)"
for bin in /usr/sbin/munged /usr/sbin/slurmctld /usr/sbin/slurmd sinfo sbatch; do
  command -v "$bin" >/dev/null || die "$bin not found: install Debian's slurm-wlm and munge (scripts/setup.sh does)"
done
id munge >/dev/null 2>&1 || die "no 'munge' user: install Debian's munge package"
case "$STATE" in /*) ;; *) die "MOXI_SLURM_DIR must be an absolute path (got '$STATE')" ;; esac

CONF="$STATE/slurm.conf"
MUNGE_DIR="$STATE/munge"
SOCKET="$MUNGE_DIR/munge.socket.2"
MUNGED_PID="$MUNGE_DIR/munged.pid"
CTLD_PID="$STATE/run/slurmctld.pid"
SLURMD_PID="$STATE/run/slurmd.pid"
[ ${#SOCKET} -lt 100 ] || die "MOXI_SLURM_DIR is too long for a Unix socket path ($SOCKET)"

# running PIDFILE COMM: the pid in PIDFILE is alive and is COMM.
running() {
  local pid
  [ -s "$1" ] || return 1
  pid=$(cat "$1" 2>/dev/null) || return 1
  [ -n "$pid" ] && [ -r "/proc/$pid/comm" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ]
}

node_state() { sinfo -h -N -o '%t' 2>/dev/null | head -n1; }

# wait_until SECONDS CMD...: poll CMD every 0.2 s.
wait_until() {
  local deadline=$((SECONDS + $1)); shift
  until "$@"; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.2
  done
}

# The config: a symlink at Slurm's default path, unless that path is someone else's file.
link_conf() {
  export SLURM_CONF="$CONF"
  if [ -L "$ETC_CONF" ] || [ ! -e "$ETC_CONF" ] || grep -qF "$MARKER" "$ETC_CONF" 2>/dev/null; then
    mkdir -p "$(dirname "$ETC_CONF")"
    ln -sfn "$CONF" "$ETC_CONF"
    CLIENT_HINT=""
  else
    CLIENT_HINT="$ETC_CONF is not ours and was left alone: in client shells run  export SLURM_CONF=$CONF"
  fi
}

# Wait until the node is up: idle (or busy with jobs: mix, alloc, comp). A node that an
# earlier run left drained or down (recovered from the state folder) is resumed.
wait_idle() {
  local deadline=$((SECONDS + TIMEOUT)) state resumed=0
  while :; do
    state=$(node_state || true)
    case "$state" in
      idle|mix|alloc|comp) return 0 ;;
      drain*|down|fail*)
        if [ $resumed = 0 ]; then
          scontrol update nodename="$NODE" state=resume >/dev/null 2>&1 || true
          resumed=1
        fi ;;
    esac
    [ $SECONDS -lt $deadline ] || break
    sleep 0.2
  done
  say "node $NODE not idle after ${TIMEOUT}s (state: '${state:-no answer from slurmctld}'); last log lines:"
  tail -n 15 "$STATE/log/slurmctld.log" "$STATE/log/slurmd.log" >&2 2>/dev/null || true
  sinfo -N -l >&2 2>&1 || true
  exit 1
}

NODE=$(hostname -s)

if running "$MUNGED_PID" munged && running "$CTLD_PID" slurmctld && running "$SLURMD_PID" slurmd; then
  link_conf
  wait_idle
  say "already running (state folder $STATE); node $NODE is $(node_state)"
  [ -z "$CLIENT_HINT" ] || say "$CLIENT_HINT"
  exit 0
fi

start_time=$SECONDS
mkdir -p "$STATE"/{ctld,spool,run,log} "$MUNGE_DIR"
chmod 755 "$STATE"
chown munge:munge "$MUNGE_DIR"
chmod 755 "$MUNGE_DIR"

# --- munge -------------------------------------------------------------------------------
if [ ! -s "$MUNGE_KEY" ]; then
  say "creating $MUNGE_KEY"
  mkdir -p "$(dirname "$MUNGE_KEY")"
  chown munge:munge "$(dirname "$MUNGE_KEY")"
  chmod 700 "$(dirname "$MUNGE_KEY")"
  (umask 277 && head -c 1024 /dev/urandom > "$MUNGE_KEY")
  chown munge:munge "$MUNGE_KEY"
  chmod 400 "$MUNGE_KEY"
fi
if ! running "$MUNGED_PID" munged; then
  rm -f "$SOCKET" "$SOCKET.lock" "$MUNGED_PID"
  runuser -u munge -- /usr/sbin/munged --key-file="$MUNGE_KEY" --socket="$SOCKET" \
    --pid-file="$MUNGED_PID" --log-file="$MUNGE_DIR/munged.log" --seed-file="$MUNGE_DIR/munged.seed" \
    || die "munged failed to start; see $MUNGE_DIR/munged.log"
  wait_until 10 test -S "$SOCKET" || die "munged socket $SOCKET did not appear; see $MUNGE_DIR/munged.log"
fi
munge -n -S "$SOCKET" | unmunge -S "$SOCKET" >/dev/null 2>&1 || die "munge round trip through $SOCKET failed"

# --- slurm.conf --------------------------------------------------------------------------
cpus=$(nproc)
mem_mib=$(awk '/^MemTotal:/ { printf "%d", $2 / 1024 * 0.9 }' /proc/meminfo)
cat > "$CONF.tmp" <<EOF
$MARKER
# state folder: $STATE
ClusterName=moxi
SlurmctldHost=$NODE(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$SOCKET
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
SchedulerParameters=bf_interval=5
ReturnToService=2
JobRequeue=1
SlurmdParameters=config_overrides
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
# Finished jobs stay visible to squeue/scontrol (and requeueable) for an hour.
MinJobAge=3600
KillWait=5
InactiveLimit=0
Waittime=0
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/spool
SlurmctldPidFile=$CTLD_PID
SlurmdPidFile=$SLURMD_PID
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mib State=UNKNOWN
PartitionName=main Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
mv "$CONF.tmp" "$CONF"
link_conf

# --- daemons -----------------------------------------------------------------------------
if ! running "$CTLD_PID" slurmctld; then
  rm -f "$CTLD_PID"
  slurmctld -f "$CONF" || die "slurmctld failed to start; see $STATE/log/slurmctld.log"
fi
if ! running "$SLURMD_PID" slurmd; then
  rm -f "$SLURMD_PID"
  slurmd -f "$CONF" || die "slurmd failed to start; see $STATE/log/slurmd.log"
fi
wait_until 10 running "$CTLD_PID" slurmctld || die "slurmctld is not running; see $STATE/log/slurmctld.log"
wait_until 10 running "$SLURMD_PID" slurmd || die "slurmd is not running; see $STATE/log/slurmd.log"
wait_idle

say "up in $((SECONDS - start_time))s: node $NODE ($cpus CPUs) idle, partition main, state folder $STATE"
[ -z "$CLIENT_HINT" ] || say "$CLIENT_HINT"
