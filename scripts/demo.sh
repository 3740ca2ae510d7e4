#!/usr/bin/env bash
# make demo: start a one-machine nai cluster in a temporary dir, run the
# quickstart training job on it, show its logs, metrics and downloaded
# weights, then stop the agent and clean up.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="$PWD/bin/nai"

if ! command -v python3 >/dev/null 2>&1; then
  echo "==> the quickstart job needs python3; installing it with apt-get"
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq python3 >/dev/null
  else sudo apt-get update -qq && sudo apt-get install -y -qq python3 >/dev/null; fi
fi

data=$(mktemp -d /tmp/nai-demo.XXXXXX)
outputs="$data/downloaded"
"$BIN" agent -dev -data-dir "$data/agent" -http-addr 127.0.0.1:0 2>"$data/agent.log" &
agent=$!
cleanup() {
  if kill -INT "$agent" 2>/dev/null; then wait "$agent" 2>/dev/null || true; fi
  rm -rf "$data"
}
trap cleanup EXIT

for _ in $(seq 1 300); do
  addr=$(awk '$1 == "http:" {print $2; exit}' "$data/agent.log" 2>/dev/null || true)
  [ -n "$addr" ] && break
  kill -0 "$agent" 2>/dev/null || { echo "agent failed to start:"; cat "$data/agent.log"; exit 1; }
  sleep 0.1
done
[ -n "${addr:-}" ] || { echo "agent not ready:"; cat "$data/agent.log"; exit 1; }
export NAI_ADDR="$addr"
sed -n '/nai dev agent ready/,/cgroups:/p' "$data/agent.log"

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
step nai node list
"$BIN" node list
step nai job run examples/quickstart/train.hcl
"$BIN" job run examples/quickstart/train.hcl 2>&1 | tee "$data/run.out"
id=$("$BIN" queue -all -json | python3 -c 'import json,sys; print(max((j for j in json.load(sys.stdin) if j["name"]=="quickstart"), key=lambda j: int(j["id"]))["id"])')
step nai queue -all
"$BIN" queue -all
step nai job status "$id"
"$BIN" job status "$id"
step nai job metrics "$id"
"$BIN" job metrics "$id"
step nai job outputs "$id" -o "$outputs"
"$BIN" job outputs "$id" -o "$outputs"
ls -l "$outputs"
python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print("model.json: %d hidden units, test accuracy %.3f" % (m["hidden"], m["test_accuracy"]))' "$outputs/model.json"
printf '\n==> demo finished; stopping the agent\n'
