#!/usr/bin/env bash
# make example-pytorch: the mission's user story on a one-machine cluster.
# Push scikit-learn's digits as a dataset, train a CNN on it with the code of
# this folder, register the weights as a model version, pull them and
# evaluate them locally, then serve the version and call it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
BIN="$root/bin/nai"
export PYTHONDONTWRITEBYTECODE=1 # keep the example folder clean
PY=/usr/bin/python3 # where Debian's python3-torch and python3-sklearn live

if ! "$PY" -c 'import torch, sklearn' 2>/dev/null; then
  echo "==> installing python3-torch and python3-sklearn from Debian"
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends python3-torch python3-sklearn >/dev/null
fi

tmp=$(mktemp -d /tmp/nai-pytorch.XXXXXX)
"$BIN" agent -dev -data-dir "$tmp/agent" -http-addr 127.0.0.1:0 2>"$tmp/agent.log" &
agent=$!
cleanup() {
  kill -INT "$agent" 2>/dev/null && wait "$agent" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
for _ in $(seq 1 300); do
  addr=$(awk '$1 == "http:" {print $2; exit}' "$tmp/agent.log" 2>/dev/null || true)
  [ -n "$addr" ] && break
  kill -0 "$agent" 2>/dev/null || { echo "agent failed to start:"; cat "$tmp/agent.log"; exit 1; }
  sleep 0.1
done
[ -n "${addr:-}" ] || { echo "agent not ready:"; cat "$tmp/agent.log"; exit 1; }
export NAI_ADDR="$addr"

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
# One GPU when this host has a real one (the dev agent then uses it), else CPU.
gpus=0
if "$PY" -c 'import torch,sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  gpus=1
fi

step "$PY" export_digits.py "$tmp/data"
(cd "$here" && "$PY" export_digits.py "$tmp/data")
step nai dataset push "$tmp/data" -name digits -description "scikit-learn digits, 80/20 split"
"$BIN" dataset push "$tmp/data" -name digits -description "scikit-learn digits, 80/20 split"
step nai job run -var gpus=$gpus train.hcl
(cd "$here" && "$BIN" job run -var gpus=$gpus train.hcl)
id=$("$BIN" queue -all -json | "$PY" -c 'import json,sys; print(max((j for j in json.load(sys.stdin) if j["name"]=="digits-cnn"), key=lambda j: int(j["id"]))["id"])')
step nai job metrics -all "$id"
"$BIN" job metrics -all "$id"
step nai model show digits-cnn
"$BIN" model show digits-cnn
step nai model pull digits-cnn -o "$tmp/pulled"
"$BIN" model pull digits-cnn -o "$tmp/pulled"
step "$PY" evaluate.py "$tmp/pulled" "$tmp/data"
(cd "$here" && "$PY" evaluate.py "$tmp/pulled" "$tmp/data")
step nai serve digits-cnn -replicas 2 -cpu 0.5 -memory 1GiB -wait 2m
"$BIN" serve digits-cnn -replicas 2 -cpu 0.5 -memory 1GiB -wait 2m
step "POST $NAI_ADDR/v1/services/digits-cnn/predict (a held-out test image)"
"$PY" - "$tmp/data/digits.json" <<'PYEOF'
import json, os, sys, urllib.request
d = json.load(open(sys.argv[1]))
req = urllib.request.Request(os.environ["NAI_ADDR"] + "/v1/services/digits-cnn/predict",
                             data=json.dumps({"image": d["x_test"][0]}).encode(),
                             headers={"Content-Type": "application/json"})
answer = json.load(urllib.request.urlopen(req))
print(f"label {d['y_test'][0]}, predicted {answer['class']} by model version {answer['model_version']}")
PYEOF
step nai service status digits-cnn
"$BIN" service status digits-cnn
step nai service stop digits-cnn
"$BIN" service stop digits-cnn
printf '\n==> example finished; stopping the agent\n'
