"""Trains the CNN on the dataset nai unpacked at $NAI_DATASET_DIR, reports
loss and accuracy per epoch through $NAI_METRICS_FILE, and saves the weights
in $NAI_OUTPUT_DIR, which the job's output block registers as a model
version. Runs on CUDA when the job was given a GPU, on the CPU otherwise."""
import argparse
import json
import os

import torch
from torch import nn

from model import DigitsCNN, accuracy, load_split

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=10)
parser.add_argument("--lr", type=float, default=0.01)
parser.add_argument("--batch-size", type=int, default=64)
args = parser.parse_args()

torch.manual_seed(0)
device = "cuda" if torch.cuda.is_available() and os.environ.get("CUDA_VISIBLE_DEVICES") else "cpu"
data = load_split(os.path.join(os.environ["NAI_DATASET_DIR"], "digits.npz"))
x_train, y_train = (t.to(device) for t in data["train"])
x_test, y_test = (t.to(device) for t in data["test"])
print(f"training on {device}: {len(x_train)} images, {args.epochs} epochs", flush=True)

model = DigitsCNN().to(device)
opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
loss_fn = nn.CrossEntropyLoss()
metrics = open(os.environ["NAI_METRICS_FILE"], "a")
for epoch in range(1, args.epochs + 1):
    model.train()
    perm = torch.randperm(len(x_train), device=device)
    total = 0.0
    for i in range(0, len(x_train), args.batch_size):
        idx = perm[i:i + args.batch_size]
        opt.zero_grad()
        loss = loss_fn(model(x_train[idx]), y_train[idx])
        loss.backward()
        opt.step()
        total += loss.item() * len(idx)
    line = {"epoch": epoch, "loss": round(total / len(x_train), 5),
            "accuracy": round(accuracy(model, x_test, y_test), 5)}
    metrics.write(json.dumps(line) + "\n")
    metrics.flush()
    print(json.dumps(line), flush=True)

torch.save(model.state_dict(), os.path.join(os.environ["NAI_OUTPUT_DIR"], "model.pt"))
print("saved model.pt")
