"""Label the images of a dataset version in the browser (Python standard library only).

Serves a page at / that shows the images of the dataset unpacked at
$NAI_DATASET_DIR one by one with a button per label. Labels are kept in
memory and in labels.partial.json in the working directory, so a reload of
the page loses nothing. POST api/save packs the dataset's files with a
labels.json ({"choices": [...], "labels": {"PATH": "LABEL"}}) the same way
every time and pushes them through the nai API at $NAI_ADDR as the next
version of the dataset, as made by this job ($NAI_JOB_ID): the servers
record the labelled version, this plugin and the job as its lineage. A
token, when the cluster needs one, comes from $NAI_TOKEN, else from
--token-file, else from ~/.nai/token (what `nai login` writes; on a shared
home the job's owner has it on every node).

API (relative to the page, so it works behind the gateway's path prefix):

    GET  api/state              {"dataset", "version", "choices", "images": [{"path", "label"}]}
    GET  image?path=PATH        the image (PGM and PPM converted to PNG)
    POST api/label              {"path": PATH, "label": LABEL}
    POST api/save               {"dataset", "version", "created"}
"""

import argparse
import gzip
import hashlib
import io
import json
import os
import struct
import sys
import tarfile
import tempfile
import threading
import urllib.error
import urllib.parse
import urllib.request
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

IMAGE_TYPES = {
    ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
    ".webp": "image/webp", ".bmp": "image/bmp", ".pgm": "image/png", ".ppm": "image/png",
}
LABELS_FILE = "labels.json"
CHUNK = 64 << 20


class APIError(Exception):
    pass


class NaiAPI:
    """The few calls of the nai HTTP API a labelling session needs."""

    def __init__(self, addr, token):
        self.addr = addr.split(",")[0].rstrip("/")
        self.token = token

    def call(self, method, path, body=None, headers=None):
        data = body
        hdrs = dict(headers or {})
        if isinstance(body, (dict, list)):
            data = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        if self.token:
            hdrs["Authorization"] = "Bearer " + self.token
        req = urllib.request.Request(self.addr + path, data=data, method=method, headers=hdrs)
        try:
            with urllib.request.urlopen(req, timeout=600) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                msg = json.loads(raw)["error"]["message"]
            except (ValueError, KeyError, TypeError):
                msg = raw.decode(errors="replace").strip() or str(e)
            raise APIError(f"{method} {path}: {e.code}: {msg}") from None
        except urllib.error.URLError as e:
            raise APIError(f"{method} {path}: cannot reach the nai API at {self.addr}: {e.reason}") from None
        return json.loads(raw) if raw.strip() else None

    def upload(self, path, digest, size):
        sess = self.call("POST", "/v1/blobs/uploads")
        off = 0
        with open(path, "rb") as f:
            while off < size:
                chunk = f.read(CHUNK)
                hdr = {"Content-Type": "application/octet-stream", "Content-Range": f"bytes {off}-{off + len(chunk) - 1}/*"}
                got = self.call("PATCH", "/v1/blobs/uploads/" + urllib.parse.quote(sess["id"]), chunk, hdr)
                off = got["offset"]
        self.call("PUT", f"/v1/blobs/uploads/{urllib.parse.quote(sess['id'])}?digest={digest}")


def pnm_to_png(data):
    """A PGM or PPM (P2, P3, P5, P6) as PNG bytes, for the browser."""
    magic = data[:2]
    channels = 3 if magic in (b"P3", b"P6") else 1
    fields, pos = [], 2
    while len(fields) < 3:
        while pos < len(data) and data[pos:pos + 1].isspace():
            pos += 1
        if data[pos:pos + 1] == b"#":
            pos = data.index(b"\n", pos)
            continue
        start = pos
        while pos < len(data) and not data[pos:pos + 1].isspace():
            pos += 1
        fields.append(int(data[start:pos]))
    width, height, maxval = fields
    n = width * height * channels
    if magic in (b"P5", b"P6"):
        px = bytearray(data[pos + 1:pos + 1 + n])
    else:
        px = bytearray(int(v) for v in data[pos:].split()[:n])
    if maxval not in (0, 255):
        px = bytearray(min(255, v * 255 // maxval) for v in px)
    stride = width * channels
    raw = b"".join(b"\x00" + bytes(px[y * stride:(y + 1) * stride]) for y in range(height))

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    ctype = 2 if channels == 3 else 0
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, ctype, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def dataset_files(root):
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            if os.path.isfile(path) and not os.path.islink(path):
                out.append(os.path.relpath(path, root).replace(os.sep, "/"))
    return sorted(out)


def pack(root, files, labels_json, dst):
    """tar+gzip of files (and labels.json) with fixed times and owners, so
    the same content always packs to the same bytes."""
    with open(dst, "wb") as raw:
        with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
            with tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
                dirs = set()
                entries = sorted(set(f for f in files if f != LABELS_FILE) | {LABELS_FILE})
                for rel in entries:
                    parts = rel.split("/")[:-1]
                    for i in range(1, len(parts) + 1):
                        d = "/".join(parts[:i])
                        if d not in dirs:
                            dirs.add(d)
                            info = tarfile.TarInfo(d + "/")
                            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, 0
                            tar.addfile(info)
                    info = tarfile.TarInfo(rel)
                    info.mode, info.mtime = 0o644, 0
                    if rel == LABELS_FILE:
                        info.size = len(labels_json)
                        tar.addfile(info, io.BytesIO(labels_json))
                    else:
                        path = os.path.join(root, rel)
                        info.size = os.path.getsize(path)
                        with open(path, "rb") as f:
                            tar.addfile(info, f)
    return len(entries)


class Session:
    def __init__(self, root, choices, api, job_id, output_dataset, state_path):
        self.root, self.choices, self.api, self.job_id = root, choices, api, job_id
        self.output_dataset, self.state_path = output_dataset, state_path
        self.lock = threading.Lock()
        self.files = dataset_files(root)
        self.images = [f for f in self.files if os.path.splitext(f)[1].lower() in IMAGE_TYPES]
        self.labels = {}
        existing = os.path.join(root, LABELS_FILE)
        for path in (existing, state_path):
            if os.path.isfile(path):
                with open(path) as f:
                    self.labels.update(json.load(f).get("labels", {}))
        self.dataset, self.version = self.input_dataset()
        self.saved = threading.Event()

    def input_dataset(self):
        """The dataset version this job reads, as the servers pinned it."""
        if not self.job_id:
            return None, None
        try:
            job = self.api.call("GET", "/v1/jobs/" + urllib.parse.quote(self.job_id))
        except APIError as e:
            print(f"label-images: {e}", file=sys.stderr)
            return None, None
        ds = job.get("datasets") or []
        if not ds:
            return None, None
        return ds[0]["name"], int(ds[0]["version"])

    def state(self):
        with self.lock:
            return {"dataset": self.dataset, "version": self.version, "choices": self.choices,
                    "images": [{"path": p, "label": self.labels.get(p)} for p in self.images]}

    def label(self, path, label):
        if path not in self.images:
            raise ValueError(f"{path!r} is not an image of this dataset")
        if label not in self.choices:
            raise ValueError(f"{label!r} is not one of the labels {self.choices}")
        with self.lock:
            self.labels[path] = label
            tmp = self.state_path + ".tmp"
            with open(tmp, "w") as f:
                json.dump({"labels": self.labels}, f, sort_keys=True)
            os.replace(tmp, self.state_path)
            return len(self.labels)

    def save(self):
        target = self.output_dataset or self.dataset
        if not target:
            raise APIError("no dataset to save to: the job reads none (nai plugin run label-images -dataset NAME)")
        with self.lock:
            labels = {p: l for p, l in self.labels.items() if p in self.images}
        doc = json.dumps({"choices": self.choices, "labels": labels}, indent=2, sort_keys=True).encode() + b"\n"
        fd, tmp = tempfile.mkstemp(suffix=".tar.gz")
        os.close(fd)
        try:
            n = pack(self.root, self.files, doc, tmp)
            h = hashlib.sha256()
            with open(tmp, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    h.update(block)
            digest, size = h.hexdigest(), os.path.getsize(tmp)
            self.api.upload(tmp, digest, size)
        finally:
            os.unlink(tmp)
        desc = f"{len(labels)} of {len(self.images)} images labelled"
        if self.dataset:
            desc += f" (from {self.dataset}:{self.version})"
        resp = self.api.call("PUT", "/v1/datasets/" + urllib.parse.quote(target),
                             {"digest": digest, "size": size, "files": n, "description": desc, "job_id": self.job_id})
        out = {"dataset": target, "version": resp["version"], "created": resp["created"], "labelled": len(labels)}
        print(f"label-images: saved {desc} as {target}:{resp['version']}" + ("" if resp["created"] else " (unchanged)"))
        return out


PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>label-images</title>
<style>
body { font-family: sans-serif; margin: 2em; }
#img { max-width: 90vw; max-height: 60vh; image-rendering: pixelated; border: 1px solid #ccc; }
button { font-size: 1.1em; margin: .2em; }
.chosen { background: #2a6; color: white; }
#msg { color: #a22; }
</style></head>
<body>
<h1>label-images <small id="what"></small></h1>
<p><span id="pos"></span> <code id="path"></code> <span id="count"></span></p>
<p><img id="img" alt=""></p>
<p id="choices"></p>
<p><button id="prev">&larr; previous</button> <button id="next">next &rarr;</button>
<button id="save">Save as a new dataset version</button></p>
<p id="msg"></p>
<script>
let st = null, i = 0;
const $ = id => document.getElementById(id);
async function call(method, path, body) {
  const r = await fetch(path, {method, headers: {"Content-Type": "application/json"}, body: body && JSON.stringify(body)});
  const j = await r.json();
  if (!r.ok) throw new Error(j.error || r.statusText);
  return j;
}
function show() {
  if (!st.images.length) { $("pos").textContent = "this dataset has no images"; return; }
  const im = st.images[i];
  $("pos").textContent = (i + 1) + " / " + st.images.length;
  $("path").textContent = im.path;
  $("img").src = "image?path=" + encodeURIComponent(im.path);
  $("count").textContent = "(" + st.images.filter(x => x.label).length + " labelled)";
  const c = $("choices"); c.innerHTML = "";
  st.choices.forEach((l, k) => {
    const b = document.createElement("button");
    b.textContent = (k + 1) + ": " + l;
    if (im.label === l) b.className = "chosen";
    b.onclick = () => label(l);
    c.appendChild(b);
  });
}
async function label(l) {
  try {
    await call("POST", "api/label", {path: st.images[i].path, label: l});
    st.images[i].label = l;
    if (i < st.images.length - 1) i++;
    show();
  } catch (e) { $("msg").textContent = e.message; }
}
$("prev").onclick = () => { if (i > 0) { i--; show(); } };
$("next").onclick = () => { if (i < st.images.length - 1) { i++; show(); } };
$("save").onclick = async () => {
  $("msg").textContent = "saving...";
  try {
    const r = await call("POST", "api/save");
    $("msg").textContent = "saved " + r.labelled + " labels as " + r.dataset + ":" + r.version + (r.created ? "" : " (no change)");
  } catch (e) { $("msg").textContent = e.message; }
};
document.onkeydown = e => {
  const k = parseInt(e.key, 10);
  if (k >= 1 && k <= st.choices.length) label(st.choices[k - 1]);
  if (e.key === "ArrowLeft") $("prev").onclick();
  if (e.key === "ArrowRight") $("next").onclick();
};
call("GET", "api/state").then(s => {
  st = s;
  $("what").textContent = s.dataset ? s.dataset + ":" + s.version : "";
  i = Math.max(0, s.images.findIndex(x => !x.label));
  show();
}).catch(e => { $("msg").textContent = e.message; });
</script>
</body></html>
"""


def handler(session):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, fmt, *args):
            print("label-images: " + fmt % args, file=sys.stderr)

        def send(self, code, body, ctype="application/json"):
            if isinstance(body, (dict, list)):
                body = json.dumps(body).encode()
            elif isinstance(body, str):
                body = body.encode()
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def route(self):
            u = urllib.parse.urlsplit(self.path)
            # Behind the gateway the path has a prefix: only its end counts.
            for name in ("api/state", "api/label", "api/save", "image", "health"):
                if u.path.endswith("/" + name):
                    return name, urllib.parse.parse_qs(u.query)
            return ("page" if u.path.endswith("/") else None), {}

        def do_GET(self):
            name, q = self.route()
            if name == "page":
                return self.send(200, PAGE, "text/html; charset=utf-8")
            if name == "health":
                return self.send(200, {"ok": True})
            if name == "api/state":
                return self.send(200, session.state())
            if name == "image":
                path = (q.get("path") or [""])[0]
                if path not in session.images:
                    return self.send(404, {"error": f"no image {path!r}"})
                with open(os.path.join(session.root, path), "rb") as f:
                    data = f.read()
                ext = os.path.splitext(path)[1].lower()
                if ext in (".pgm", ".ppm"):
                    data = pnm_to_png(data)
                return self.send(200, data, IMAGE_TYPES[ext])
            self.send(404, {"error": "not found"})

        def do_POST(self):
            name, _ = self.route()
            n = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(n) or b"{}") if n else {}
            try:
                if name == "api/label":
                    return self.send(200, {"labelled": session.label(body.get("path"), body.get("label"))})
                if name == "api/save":
                    self.send(200, session.save())
                    self.wfile.flush()
                    session.saved.set()  # after the answer: the session may end now
                    return
            except ValueError as e:
                return self.send(400, {"error": str(e)})
            except APIError as e:
                return self.send(502, {"error": str(e)})
            self.send(404, {"error": "not found"})

    return Handler


def read_token(path):
    if os.environ.get("NAI_TOKEN"):
        return os.environ["NAI_TOKEN"]
    for p in (path, os.path.expanduser("~/.nai/token")):
        if p and os.path.isfile(p):
            with open(p) as f:
                return f.read().strip()
    return ""


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--labels", default='["cat", "dog"]', help="the labels, a JSON list of strings")
    ap.add_argument("--output-dataset", default="")
    ap.add_argument("--port", type=float, default=8080)
    ap.add_argument("--exit-after-save", default="false", help="end after a save (run as a batch job, not a service)")
    ap.add_argument("--token-file", default="")
    args = ap.parse_args(argv)
    try:
        choices = json.loads(args.labels)
    except ValueError:
        choices = None
    if not isinstance(choices, list) or not choices or not all(isinstance(c, str) and c for c in choices):
        print(f"label-images: labels {args.labels!r} must be a list of one or more names", file=sys.stderr)
        return 2
    root = os.environ.get("NAI_DATASET_DIR")
    if not root or not os.path.isdir(root):
        print("label-images: no dataset: run it with nai plugin run label-images -dataset NAME[:VERSION]", file=sys.stderr)
        return 2
    api = NaiAPI(os.environ.get("NAI_ADDR", "http://127.0.0.1:4646"), read_token(args.token_file))
    session = Session(root, choices, api, os.environ.get("NAI_JOB_ID", ""), args.output_dataset,
                      os.path.abspath("labels.partial.json"))
    port = int(os.environ.get("NAI_PORT") or args.port)
    srv = ThreadingHTTPServer(("0.0.0.0", port), handler(session))
    print(f"label-images: {len(session.images)} images of {session.dataset}:{session.version}; "
          f"labelling page at http://{os.environ.get('NAI_NODE_NAME', 'localhost')}:{srv.server_address[1]}/", flush=True)
    if args.exit_after_save.lower() in ("true", "1", "yes"):
        def stop_after_save():
            session.saved.wait()
            srv.shutdown()
        threading.Thread(target=stop_after_save, daemon=True).start()
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        srv.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
