#!/usr/bin/python3
"""Pack the training photos into parts that fit the device tool's limit per call.

    /usr/bin/python3 model-training/pack_data.py --data data/train --out data/pack          # plan and write
    /usr/bin/python3 model-training/pack_data.py --data data/train --out data/pack --dry-run
    python3 model-training/pack_data.py --check /tmp/train --index data/pack/index.tsv     # on the device

Every call of the device tool sends the working tree (tracked files, untracked files that git does
not ignore) and the carried paths, 64 MiB in all (the device README). The photos (data/, ignored)
are larger than what is left, so they travel in parts, data/pack/part1, part2, ..., one part carried
per call; model-training/train-gpu-v2.sh copies each part it receives to /tmp/parts on the device,
where it stays while the machine is held (the machine goes back about 30 s after a call ends, and
a fresh one starts bare, so the calls must follow one another at once).

Each part holds at most --budget MB: by default 64 MiB minus the working tree measured now, minus
--margin (the tree grows while others work; index.tsv travels too). Photos are assigned largest
first to the part with the most room left.

Every photo is stored so that model-training/photos.py's load_photos reads exactly the pixels it reads
from data/train (checked by decoding both): JPEGs byte for byte; other formats (the PNG wallpapers)
as lossless WebP of their RGB pixels when that is smaller (photos.py converts to RGB the same way:
an alpha channel is dropped, not composited), under the original name plus '.webp', so the sorted
order of the names, and with it the crop sampler's photo indices, stays the same.

Lossy re-encoding is not offered: re-encoding the JPEGs at quality 95 or 90 (4:4:4), kept only
where at least 25% smaller and within 40 dB of the original, would save 5.2 or 12.5 MB of their
61.6 MB (7 or 12 of the 100 JPEGs qualify; measured on data/train), not enough to change the
photos the model is trained on.

index.tsv: name, part, bytes, sha256 of the stored file, sha256 of the decoded RGB pixels (equal to
the fetched photo's), how it was stored (jpeg-original, webp-lossless, original).
`--check DIR --index FILE` exits 1 unless DIR holds every photo of the index with its sha256.
"""
import argparse
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
LIMIT = 64 * 2 ** 20


def sha256_bytes(b):
    return hashlib.sha256(b).hexdigest()


def sha256_file(path):
    with open(path, "rb") as f:
        return sha256_bytes(f.read())


def rgb_pixels(data):
    """The array photos.py's load_photos gets from a file's bytes."""
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("RGB"))


def travelling_tree_bytes(root=ROOT):
    """Bytes of what every device call sends: tracked files that exist, plus untracked files that
    git does not ignore."""
    total = 0
    for args in (["ls-files", "-z"], ["ls-files", "-z", "--others", "--exclude-standard"]):
        out = subprocess.run(["git", *args], cwd=root, capture_output=True, check=True).stdout
        for name in out.decode("utf-8", "surrogateescape").split("\0"):
            path = os.path.join(root, name)
            if name and os.path.isfile(path) and not os.path.islink(path):
                total += os.path.getsize(path)
    return total


def stored_form(path):
    """(name, bytes, how, pixel sha256) for one photo."""
    name = os.path.basename(path)
    with open(path, "rb") as f:
        data = f.read()
    pixels = rgb_pixels(data)
    pix_sha = sha256_bytes(pixels.tobytes())
    with Image.open(io.BytesIO(data)) as im:
        fmt = im.format
    if fmt == "JPEG":
        return name, data, "jpeg-original", pix_sha
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "WEBP", lossless=True, quality=100, method=6)
    webp = buf.getvalue()
    if len(webp) < len(data):
        if not np.array_equal(rgb_pixels(webp), pixels):
            raise RuntimeError(f"{name}: lossless WebP does not decode to the same pixels")
        return name + ".webp", webp, "webp-lossless", pix_sha
    return name, data, "original", pix_sha


def assign(sizes, budget):
    """Part index (0-based) per item: largest first, into the part with the most room left; a new
    part when none has room. Raises if one item alone exceeds the budget."""
    parts = []  # bytes used per part
    where = {}
    for i in sorted(range(len(sizes)), key=lambda k: -sizes[k]):
        if sizes[i] > budget:
            raise SystemExit(f"a photo of {sizes[i] / 1e6:.1f} MB is larger than the part budget {budget / 1e6:.1f} MB")
        room = [(budget - used, k) for k, used in enumerate(parts) if used + sizes[i] <= budget]
        if room:
            k = max(room)[1]
        else:
            parts.append(0)
            k = len(parts) - 1
        parts[k] += sizes[i]
        where[i] = k
    return [where[i] for i in range(len(sizes))], parts


def check(folder, index):
    """Every photo of the index in folder with its sha256; returns (missing, wrong)."""
    missing, wrong = [], []
    with open(index) as f:
        header = f.readline().rstrip("\n").split("\t")
        col = {h: i for i, h in enumerate(header)}
        for line in f:
            row = line.rstrip("\n").split("\t")
            path = os.path.join(folder, row[col["name"]])
            if not os.path.exists(path):
                missing.append(row[col["name"]])
            elif sha256_file(path) != row[col["sha256"]]:
                wrong.append(row[col["name"]])
    return missing, wrong


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="data/train")
    ap.add_argument("--out", default="data/pack")
    ap.add_argument("--budget", type=float, default=None, help="MB per part (default: 64 MiB - tree - margin)")
    ap.add_argument("--margin", type=float, default=2.0, help="MB kept free for the tree's growth (default 2)")
    ap.add_argument("--dry-run", action="store_true", help="plan and print, write nothing")
    ap.add_argument("--check", metavar="DIR", help="check DIR against --index, and exit")
    ap.add_argument("--index", default="data/pack/index.tsv")
    args = ap.parse_args()

    if args.check:
        missing, wrong = check(args.check, args.index)
        with open(args.index) as f:
            n = sum(1 for _ in f) - 1
        if missing or wrong:
            print(f"{args.check}: {n - len(missing) - len(wrong)} of {n} photos; missing {len(missing)}"
                  + (f" ({', '.join(missing[:3])}{', ...' if len(missing) > 3 else ''})" if missing else "")
                  + (f"; wrong sha256 {len(wrong)}" if wrong else ""))
            sys.exit(1)
        print(f"{args.check}: all {n} photos of {args.index}, sha256 checked")
        return

    tree = travelling_tree_bytes()
    budget = args.budget * 1e6 if args.budget else LIMIT - tree - args.margin * 1e6
    print(f"working tree that travels with every call: {tree / 1e6:.1f} MB; per-call limit {LIMIT / 1e6:.1f} MB; "
          f"part budget {budget / 1e6:.1f} MB")
    if not args.budget and budget < 5e6:
        raise SystemExit("less than 5 MB per call is left for photos: make the tree smaller first")
    names = sorted(os.listdir(args.data))
    rows = []
    original = 0
    for name in names:
        path = os.path.join(args.data, name)
        original += os.path.getsize(path)
        rows.append(stored_form(path))
    sizes = [len(r[1]) for r in rows]
    where, used = assign(sizes, budget)
    stored = sum(sizes)
    kinds = {}
    for r in rows:
        kinds[r[2]] = kinds.get(r[2], 0) + 1
    print(f"{len(rows)} photos: {original / 1e6:.1f} MB as fetched, {stored / 1e6:.1f} MB stored ("
          + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())) + f"); {len(used)} parts: "
          + ", ".join(f"part{k + 1} {u / 1e6:.1f} MB" for k, u in enumerate(used)))
    if args.dry_run:
        return
    shutil.rmtree(args.out, ignore_errors=True)
    for k in range(len(used)):
        os.makedirs(os.path.join(args.out, f"part{k + 1}"))
    with open(os.path.join(args.out, "index.tsv"), "w") as f:
        f.write("name\tpart\tbytes\tsha256\tpixels_sha256\tstored\n")
        for (name, data, how, pix), k in zip(rows, where):
            with open(os.path.join(args.out, f"part{k + 1}", name), "wb") as g:
                g.write(data)
            f.write(f"{name}\tpart{k + 1}\t{len(data)}\t{sha256_bytes(data)}\t{pix}\t{how}\n")
    with open(os.path.join(args.out, "pack.json"), "w") as f:
        json.dump({"tree_bytes": tree, "budget_bytes": budget, "parts": len(used),
                   "stored_bytes": stored, "photos": len(rows)}, f, indent=2)
    print(f"wrote {args.out}/part1..part{len(used)}, index.tsv, pack.json")


if __name__ == "__main__":
    main()
