#!/usr/bin/env bash
# CI: start a real single-node Slurm cluster on this machine (munged, slurmctld and slurmd
# of the Debian packages, everything in a temporary directory), run the smoke profile of
# `nrnn reproduce` as a 3-task job array (scripts/slurm/reproduce.sbatch: task I computes
# shard I/3 of the pieces), aggregate the pieces into figures, and compare every CSV and
# PNG with a single-process smoke run, byte for byte. All daemons are stopped at the end.
#
# Needs root (to install the packages when missing, and because the daemons run as root
# here). The binary is $NRNN_BIN, by default target/debug/nrnn as `cargo test` builds it.
# NRNN_SKIP_SLURM=1 skips the test (with a message).
set -euo pipefail
cd "$(dirname "$0")/../.."
root="$PWD"
if [ "${NRNN_SKIP_SLURM:-0}" = "1" ]; then
  echo "slurm test: skipped (NRNN_SKIP_SLURM=1)"
  exit 0
fi
start=$(date +%s)
BIN="$(realpath "${NRNN_BIN:-target/debug/nrnn}")"
[ -x "$BIN" ] || { echo "slurm test: no nrnn binary at $BIN (run cargo test or cargo build first)" >&2; exit 1; }

# --- Packages ------------------------------------------------------------------------
need=()
for p in slurmd:slurmd slurmctld:slurmctld sbatch:slurm-client munged:munge; do
  command -v "${p%%:*}" >/dev/null 2>&1 || PATH="$PATH:/usr/sbin" command -v "${p%%:*}" >/dev/null 2>&1 || need+=("${p##*:}")
done
export PATH="$PATH:/usr/sbin"
if [ "${#need[@]}" -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "slurm test: missing ${need[*]} and not root: install them (apt-get install slurmd slurmctld slurm-client munge) or set NRNN_SKIP_SLURM=1" >&2
    exit 1
  fi
  echo "slurm test: installing ${need[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends slurmd slurmctld slurm-client munge
fi
if [ "$(id -u)" != 0 ]; then
  echo "slurm test: needs root (the daemons run as root in this test)" >&2
  exit 1
fi

# --- A one-node cluster in a temporary directory -----------------------------------------
W="$(mktemp -d /tmp/nrnn-slurm.XXXXXX)"
chmod 700 "$W"
mkdir -p "$W/state" "$W/spool" "$W/cache"
stop() {
  local rc=$?
  set +e
  if [ "$rc" -ne 0 ]; then
    echo "slurm test: FAILED (status $rc); logs:" >&2
    for f in "$W"/*.log "$W"/job-*.out; do [ -f "$f" ] && { echo "--- $f" >&2; tail -n 30 "$f" >&2; }; done
  fi
  command -v scancel >/dev/null && SLURM_CONF="$W/slurm.conf" scancel --quiet --user=root 2>/dev/null
  for d in slurmd slurmctld munged; do
    if [ -f "$W/$d.pid" ]; then
      pid="$(cat "$W/$d.pid")"
      kill "$pid" 2>/dev/null
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null
    fi
  done
  rm -rf "$W"
  exit "$rc"
}
trap stop EXIT

host="$(hostname -s)"
cpus="$(nproc)"
mem_mb=$(( $(awk '/^MemTotal:/ {print $2}' /proc/meminfo) / 1024 ))
mem_mb=$(( mem_mb > 2048 ? mem_mb - 1024 : mem_mb / 2 ))
dd if=/dev/urandom of="$W/munge.key" bs=1024 count=1 status=none
chmod 400 "$W/munge.key"
munged --force --key-file="$W/munge.key" --socket="$W/munge.socket" \
  --pid-file="$W/munged.pid" --log-file="$W/munged.log" --seed-file="$W/munged.seed"
cat > "$W/slurm.conf" <<CONF
ClusterName=nrnnci
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$W/munge.socket
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
StateSaveLocation=$W/state
SlurmdSpoolDir=$W/spool
SlurmctldPidFile=$W/slurmctld.pid
SlurmdPidFile=$W/slurmd.pid
SlurmctldLogFile=$W/slurmctld.log
SlurmdLogFile=$W/slurmd.log
SlurmctldPort=${NRNN_SLURMCTLD_PORT:-16817}
SlurmdPort=${NRNN_SLURMD_PORT:-16818}
NodeName=$host CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=ci Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$W/slurm.conf"
slurmctld -c
slurmd
up=""
for _ in $(seq 120); do
  state="$(sinfo -h -o %t 2>/dev/null || true)"
  if [ "$state" = "idle" ]; then up=1; break; fi
  sleep 0.5
done
[ -n "$up" ] || { echo "slurm test: the node did not become idle (sinfo: ${state:-nothing})" >&2; sinfo >&2 || true; exit 1; }
echo "slurm test: cluster up in $(( $(date +%s) - start )) s: node $host, $cpus CPU(s), ${mem_mb} MB"

# --- The smoke profile as a 3-task array, then aggregated --------------------------------
export NRNN="$BIN" NRNN_OFFLINE=1 NRNN_DATA_DIR="$W/cache"
t=$(date +%s)
sbatch --wait --array=0-2 --cpus-per-task=1 --chdir="$W" --output="$W/job-%A_%a.out" \
  "$root/scripts/slurm/reproduce.sbatch" --profile smoke --out "$W/sharded"
echo "slurm test: array job finished in $(( $(date +%s) - t )) s"
for f in "$W"/job-*.out; do
  grep -q "computed" "$f" || { echo "slurm test: $f did not finish its shard" >&2; cat "$f" >&2; exit 1; }
  grep "reproduce: shard" "$f" | tail -n 1
done
[ "$(ls "$W"/job-*.out | wc -l)" -eq 3 ] || { echo "slurm test: expected 3 array tasks" >&2; exit 1; }
"$BIN" reproduce --profile smoke --out "$W/sharded" --plan | tail -n 3
"$BIN" reproduce --profile smoke --out "$W/sharded" --aggregate > /dev/null 2> "$W/aggregate.log"
tail -n 1 "$W/aggregate.log"
"$BIN" reproduce --profile smoke --out "$W/single" > /dev/null 2>&1
"$root/scripts/slurm/compare.sh" "$W/single" "$W/sharded"
echo "slurm test: passed in $(( $(date +%s) - start )) s"
