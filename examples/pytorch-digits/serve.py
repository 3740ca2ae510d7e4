"""Serves a trained digits model over HTTP, as a nai service replica
(`nai serve digits-cnn`): the model version's files are at $NAI_MODEL_DIR
(this file among them), the port is $NAI_PORT.

    POST /predict  {"image": [64 pixels 0..16]} or {"image": [[8 rows of 8]]}
                   -> {"class": 3, "probabilities": [10 floats], "model_version": "2"}
    GET  /health   -> {"status": "ok", "pid": ..., "model_version": "2"}

It loads model.pt with PyTorch (the CNN of model.py) when the version has
one, else model.json (softmax regression, standard library only)."""
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODEL_DIR = os.environ.get("NAI_MODEL_DIR") or os.path.dirname(os.path.abspath(__file__))
VERSION = os.environ.get("NAI_MODEL_VERSION", "")
sys.path.insert(0, MODEL_DIR)


def load():
    """Returns a function from 64 pixels to 10 probabilities."""
    if os.path.exists(os.path.join(MODEL_DIR, "model.pt")):
        import torch

        from model import DigitsCNN

        net = DigitsCNN()
        net.load_state_dict(torch.load(os.path.join(MODEL_DIR, "model.pt"), map_location="cpu"))
        net.eval()

        def probabilities(px):
            x = torch.tensor(px, dtype=torch.float32).reshape(1, 1, 8, 8) / 16.0
            with torch.no_grad():
                return torch.softmax(net(x), dim=1)[0].tolist()

        return probabilities
    from linear import Linear

    return Linear.load(os.path.join(MODEL_DIR, "model.json")).probabilities


PROBABILITIES = load()


def pixels(v):
    """64 numbers in 0..16 from a flat list or 8 rows of 8."""
    if isinstance(v, list) and len(v) == 8 and all(isinstance(r, list) for r in v):
        v = [p for r in v for p in r]
    if not isinstance(v, list) or len(v) != 64:
        raise ValueError("image must be 64 pixels, or 8 rows of 8")
    out = []
    for p in v:
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p <= 16:
            raise ValueError("pixels are numbers from 0 to 16")
        out.append(float(p))
    return out


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the gateway reuses connections

    def answer(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path.split("?")[0] == "/health":
            self.answer(200, {"status": "ok", "pid": os.getpid(), "model_version": VERSION})
        else:
            self.answer(404, {"error": "no such path: try POST /predict or GET /health"})

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n > 0 else b""
        if self.path.split("?")[0] != "/predict":
            self.answer(404, {"error": "no such path: try POST /predict or GET /health"})
            return
        try:
            px = pixels(json.loads(body or b"null").get("image"))
        except (ValueError, AttributeError) as e:
            self.answer(400, {"error": f"bad request: {e}"})
            return
        probs = PROBABILITIES(px)
        best = max(range(10), key=probs.__getitem__)
        self.answer(200, {"class": best, "probabilities": [round(p, 5) for p in probs], "model_version": VERSION})

    def log_message(self, fmt, *a):
        pass  # one line per request would drown the replica's log


def main():
    port = int(os.environ.get("NAI_PORT") or (sys.argv[1] if len(sys.argv) > 1 else 8080))
    srv = ThreadingHTTPServer(("", port), Handler)
    srv.daemon_threads = True
    print(f"serving digits model version {VERSION or '?'} on port {port} (pid {os.getpid()})", flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
