"""Writes scikit-learn's bundled digits data set (1797 8x8 images) as
OUT/digits.npz (and OUT/digits.json) with a fixed train/test split: the
dataset that is pushed. Without scikit-learn, digits_data.py makes a
synthetic one with the standard library."""
import json
import os
import sys

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

out = sys.argv[1] if len(sys.argv) > 1 else "data"
os.makedirs(out, exist_ok=True)
digits = load_digits()
x_train, x_test, y_train, y_test = train_test_split(
    digits.data, digits.target, test_size=0.2, random_state=0, stratify=digits.target)
np.savez(os.path.join(out, "digits.npz"), x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
# The same split as JSON, for the trainer without PyTorch (linear.py).
with open(os.path.join(out, "digits.json"), "w") as f:
    json.dump({k: v.astype(int).tolist() for k, v in
               {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}.items()}, f)
print(f"wrote {len(x_train)} training and {len(x_test)} test images to {out}/digits.npz")
