#!/usr/bin/python3
"""Classical baselines for the benchmark, with scikit-image, on the measurements the benchmark's
workers dumped (bench/worker.ts, variant `estimate`): every method's parameter is tuned per
image on the ground truth (an oracle that favours the baselines).

  /usr/bin/python3 bench/classical.py --dump DIR --out classical.json

DIR/tasks.json describes each task (spec, kernel); DIR/<task>/<image>/ holds clean.npy (3, H, W),
y.npy (the measurement, flat), mask.npy (H, W; 1 = restored) for inpainting and kernel.npy for
deblurring. Writes a list of {task, imageIndex, method, psnr, maskedPsnr?, parameter?}.
"""
import argparse
import json
import os

import numpy as np
from skimage import restoration, transform


def psnr(x, clean, where=None):
    d = np.clip(x, 0, 1) - clean
    if where is not None:
        d = d[:, where]
    mse = float(np.mean(d * d))
    return 10 * np.log10(1 / mse) if mse > 0 else float("inf")


def hwc(x):
    return np.moveaxis(x, 0, -1)


def chw(x):
    return np.moveaxis(x, -1, 0)


def inpaint(clean, y, mask):
    img = hwc(y.reshape(clean.shape))
    out = chw(restoration.inpaint_biharmonic(img, mask.astype(bool), channel_axis=-1))
    return [("biharmonic inpainting", out, None)]


def deblur(clean, y, kernel):
    """Wiener-Hunt deconvolution (Laplacian regulariser), the image padded by reflection so that its
    circular convolution sees the engine's symmetric boundary; the balance is the oracle's choice."""
    img = y.reshape(clean.shape)
    pad = max(kernel.shape) * 2
    padded = np.pad(img, ((0, 0), (pad, pad), (pad, pad)), mode="symmetric")
    best = None
    for balance in np.logspace(-4, 0, 17):
        out = np.stack([restoration.wiener(c, kernel, balance, clip=False) for c in padded])[:, pad:-pad, pad:-pad]
        p = psnr(out, clean)
        if best is None or p > best[0]:
            best = (p, out, float(balance))
    return [("Wiener filter (best balance)", best[1], best[2])]


def best_nl_means(clean, img, sigma):
    """Non-local means of an HWC image with the h (in units of sigma) the truth likes best: (psnr, CHW output, h)."""
    best = None
    for k in [0.4, 0.55, 0.7, 0.85, 1.0, 1.2]:
        out = chw(restoration.denoise_nl_means(img, h=k * sigma, sigma=sigma, patch_size=5, patch_distance=6, channel_axis=-1, fast_mode=True))
        p = psnr(out, clean)
        if best is None or p > best[0]:
            best = (p, out, k)
    return best


def denoise(clean, y, sigma):
    img = hwc(y.reshape(clean.shape))
    rows = []
    _, out, k = best_nl_means(clean, img, sigma)
    rows.append(("non-local means (best h)", out, k))
    best = None
    for w in [0.02, 0.04, 0.06, 0.08, 0.12, 0.16]:
        out = chw(restoration.denoise_tv_chambolle(img, weight=w, channel_axis=-1))
        p = psnr(out, clean)
        if best is None or p > best[0]:
            best = (p, out, w)
    rows.append(("total variation (best weight)", best[1], best[2]))
    return rows


def old_photo(clean, y, mask, sigma, kernel):
    """The classical pipeline an old photo gets when it is told the true mask and noise level:
    biharmonic inpainting of the damage, then non-local means with the best h; and the same followed
    by the best Wiener deconvolution of the known blur (a stronger pipeline than the issue asks)."""
    img = hwc(y.reshape(clean.shape))
    filled = restoration.inpaint_biharmonic(img, mask.astype(bool), channel_axis=-1) if mask is not None and mask.any() else img
    best = best_nl_means(clean, filled, sigma)
    rows = [("biharmonic, then non-local means (best h)", best[1], best[2])]
    if kernel is not None:
        (_, sharp_, balance), = deblur(clean, best[1].reshape(-1), kernel)
        rows.append(("biharmonic, non-local means, then Wiener (best h, balance)", sharp_, balance))
    return rows


def super_resolve(clean, y, scale):
    """Bicubic interpolation (scikit-image), then back-projection onto the box measurement: add each
    block's missing mean, so that the box average of the result is y exactly."""
    c, h, w = clean.shape
    low = y.reshape(c, h // scale, w // scale)
    up = np.stack([transform.resize(ch, (h, w), order=3, mode="symmetric", anti_aliasing=False) for ch in low])
    down = up.reshape(c, h // scale, scale, w // scale, scale).mean(axis=(2, 4))
    out = up + np.repeat(np.repeat(low - down, scale, axis=1), scale, axis=2)
    return [("back-projected bicubic (scikit-image)", out, None)]


def colorize(clean, y):
    return [("the grey image", np.repeat(y.reshape(1, *clean.shape[1:]), 3, axis=0), None)]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dump", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--save-outputs", action="store_true", help="also write each method's result as out-<k>.npy beside the measurement")
    a = ap.parse_args()
    tasks = json.load(open(os.path.join(a.dump, "tasks.json")))
    rows = []
    for task, info in sorted(tasks.items()):
        folder = os.path.join(a.dump, task)
        if not os.path.isdir(folder):
            continue
        spec = info["spec"]
        for name in sorted(os.listdir(folder), key=int):
            d = os.path.join(folder, name)
            clean = np.load(os.path.join(d, "clean.npy"))
            y = np.load(os.path.join(d, "y.npy"))
            mask = np.load(os.path.join(d, "mask.npy")) if os.path.exists(os.path.join(d, "mask.npy")) else None
            kind = spec["task"]
            if kind == "inpaint":
                results = inpaint(clean, y, mask)
            elif kind == "deblur":
                results = deblur(clean, y, np.load(os.path.join(d, "kernel.npy")))
            elif kind == "denoise":
                results = denoise(clean, y, spec["sigmaY"])
            elif kind == "sr" and spec.get("srKernel") == "box":
                results = super_resolve(clean, y, spec["scale"])
            elif kind == "colorize":
                results = colorize(clean, y)
            elif kind == "old-photo" and not spec.get("colorize"):
                kernel_path = os.path.join(d, "kernel.npy")
                kernel = np.load(kernel_path) if os.path.exists(kernel_path) else None
                results = old_photo(clean, y, mask, spec["sigmaY"], kernel)
            else:
                results = []
            for k, (method, out, parameter) in enumerate(results):
                if a.save_outputs:
                    np.save(os.path.join(d, f"out-{k}.npy"), np.ascontiguousarray(np.clip(out, 0, 1), dtype=np.float64))
                row = {"task": task, "imageIndex": int(name), "method": method, "psnr": psnr(out, clean), "parameter": parameter}
                if mask is not None:
                    row["maskedPsnr"] = psnr(out, clean, mask.astype(bool))
                rows.append(row)
    with open(a.out, "w") as f:
        json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
