#!/usr/bin/env bash
# A real single-node SLURM cluster on localhost for the workflow's scale-out test.
#
#   scripts/slurm-local.sh start   install (Debian slurm-wlm + munge) if missing, configure, start
#   scripts/slurm-local.sh stop    stop the daemons
#   scripts/slurm-local.sh status  sinfo
#
# State and logs live in $ESR1CALLS_SLURM_DIR (default /tmp/esr1calls-slurm). No accounting daemon: jobs are
# followed with squeue, which is what a cluster without slurmdbd offers. Needs root (or sudo).
set -euo pipefail

dir="${ESR1CALLS_SLURM_DIR:-/tmp/esr1calls-slurm}"
# Job steps (srun inside a batch job) look for the configuration at the compiled-in default path,
# so the cluster's configuration is installed there; an existing foreign file is kept aside.
conf=/etc/slurm/slurm.conf
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"

install() {
  if ! command -v slurmctld >/dev/null 2>&1 || ! command -v munged >/dev/null 2>&1; then
    echo "slurm-local: installing slurm-wlm and munge" >&2
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
  fi
}

write_config() {
  local host cpus mem_mb
  host="$(hostname -s)"
  cpus="$(nproc)"
  mem_mb=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 512 ))
  mkdir -p "$dir/state" "$dir/spool" "$dir/log"
  $sudo mkdir -p /etc/slurm
  if [ -f "$conf" ] && ! grep -q '^ClusterName=esr1calls-local' "$conf"; then
    $sudo cp "$conf" "$conf.before-esr1calls"
  fi
  $sudo tee "$conf" >/dev/null <<CONF
ClusterName=esr1calls-local
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldPort=6817
SlurmdPort=6818
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
ReturnToService=2
MpiDefault=none
SwitchType=switch/none
InactiveLimit=0
KillWait=10
MinJobAge=300
SlurmctldTimeout=30
SlurmdTimeout=30
NodeName=$host CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=local Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
}

start_munge() {
  if pgrep -x munged >/dev/null 2>&1; then return; fi
  local key=/etc/munge/munge.key
  if [ ! -s "$key" ]; then
    $sudo mkdir -p /etc/munge
    $sudo dd if=/dev/urandom of="$key" bs=1 count=1024 status=none
  fi
  $sudo chown root:root "$key" /etc/munge
  $sudo chmod 0400 "$key"
  $sudo mkdir -p /run/munge /var/lib/munge /var/log/munge
  $sudo chown root:root /run/munge /var/lib/munge /var/log/munge
  $sudo chmod 0755 /run/munge
  $sudo munged --force
}

start() {
  install
  write_config >/dev/null
  start_munge
  export SLURM_CONF="$conf"
  pgrep -x slurmctld >/dev/null 2>&1 || $sudo env SLURM_CONF="$conf" slurmctld -c
  pgrep -x slurmd >/dev/null 2>&1 || $sudo env SLURM_CONF="$conf" slurmd -c
  for _ in $(seq 1 60); do
    if SLURM_CONF="$conf" sinfo -h -o '%T' 2>/dev/null | grep -Eq '^(idle|mixed|allocated)'; then
      echo "slurm-local: cluster up (SLURM_CONF=$conf)" >&2
      echo "$conf"
      return 0
    fi
    sleep 1
  done
  echo "slurm-local: the node did not become idle; see $dir/log/" >&2
  SLURM_CONF="$conf" sinfo >&2 || true
  tail -n 20 "$dir/log/slurmctld.log" "$dir/log/slurmd.log" >&2 || true
  return 1
}

stop() {
  $sudo pkill -x slurmd 2>/dev/null || true
  $sudo pkill -x slurmctld 2>/dev/null || true
  for _ in $(seq 1 30); do
    pgrep -x slurmd >/dev/null 2>&1 || pgrep -x slurmctld >/dev/null 2>&1 || return 0
    sleep 1
  done
  echo "slurm-local: daemons still running after 30 s" >&2
  return 1
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  status) SLURM_CONF="$conf" sinfo ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
