#!/usr/bin/env bash
# Starts a one-node Slurm cluster on this machine (munged, slurmctld, slurmd
# from Debian's slurm-wlm and munge), all state under DIR, listening on
# localhost only. Prints the SLURM_CONF path to use; `slurm.sh stop DIR`
# stops it. Needs root (slurmd runs jobs as the submitting user).
#
#   conf=$(tests/servers/slurm.sh start /tmp/slurm) && SLURM_CONF=$conf sbatch ...
set -euo pipefail

action=${1:?usage: slurm.sh start|stop DIR}
dir=$(realpath -m "${2:?usage: slurm.sh start|stop DIR}")

stop() {
    for pidfile in "$dir"/slurmd.pid "$dir"/slurmctld.pid "$dir"/munged.pid; do
        [[ -s $pidfile ]] && kill "$(cat "$pidfile")" 2>/dev/null || true
    done
}

if [[ $action == stop ]]; then
    stop
    exit 0
fi

# Whatever fails from here on, nothing is left running.
trap 'stop' ERR

for tool in munged slurmctld slurmd sbatch; do
    command -v "$tool" >/dev/null || { echo "slurm.sh: $tool not found (apt-get install slurm-wlm munge)" >&2; exit 3; }
done

mkdir -p "$dir"/{state,spool,munge}
chmod 700 "$dir"/munge
# A munge key of this cluster only (TEST-ONLY: 1024 random bits).
[[ -s $dir/munge/munge.key ]] || head -c 128 /dev/urandom >"$dir"/munge/munge.key
chmod 400 "$dir"/munge/munge.key
socket=$dir/munge/munge.socket
munged --force --key-file="$dir"/munge/munge.key --socket="$socket" \
    --pid-file="$dir"/munged.pid --log-file="$dir"/munged.log --seed-file="$dir"/munge/seed

node=$(hostname -s)
cpus=$(nproc)
memory=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 / 2 ))
# Free ports, so that a cluster left over or another test's does not clash.
read -r ctld_port slurmd_port < <(python3 - <<'EOF'
import socket
ports = []
socks = []
for _ in range(2):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
    ports.append(s.getsockname()[1])
print(*ports)
EOF
)
cat >"$dir"/slurm.conf <<EOF
ClusterName=trailproof-test
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$socket
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
JobCompType=jobcomp/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
MinJobAge=300
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=audit Nodes=$node Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
EOF
export SLURM_CONF=$dir/slurm.conf
slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF" -N "$node"
# Ready when the node is idle.
for _ in $(seq 1 60); do
    state=$(sinfo -h -N -o %t 2>/dev/null || true)
    [[ $state == idle* ]] && { echo "$SLURM_CONF"; exit 0; }
    sleep 0.5
done
echo "slurm.sh: the node did not come up (state: ${state:-none}); logs in $dir" >&2
tail -20 "$dir"/slurmctld.log "$dir"/slurmd.log >&2 || true
stop
exit 1
