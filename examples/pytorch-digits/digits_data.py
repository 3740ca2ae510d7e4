"""8x8 digits with the standard library only: the fallback dataset when
scikit-learn (and its bundled digits) is not installed.

    python3 digits_data.py OUT [--train N] [--test N] [--seed S]

writes OUT/digits.json: {"x_train": [[64 pixels]...], "y_train": [...],
"x_test": ..., "y_test": ...}, pixels 0..16 as in scikit-learn's digits,
each image a 5x7 glyph placed at a random offset with random stroke
intensity, a few pixels dropped and a little background noise. The same
seed always gives the same images, so a test can hold examples out."""
import argparse
import json
import os
import random

GLYPHS = {
    0: ["01110", "10001", "10011", "10101", "11001", "10001", "01110"],
    1: ["00100", "01100", "00100", "00100", "00100", "00100", "01110"],
    2: ["01110", "10001", "00001", "00010", "00100", "01000", "11111"],
    3: ["11110", "00001", "00001", "01110", "00001", "00001", "11110"],
    4: ["00010", "00110", "01010", "10010", "11111", "00010", "00010"],
    5: ["11111", "10000", "11110", "00001", "00001", "10001", "01110"],
    6: ["00110", "01000", "10000", "11110", "10001", "10001", "01110"],
    7: ["11111", "00001", "00010", "00100", "01000", "01000", "01000"],
    8: ["01110", "10001", "10001", "01110", "10001", "10001", "01110"],
    9: ["01110", "10001", "10001", "01111", "00001", "00010", "01100"],
}


def image(digit, rng):
    """One 8x8 image of digit as 64 ints in 0..16."""
    px = [0] * 64
    dx, dy = rng.randint(0, 3), rng.randint(0, 1)
    ink = rng.randint(11, 16)
    for y, row in enumerate(GLYPHS[digit]):
        for x, on in enumerate(row):
            if on == "1" and rng.random() > 0.05:
                px[(y + dy) * 8 + x + dx] = max(0, min(16, ink + rng.randint(-3, 0)))
    for i in range(64):
        if px[i] == 0 and rng.random() < 0.08:
            px[i] = rng.randint(1, 4)
    return px


def make(n, seed):
    rng = random.Random(seed)
    xs, ys = [], []
    for i in range(n):
        d = i % 10
        xs.append(image(d, rng))
        ys.append(d)
    order = list(range(n))
    rng.shuffle(order)
    return [xs[i] for i in order], [ys[i] for i in order]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--train", type=int, default=1500)
    p.add_argument("--test", type=int, default=200)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    x_train, y_train = make(a.train, a.seed)
    x_test, y_test = make(a.test, a.seed + 1000)  # held out: never trained on
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "digits.json"), "w") as f:
        json.dump({"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}, f)
    print(f"wrote {len(x_train)} training and {len(x_test)} test images to {a.out}/digits.json")


if __name__ == "__main__":
    main()
