"""Split the files of a dataset into train/ and val/ by a seeded fraction.

Reads the dataset unpacked at $NAI_DATASET_DIR and writes, under
$NAI_OUTPUT_DIR, train/PATH and val/PATH for every file PATH of it, and
split.json listing both sides. Files are ordered by path before a shuffle
seeded with --seed, and round(fraction * n) of them go to train (at least
one to each side when there are two files or more), so the same input,
fraction and seed always give the same split.
"""

import argparse
import json
import os
import random
import shutil
import sys


def files_under(root):
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            if os.path.isfile(path) and not os.path.islink(path):
                out.append(os.path.relpath(path, root))
    out.sort()
    return out


def split(paths, fraction, seed):
    order = list(paths)
    random.Random(seed).shuffle(order)
    n_train = round(fraction * len(order))
    if len(order) >= 2:
        n_train = min(max(n_train, 1), len(order) - 1)
    return sorted(order[:n_train]), sorted(order[n_train:])


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fraction", type=float, default=0.8)
    ap.add_argument("--seed", type=float, default=0)
    args = ap.parse_args(argv)
    if not 0 < args.fraction < 1:
        print(f"split-train-val: fraction {args.fraction} is out of range: expected more than 0 and less than 1", file=sys.stderr)
        return 2
    if args.seed != int(args.seed):
        print(f"split-train-val: seed {args.seed} is not a whole number", file=sys.stderr)
        return 2
    src = os.environ.get("NAI_DATASET_DIR")
    dst = os.environ.get("NAI_OUTPUT_DIR")
    if not src or not os.path.isdir(src):
        print("split-train-val: no input dataset: run it with nai plugin run split-train-val -dataset NAME", file=sys.stderr)
        return 2
    if not dst:
        print("split-train-val: NAI_OUTPUT_DIR is not set: run it as a nai job", file=sys.stderr)
        return 2
    paths = files_under(src)
    if not paths:
        print(f"split-train-val: the dataset at {src} has no files", file=sys.stderr)
        return 1
    train, val = split(paths, args.fraction, int(args.seed))
    for side, names in (("train", train), ("val", val)):
        for rel in names:
            target = os.path.join(dst, side, rel)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copyfile(os.path.join(src, rel), target)
    manifest = {"fraction": args.fraction, "seed": int(args.seed), "train": train, "val": val}
    with open(os.path.join(dst, "split.json"), "w") as f:
        json.dump(manifest, f, indent=2, sort_keys=True)
        f.write("\n")
    print(f"split {len(paths)} files: {len(train)} to train/, {len(val)} to val/ (fraction {args.fraction}, seed {int(args.seed)})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
