#!/usr/bin/env bash
# make example-ddp: a real two-node PyTorch job on a one-machine cluster
# (one server, two clients on 127.0.0.1), submitted as the Slurm batch
# script ddp.sh. Each node starts two gloo ranks; they all-reduce across
# both nodes, and each rank prints the world it saw.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
BIN="$root/bin/nai"
export PYTHONDONTWRITEBYTECODE=1

# Debian's python3-torch lives with Debian's python3: put it first on the
# PATH the agents (and so the jobs) get.
export PATH="/usr/bin:$PATH"
if ! /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  echo "==> installing python3-torch from Debian"
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends python3-torch >/dev/null
fi

tmp=$(mktemp -d /tmp/nai-ddp.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

# banner NAME KEY: the address agent NAME printed as "KEY: ADDR".
banner() {
  for _ in $(seq 1 600); do
    v=$(awk -v k="$2:" '$1 == k {print $2; exit}' "$tmp/$1.log" 2>/dev/null || true)
    [ -n "$v" ] && { echo "$v"; return; }
    sleep 0.1
  done
  echo "agent $1 not ready:" >&2; cat "$tmp/$1.log" >&2; exit 1
}
agent() {
  name=$1; shift
  "$BIN" agent -node-name "$name" -data-dir "$tmp/$name" -bind-addr 127.0.0.1 \
    -http-port 0 -raft-port 0 -serf-port 0 "$@" 2>"$tmp/$name.log" &
  pids+=($!)
}
agent s1 -server -bootstrap-expect 1
export NAI_ADDR=$(banner s1 http)
join=$(banner s1 serf)
agent c1 -client -dev-gpus 2 -join "$join"
agent c2 -client -dev-gpus 2 -join "$join"
for _ in $(seq 1 600); do
  [ "$("$BIN" node list 2>/dev/null | grep -c ready || true)" = 2 ] && break
  sleep 0.1
done

printf '\n\033[1m$ nai job run ddp.sh\033[0m\n'
cd "$here"
"$BIN" job run ddp.sh
printf '\n==> the two-node job completed: every rank of both nodes all-reduced (above, node 0'"'"'s)\n'
