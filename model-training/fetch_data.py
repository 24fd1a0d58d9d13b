#!/usr/bin/python3
"""Fetch the photos listed in a file list (train-files.tsv or dev-files.tsv) from their Debian
packages and check every sha256.

The photos are never committed: this script is the only way they enter the project. Packages are
downloaded with `apt-get download` (no root needed for that, but `apt-get update` must have run)
and unpacked with `dpkg-deb -x` into a cache; only the listed files are copied out.

Usage: /usr/bin/python3 model-training/fetch_data.py --list datasets/train-files.tsv --out data/train
"""
import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_list(path):
    rows = []
    with open(path) as f:
        header = f.readline().rstrip("\n").split("\t")
        if header[:2] != ["package", "path"]:
            sys.exit(f"{path}: expected a header 'package<TAB>path<TAB>size<TAB>sha256'")
        for line in f:
            if line.strip():
                pkg, p, size, digest = line.rstrip("\n").split("\t")
                rows.append((pkg, p, size, digest))
    return rows


def local_name(pkg, path):
    # Flatten package + path into one unique file name, keeping the extension.
    return f"{pkg}__{path.strip('/').replace('/', '__')}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--list", required=True, help="TSV: package, path, size, sha256")
    ap.add_argument("--out", required=True, help="folder for the checked photos")
    ap.add_argument("--cache", default=os.path.join(".cache", "debs"), help="where .deb files are kept")
    args = ap.parse_args()

    rows = read_list(args.list)
    os.makedirs(args.out, exist_ok=True)
    os.makedirs(args.cache, exist_ok=True)

    missing = [r for r in rows if not (os.path.exists(os.path.join(args.out, local_name(r[0], r[1])))
                                       and sha256(os.path.join(args.out, local_name(r[0], r[1]))) == r[3])]
    packages = sorted({r[0] for r in missing})
    for pkg in packages:
        debs = [f for f in os.listdir(args.cache) if f.startswith(pkg + "_") and f.endswith(".deb")]
        if not debs:
            print(f"downloading {pkg}", flush=True)
            subprocess.run(["apt-get", "download", "-q", pkg], cwd=args.cache, check=True)
            debs = [f for f in os.listdir(args.cache) if f.startswith(pkg + "_") and f.endswith(".deb")]
        if len(debs) != 1:
            sys.exit(f"expected one .deb for {pkg} in {args.cache}, found {debs}")
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run(["dpkg-deb", "-x", os.path.join(args.cache, debs[0]), tmp], check=True)
            for p_pkg, path, _size, digest in missing:
                if p_pkg != pkg:
                    continue
                src = os.path.join(tmp, path.lstrip("/"))
                if not os.path.exists(src):
                    sys.exit(f"{pkg}: {path} is not in {debs[0]}")
                got = sha256(src)
                if got != digest:
                    sys.exit(f"{pkg}: {path}: sha256 {got} does not match the list's {digest}")
                dst = os.path.join(args.out, local_name(pkg, path))
                shutil.copyfile(src, dst + ".part")
                os.replace(dst + ".part", dst)
    print(f"{len(rows)} photos checked in {args.out} ({len(missing)} fetched now)")


if __name__ == "__main__":
    main()
