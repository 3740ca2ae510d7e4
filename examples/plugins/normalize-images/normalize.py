"""Resize and normalise the images of a dataset (Python standard library only).

Reads $NAI_DATASET_DIR; for every PNG (8-bit, any colour type but
interlaced), PGM or PPM (P2, P3, P5, P6 with maxval up to 255) image,
writes $NAI_OUTPUT_DIR/PATH.png resized to --size x --size pixels with
bilinear interpolation and each channel stretched to 0..255. Other files are
copied as they are. normalize.json lists what was done.
"""

import argparse
import json
import os
import shutil
import struct
import sys
import zlib

PNG_SIG = b"\x89PNG\r\n\x1a\n"


class ImageError(Exception):
    pass


class Image:
    """width x height pixels of `channels` bytes each, row by row."""

    def __init__(self, width, height, channels, pixels):
        self.width, self.height, self.channels, self.pixels = width, height, channels, pixels


def _paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def read_png(data):
    if not data.startswith(PNG_SIG):
        raise ImageError("not a PNG file")
    pos, idat, palette, header = 8, [], None, None
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"PLTE":
            palette = body
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    if header is None:
        raise ImageError("PNG without IHDR")
    width, height, depth, ctype, _, _, interlace = header
    if depth != 8 or interlace:
        raise ImageError(f"PNG of bit depth {depth}{' interlaced' if interlace else ''} is not supported (8-bit, not interlaced)")
    per_pixel = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}.get(ctype)
    if per_pixel is None:
        raise ImageError(f"PNG colour type {ctype} is unknown")
    if width * height > 64 << 20:
        raise ImageError("PNG larger than 64 megapixels")
    raw = zlib.decompress(b"".join(idat))
    stride = width * per_pixel
    out = bytearray(height * stride)
    prev = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        ftype, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        for i in range(stride):
            a = line[i - per_pixel] if i >= per_pixel else 0
            b = prev[i]
            c = prev[i - per_pixel] if i >= per_pixel else 0
            if ftype == 1:
                line[i] = (line[i] + a) & 255
            elif ftype == 2:
                line[i] = (line[i] + b) & 255
            elif ftype == 3:
                line[i] = (line[i] + ((a + b) >> 1)) & 255
            elif ftype == 4:
                line[i] = (line[i] + _paeth(a, b, c)) & 255
            elif ftype != 0:
                raise ImageError(f"PNG filter {ftype} is unknown")
        out[y * stride:(y + 1) * stride] = line
        prev = line
    if ctype == 3:
        if palette is None:
            raise ImageError("palette PNG without PLTE")
        rgb = bytearray()
        for idx in out:
            rgb += palette[3 * idx:3 * idx + 3]
        return Image(width, height, 3, rgb)
    if ctype in (4, 6):  # drop alpha: normalising it makes no sense
        keep = per_pixel - 1
        stripped = bytearray()
        for i in range(0, len(out), per_pixel):
            stripped += out[i:i + keep]
        return Image(width, height, keep, stripped)
    return Image(width, height, per_pixel, out)


def read_pnm(data):
    magic = data[:2]
    if magic not in (b"P2", b"P3", b"P5", b"P6"):
        raise ImageError("not a PGM or PPM file")
    channels = 3 if magic in (b"P3", b"P6") else 1
    fields, pos = [], 2
    while len(fields) < 3:
        while pos < len(data) and data[pos:pos + 1].isspace():
            pos += 1
        if data[pos:pos + 1] == b"#":
            while pos < len(data) and data[pos:pos + 1] != b"\n":
                pos += 1
            continue
        start = pos
        while pos < len(data) and not data[pos:pos + 1].isspace():
            pos += 1
        if start == pos:
            raise ImageError("truncated PNM header")
        fields.append(int(data[start:pos]))
    width, height, maxval = fields
    if not 0 < maxval <= 255:
        raise ImageError(f"PNM maxval {maxval} is not supported (1 to 255)")
    n = width * height * channels
    if magic in (b"P5", b"P6"):
        pixels = bytearray(data[pos + 1:pos + 1 + n])
    else:
        pixels = bytearray(int(v) for v in data[pos:].split()[:n])
    if len(pixels) != n:
        raise ImageError("truncated PNM pixels")
    if maxval != 255:
        pixels = bytearray(min(255, v * 255 // maxval) for v in pixels)
    return Image(width, height, channels, pixels)


def read_image(path):
    with open(path, "rb") as f:
        data = f.read()
    if data.startswith(PNG_SIG):
        return read_png(data)
    return read_pnm(data)


def to_gray(img):
    if img.channels == 1:
        return img
    p, gray = img.pixels, bytearray(img.width * img.height)
    for i in range(len(gray)):
        r, g, b = p[3 * i], p[3 * i + 1], p[3 * i + 2]
        gray[i] = (299 * r + 587 * g + 114 * b + 500) // 1000
    return Image(img.width, img.height, 1, gray)


def resize(img, size):
    """Bilinear resize to size x size (pixel centres aligned)."""
    w, h, ch, src = img.width, img.height, img.channels, img.pixels
    out = bytearray(size * size * ch)
    for y in range(size):
        fy = max(0.0, min(h - 1.0, (y + 0.5) * h / size - 0.5))
        y0 = int(fy)
        y1, dy = min(y0 + 1, h - 1), fy - y0
        for x in range(size):
            fx = max(0.0, min(w - 1.0, (x + 0.5) * w / size - 0.5))
            x0 = int(fx)
            x1, dx = min(x0 + 1, w - 1), fx - x0
            for c in range(ch):
                a = src[(y0 * w + x0) * ch + c]
                b = src[(y0 * w + x1) * ch + c]
                d = src[(y1 * w + x0) * ch + c]
                e = src[(y1 * w + x1) * ch + c]
                top = a + (b - a) * dx
                bottom = d + (e - d) * dx
                out[(y * size + x) * ch + c] = int(round(top + (bottom - top) * dy))
    return Image(size, size, ch, out)


def stretch(img):
    """Stretch each channel to 0..255; a flat channel becomes 0."""
    ch, p = img.channels, img.pixels
    out = bytearray(len(p))
    for c in range(ch):
        values = p[c::ch]
        lo, hi = min(values), max(values)
        span = hi - lo
        for i in range(c, len(p), ch):
            out[i] = 0 if span == 0 else (p[i] - lo) * 255 // span
    return Image(img.width, img.height, ch, out)


def write_png(path, img):
    ctype = {1: 0, 3: 2}[img.channels]
    stride = img.width * img.channels
    raw = b"".join(b"\x00" + bytes(img.pixels[y * stride:(y + 1) * stride]) for y in range(img.height))

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    with open(path, "wb") as f:
        f.write(PNG_SIG)
        f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", img.width, img.height, 8, ctype, 0, 0, 0)))
        f.write(chunk(b"IDAT", zlib.compress(raw, 9)))
        f.write(chunk(b"IEND", b""))


IMAGE_SUFFIXES = (".png", ".pgm", ".ppm", ".pnm")


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=float, default=64)
    ap.add_argument("--grayscale", default="false")
    args = ap.parse_args(argv)
    size = int(args.size)
    if size != args.size or not 1 <= size <= 4096:
        print(f"normalize-images: size {args.size} is out of range: expected a whole number from 1 to 4096", file=sys.stderr)
        return 2
    gray = args.grayscale.lower() in ("true", "1", "yes")
    src, dst = os.environ.get("NAI_DATASET_DIR"), os.environ.get("NAI_OUTPUT_DIR")
    if not src or not os.path.isdir(src) or not dst:
        print("normalize-images: run it with nai plugin run normalize-images -dataset NAME", file=sys.stderr)
        return 2
    done, copied, failed = [], [], []
    for dirpath, dirnames, filenames in os.walk(src):
        dirnames.sort()
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, src)
            if os.path.islink(path) or not os.path.isfile(path):
                continue
            if not name.lower().endswith(IMAGE_SUFFIXES):
                target = os.path.join(dst, rel)
                os.makedirs(os.path.dirname(target), exist_ok=True)
                shutil.copyfile(path, target)
                copied.append(rel)
                continue
            try:
                img = read_image(path)
            except (ImageError, ValueError, zlib.error) as e:
                failed.append({"path": rel, "error": str(e)})
                continue
            if gray:
                img = to_gray(img)
            img = stretch(resize(img, size))
            out_rel = os.path.splitext(rel)[0] + ".png"
            target = os.path.join(dst, out_rel)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            write_png(target, img)
            done.append(out_rel)
    manifest = {"size": size, "grayscale": gray, "images": sorted(done), "copied": sorted(copied), "failed": failed}
    with open(os.path.join(dst, "normalize.json"), "w") as f:
        json.dump(manifest, f, indent=2, sort_keys=True)
        f.write("\n")
    print(f"normalized {len(done)} images to {size}x{size}, copied {len(copied)} other files, {len(failed)} unreadable")
    for fl in failed:
        print(f"  {fl['path']}: {fl['error']}", file=sys.stderr)
    return 1 if failed and not done else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
