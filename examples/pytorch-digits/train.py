"""Trains a digits classifier on the dataset nai unpacked at
$NAI_DATASET_DIR, reports loss and accuracy per epoch through
$NAI_METRICS_FILE, and saves the weights in $NAI_OUTPUT_DIR, which the job's
output block registers as a model version, together with serve.py (so the
version can be served: `nai serve digits-cnn`).

With PyTorch installed it trains the CNN of model.py (on CUDA when the job
was given a GPU) on digits.npz; without it, or with
NAI_DIGITS_BACKEND=stdlib, a softmax regression of the standard library
(linear.py) on digits.json."""
import argparse
import json
import os
import shutil

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=10)
parser.add_argument("--lr", type=float, default=0.01)
parser.add_argument("--batch-size", type=int, default=64)
parser.add_argument("--seed", type=int, default=0)
args = parser.parse_args()

here = os.path.dirname(os.path.abspath(__file__))
data_dir = os.environ["NAI_DATASET_DIR"]
out_dir = os.environ["NAI_OUTPUT_DIR"]
metrics = open(os.environ["NAI_METRICS_FILE"], "a")


def report(line):
    metrics.write(json.dumps(line) + "\n")
    metrics.flush()
    print(json.dumps(line), flush=True)


def use_torch():
    if os.environ.get("NAI_DIGITS_BACKEND") == "stdlib":
        return False
    if not os.path.exists(os.path.join(data_dir, "digits.npz")):
        return False
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def train_torch():
    import torch
    from torch import nn

    from model import DigitsCNN, accuracy, load_split

    torch.manual_seed(args.seed)
    device = "cuda" if torch.cuda.is_available() and os.environ.get("CUDA_VISIBLE_DEVICES") else "cpu"
    data = load_split(os.path.join(data_dir, "digits.npz"))
    x_train, y_train = (t.to(device) for t in data["train"])
    x_test, y_test = (t.to(device) for t in data["test"])
    print(f"training the CNN on {device}: {len(x_train)} images, {args.epochs} epochs", flush=True)
    model = DigitsCNN().to(device)
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
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
        report({"epoch": epoch, "loss": round(total / len(x_train), 5),
                "accuracy": round(accuracy(model, x_test, y_test), 5)})
    torch.save(model.state_dict(), os.path.join(out_dir, "model.pt"))
    shutil.copy(os.path.join(here, "model.py"), out_dir)
    print("saved model.pt")


def train_stdlib():
    from linear import Linear

    with open(os.path.join(data_dir, "digits.json")) as f:
        d = json.load(f)
    print(f"training softmax regression (standard library): {len(d['x_train'])} images, {args.epochs} epochs", flush=True)
    model = Linear()
    # Plain SGD on pixels wants a larger step than the CNN's --lr.
    model.fit(d["x_train"], d["y_train"], epochs=args.epochs, lr=0.1, seed=args.seed,
              on_epoch=lambda e, loss: report({"epoch": e, "loss": round(loss, 5),
                                               "accuracy": round(model.accuracy(d["x_test"], d["y_test"]), 5)}))
    model.save(os.path.join(out_dir, "model.json"))
    shutil.copy(os.path.join(here, "linear.py"), out_dir)
    print("saved model.json")


if use_torch():
    train_torch()
else:
    train_stdlib()
# The version serves itself: `nai serve digits-cnn` runs serve.py.
shutil.copy(os.path.join(here, "serve.py"), out_dir)
