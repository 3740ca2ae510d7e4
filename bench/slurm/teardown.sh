#!/bin/bash
# Stops the daemons bench/slurm/setup.sh started in DIR (by the pids they
# recorded there) and removes DIR.
#
#   bench/slurm/teardown.sh DIR
set -uo pipefail

dir=${1:?usage: teardown.sh DIR}
[ -d "$dir" ] || exit 0
if [ -f "$dir/slurm.conf" ]; then
	# Jobs first, so slurmd has nothing left to wait for.
	SLURM_CONF="$dir/slurm.conf" timeout 20 scancel --quiet --full -u root 2>/dev/null || true
fi
for f in "$dir/slurmd.pid" "$dir/slurmctld.pid" "$dir/munge/munged.pid"; do
	[ -s "$f" ] || continue
	pid=$(cat "$f")
	kill -TERM "$pid" 2>/dev/null || continue
	for _ in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
done
rm -rf "$dir"
