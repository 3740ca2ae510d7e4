#!/usr/bin/env python3
"""A tiny real training run for nai's quickstart, using only the standard library.

It generates a two-class "two moons" data set, trains a one-hidden-layer MLP on it
by full-batch gradient descent, prints progress, appends metrics as JSON lines to
$NAI_METRICS_FILE and writes the learned weights to $NAI_OUTPUT_DIR/model.json.
"""
import json
import math
import os
import random
import sys
import time

EPOCHS = int(os.environ.get("EPOCHS", "200"))
HIDDEN = int(os.environ.get("HIDDEN", "16"))
LR = float(os.environ.get("LR", "0.5"))
SEED = int(os.environ.get("SEED", "1"))


def make_moons(n, noise, rng):
    xs, ys = [], []
    for i in range(n):
        t = math.pi * rng.random()
        if i % 2 == 0:
            x, y = math.cos(t), math.sin(t)
            label = 0
        else:
            x, y = 1 - math.cos(t), 0.5 - math.sin(t)
            label = 1
        xs.append((x + rng.gauss(0, noise), y + rng.gauss(0, noise)))
        ys.append(label)
    return xs, ys


def sigmoid(z):
    if z < -60:
        return 0.0
    return 1.0 / (1.0 + math.exp(-z))


def main():
    rng = random.Random(SEED)
    xs, ys = make_moons(400, 0.15, rng)
    split = 320
    train, test = list(zip(xs[:split], ys[:split])), list(zip(xs[split:], ys[split:]))

    # Parameters: W1 (HIDDEN x 2), b1 (HIDDEN), w2 (HIDDEN), b2.
    w1 = [[rng.gauss(0, 1.0) for _ in range(2)] for _ in range(HIDDEN)]
    b1 = [0.0] * HIDDEN
    w2 = [rng.gauss(0, 1.0) / math.sqrt(HIDDEN) for _ in range(HIDDEN)]
    b2 = 0.0

    def forward(x):
        h = [math.tanh(w1[j][0] * x[0] + w1[j][1] * x[1] + b1[j]) for j in range(HIDDEN)]
        p = sigmoid(sum(w2[j] * h[j] for j in range(HIDDEN)) + b2)
        return h, p

    def evaluate(data):
        loss, correct = 0.0, 0
        for x, y in data:
            _, p = forward(x)
            p = min(max(p, 1e-9), 1 - 1e-9)
            loss -= y * math.log(p) + (1 - y) * math.log(1 - p)
            correct += int((p > 0.5) == bool(y))
        return loss / len(data), correct / len(data)

    gpus = os.environ.get("CUDA_VISIBLE_DEVICES", "")
    print(f"nai quickstart: job {os.environ.get('NAI_JOB_ID', '?')} on {os.environ.get('NAI_NODE_NAME', '?')}, "
          f"CUDA_VISIBLE_DEVICES={gpus!r}, {len(train)} training points, {EPOCHS} epochs", flush=True)
    metrics_path = os.environ.get("NAI_METRICS_FILE")
    metrics = open(metrics_path, "a") if metrics_path else None
    start = time.time()
    for epoch in range(1, EPOCHS + 1):
        gw1 = [[0.0, 0.0] for _ in range(HIDDEN)]
        gb1 = [0.0] * HIDDEN
        gw2 = [0.0] * HIDDEN
        gb2 = 0.0
        for x, y in train:
            h, p = forward(x)
            d = p - y  # dLoss/dlogit for sigmoid + cross-entropy
            gb2 += d
            for j in range(HIDDEN):
                gw2[j] += d * h[j]
                dh = d * w2[j] * (1 - h[j] * h[j])
                gw1[j][0] += dh * x[0]
                gw1[j][1] += dh * x[1]
                gb1[j] += dh
        n = len(train)
        for j in range(HIDDEN):
            w1[j][0] -= LR * gw1[j][0] / n
            w1[j][1] -= LR * gw1[j][1] / n
            b1[j] -= LR * gb1[j] / n
            w2[j] -= LR * gw2[j] / n
        b2 -= LR * gb2 / n
        if epoch % 20 == 0 or epoch == EPOCHS:
            loss, acc = evaluate(train)
            test_loss, test_acc = evaluate(test)
            print(f"epoch {epoch:4d}  loss {loss:.4f}  acc {acc:.3f}  test_acc {test_acc:.3f}", flush=True)
            if metrics:
                metrics.write(json.dumps({"epoch": epoch, "loss": round(loss, 6), "accuracy": round(acc, 6),
                                          "test_accuracy": round(test_acc, 6)}) + "\n")
                metrics.flush()

    out_dir = os.environ.get("NAI_OUTPUT_DIR", ".")
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "model.json"), "w") as f:
        json.dump({"kind": "mlp", "hidden": HIDDEN, "w1": w1, "b1": b1, "w2": w2, "b2": b2,
                   "test_accuracy": test_acc}, f)
    print(f"done in {time.time() - start:.1f}s: weights written to {out_dir}/model.json", flush=True)
    return 0 if test_acc > 0.8 else 1


if __name__ == "__main__":
    sys.exit(main())
