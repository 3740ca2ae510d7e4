"""The small CNN shared by train.py and evaluate.py."""
import torch
from torch import nn


class DigitsCNN(nn.Module):
    """Two convolutions and a linear layer for 8x8 grey-scale digits."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, kernel_size=3, padding=1), nn.ReLU(),
            nn.Conv2d(16, 32, kernel_size=3, padding=1), nn.ReLU(),
            nn.MaxPool2d(2),  # 8x8 -> 4x4
        )
        self.classify = nn.Linear(32 * 4 * 4, 10)

    def forward(self, x):
        return self.classify(torch.flatten(self.features(x), 1))


def load_split(path):
    """Reads digits.npz (made by export_digits.py) as float tensors."""
    import numpy as np

    d = np.load(path)
    tensors = {}
    for split in ("train", "test"):
        x = torch.tensor(d["x_" + split], dtype=torch.float32).reshape(-1, 1, 8, 8) / 16.0
        y = torch.tensor(d["y_" + split], dtype=torch.long)
        tensors[split] = (x, y)
    return tensors


def accuracy(model, x, y):
    model.eval()
    with torch.no_grad():
        return (model(x).argmax(dim=1) == y).float().mean().item()
