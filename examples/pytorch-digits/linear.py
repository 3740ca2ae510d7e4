"""Softmax regression on 8x8 digits with the standard library only: the
model train.py makes when PyTorch is not installed (or
NAI_DIGITS_BACKEND=stdlib), and that serve.py answers with. Weights travel
as model.json."""
import json
import math
import random


def softmax(z):
    m = max(z)
    e = [math.exp(v - m) for v in z]
    s = sum(e)
    return [v / s for v in e]


class Linear:
    """10 classes over 64 pixels scaled to 0..1, plus a bias."""

    def __init__(self, w=None, b=None):
        self.w = w or [[0.0] * 64 for _ in range(10)]
        self.b = b or [0.0] * 10

    def probabilities(self, px):
        x = [v / 16.0 for v in px]
        return softmax([sum(wi * xi for wi, xi in zip(self.w[k], x)) + self.b[k] for k in range(10)])

    def fit(self, xs, ys, epochs=15, lr=0.5, seed=0, on_epoch=None):
        rng = random.Random(seed)
        order = list(range(len(xs)))
        for epoch in range(1, epochs + 1):
            rng.shuffle(order)
            total = 0.0
            for i in order:
                x = [v / 16.0 for v in xs[i]]
                p = softmax([sum(wi * xi for wi, xi in zip(self.w[k], x)) + self.b[k] for k in range(10)])
                total -= math.log(max(p[ys[i]], 1e-12))
                for k in range(10):
                    g = p[k] - (1.0 if k == ys[i] else 0.0)
                    if g == 0.0:
                        continue
                    wk = self.w[k]
                    for j in range(64):
                        if x[j]:
                            wk[j] -= lr * g * x[j]
                    self.b[k] -= lr * g
            if on_epoch:
                on_epoch(epoch, total / len(xs))

    def accuracy(self, xs, ys):
        right = sum(1 for x, y in zip(xs, ys) if argmax(self.probabilities(x)) == y)
        return right / len(xs)

    def save(self, path):
        with open(path, "w") as f:
            json.dump({"kind": "digits-linear", "w": self.w, "b": self.b}, f)

    @classmethod
    def load(cls, path):
        with open(path) as f:
            d = json.load(f)
        return cls(d["w"], d["b"])


def argmax(v):
    return max(range(len(v)), key=v.__getitem__)
