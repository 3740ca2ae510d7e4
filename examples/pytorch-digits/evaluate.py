"""Evaluates pulled weights locally: python3 evaluate.py WEIGHTS_DIR DATA_DIR."""
import os
import sys

import torch

from model import DigitsCNN, accuracy, load_split

weights, data_dir = sys.argv[1], sys.argv[2]
model = DigitsCNN()
model.load_state_dict(torch.load(os.path.join(weights, "model.pt"), map_location="cpu"))
x, y = load_split(os.path.join(data_dir, "digits.npz"))["test"]
print(f"test accuracy of the pulled model: {accuracy(model, x, y):.4f} on {len(x)} images")
