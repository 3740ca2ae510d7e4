#!/bin/bash
# Sets up Debian's Slurm (slurm-wlm 22.05 and munge from apt) on this one
# machine for the side-by-side figures of `make bench` (NAI_BENCH_SLURM=1):
# munged, slurmctld and slurmd of our own, every file of theirs under DIR,
# eight fake GPU character devices made with mknod in DIR/dev, one node of
# 64 CPU slots with gres gpu:8. Needs root. Nothing outside DIR is written
# (besides installing the packages when they are missing), and teardown.sh
# stops what this started by the pids it recorded.
#
#   bench/slurm/setup.sh DIR [CTLD_PORT SLURMD_PORT]
#   export SLURM_CONF=DIR/slurm.conf   # then sbatch, squeue, scancel ...
#   bench/slurm/teardown.sh DIR
#
# Default scheduler settings (sched/backfill, select/cons_tres), no
# accounting database, no cgroups (proctrack/linuxproc): the Slurm an
# operator gets from the packages with a minimal slurm.conf.
set -euo pipefail

dir=${1:?usage: setup.sh DIR [CTLD_PORT SLURMD_PORT]}
ctld_port=${2:-$((20000 + RANDOM % 20000))}
slurmd_port=${3:-$((ctld_port + 1))}

if [ "$(id -u)" != 0 ]; then
	echo "setup.sh: Slurm's daemons need root" >&2
	exit 1
fi
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null || ! command -v sbatch >/dev/null; then
	echo "setup.sh: installing slurm-wlm and munge from apt" >&2
	# The packages' own services must not start: policy-rc.d on this
	# host denies it, and the daemons below are ours.
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends slurm-wlm munge >&2
fi

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
mkdir -p "$dir/munge" "$dir/ctld" "$dir/spool" "$dir/dev" "$dir/out" "$dir/log"
# munged wants its socket dir open to all for execute.
chmod 0711 "$dir" "$dir/munge"
host=$(hostname -s)

# Fake GPUs: the NVIDIA character devices' numbers (major 195), in a
# private dir; slurmd only checks that the files gres.conf names exist.
for i in 0 1 2 3 4 5 6 7; do
	[ -e "$dir/dev/nvidia$i" ] || mknod "$dir/dev/nvidia$i" c 195 "$i"
done

# munge: a key of its own, its socket under DIR.
if [ ! -s "$dir/munge/munge.key" ]; then
	head -c 1024 /dev/urandom >"$dir/munge/munge.key"
	chmod 0400 "$dir/munge/munge.key"
fi
munged --force --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket" \
	--pid-file="$dir/munge/munged.pid" --log-file="$dir/log/munged.log" --seed-file="$dir/munge/munged.seed"

mem_mb=$(awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo)
cat >"$dir/slurm.conf" <<CONF
ClusterName=naibench
SlurmctldHost=$host
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$dir/ctld
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MaxJobCount=100000
MaxArraySize=10001
# The node below claims 64 CPUs on a smaller machine.
SlurmdParameters=config_overrides
GresTypes=gpu
NodeName=$host CPUs=64 Boards=1 SocketsPerBoard=1 CoresPerSocket=64 ThreadsPerCore=1 RealMemory=$mem_mb Gres=gpu:8 State=UNKNOWN
PartitionName=bench Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
cat >"$dir/gres.conf" <<CONF
NodeName=$host Name=gpu File=$dir/dev/nvidia[0-7]
CONF

export SLURM_CONF="$dir/slurm.conf"
# -i: ignore state from an earlier run of this dir.
slurmctld -i
slurmd
# Ready when the node is idle.
for _ in $(seq 1 300); do
	if sinfo -h -N -o '%T' 2>/dev/null | grep -qx idle; then
		echo "SLURM_CONF=$SLURM_CONF"
		exit 0
	fi
	sleep 0.1
done
echo "setup.sh: the Slurm node did not become idle in 30 s; logs in $dir/log" >&2
sinfo -N >&2 || true
tail -20 "$dir/log/slurmctld.log" "$dir/log/slurmd.log" >&2 || true
exit 1
