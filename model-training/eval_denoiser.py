#!/usr/bin/python3
"""The trained network as a one-call denoiser, against classical denoisers, on the development photos.

    /usr/bin/python3 model-training/eval_denoiser.py --checkpoint model-training/checkpoint/latest.pt --out docs/denoiser.md

For white Gaussian noise of standard deviation sigma in [0, 1] image units, the network's denoiser is
Tweedie's posterior mean in one evaluation: in model space [-1, 1] the noise level is s = 2 sigma,
t solves (1 - abar(t)) / abar(t) = s^2 (bisection on the fractional schedule of model-training/schedule.py),
and with zm = 2 y - 1:

    D_m = zm - s * eps(sqrt(abar) zm, t),    D = (D_m + 1) / 2, clipped to [0, 1].

Images: the development photos in data/dev (model-training/fetch_data.py with dev-files.tsv), centre crops of
at most --crop x --crop pixels, padded by reflection to a multiple of the network's stride. Noise is
seeded per photo and level. Baselines from scikit-image: denoise_tv_chambolle with the best weight
of a small grid per level, CHOSEN ON THE SAME PHOTOS (an oracle choice that favours TV), and
denoise_wavelet (BayesShrink, soft, rescale_sigma=True, the true sigma given). PSNR of the clipped
results, data range 1. The network runs in PyTorch (fp32, EMA weights, one thread by default: a
trainer may be using the cores).
"""
import argparse
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from skimage.metrics import peak_signal_noise_ratio
from skimage.restoration import denoise_tv_chambolle, denoise_wavelet

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import schedule  # noqa: E402
from export import load_ema  # noqa: E402

TV_FACTORS = (0.3, 0.45, 0.6, 0.8, 1.0, 1.3, 1.7, 2.2, 3.0)  # TV weight grid, as multiples of sigma


def t_of_sigma(s):
    """The fractional t with (1 - abar(t)) / abar(t) = s^2 (model-space sigma), by bisection."""
    def sig(t):
        a = float(schedule.abar(torch.tensor([t], dtype=torch.float64)))
        return np.sqrt((1 - a) / a)
    lo, hi = 0.0, float(schedule.T - 1)
    if s <= sig(lo):
        return lo
    if s >= sig(hi):
        return hi
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if sig(mid) < s:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def load_crops(folder, crop, limit=0):
    names = sorted(os.listdir(folder))
    if limit:
        names = names[:limit]
    out = []
    for name in names:
        with Image.open(os.path.join(folder, name)) as im:
            a = np.asarray(im.convert("RGB"), dtype=np.float64) / 255.0
        h, w, _ = a.shape
        ch, cw = min(crop, h), min(crop, w)
        y, x = (h - ch) // 2, (w - cw) // 2
        out.append((name, a[y:y + ch, x:x + cw]))
    return out


@torch.no_grad()
def net_denoise(net, y, sigma):
    """y: HxWx3 in [0, 1] (noisy), sigma in image units. Returns D(y, sigma) in [0, 1]."""
    s = 2.0 * sigma
    t = t_of_sigma(s)
    a = float(schedule.abar(torch.tensor([t], dtype=torch.float64)))
    zm = torch.from_numpy(2.0 * y - 1.0).permute(2, 0, 1)[None].float()
    h, w = zm.shape[2:]
    st = net.stride
    ph, pw = (-h) % st, (-w) % st
    if ph or pw:
        zm = F.pad(zm, (0, pw, 0, ph), mode="reflect")
    eps = net(np.sqrt(a) * zm, torch.tensor([t], dtype=torch.float32))
    dm = (zm - s * eps)[:, :, :h, :w]
    return np.clip((dm[0].permute(1, 2, 0).double().numpy() + 1.0) / 2.0, 0.0, 1.0)


def psnr(ref, x):
    return peak_signal_noise_ratio(ref, np.clip(x, 0, 1), data_range=1.0)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", default="model-training/checkpoint/latest.pt")
    ap.add_argument("--data", default="data/dev")
    ap.add_argument("--sigmas", default="0.05,0.1,0.2", help="noise levels in [0, 1] image units")
    ap.add_argument("--crop", type=int, default=256, help="centre crop of at most this many pixels a side")
    ap.add_argument("--limit", type=int, default=0, help="use only the first N photos (0 = all)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--per-image", action="store_true", help="also print a per-photo table")
    ap.add_argument("--out", help="also write the markdown to this file")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    net, ckpt = load_ema(args.checkpoint)
    sigmas = [float(s) for s in args.sigmas.split(",")]
    photos = load_crops(args.data, args.crop, args.limit)
    if not photos:
        raise SystemExit(f"no photos in {args.data}: run model-training/fetch_data.py --list datasets/dev-files.tsv --out data/dev")

    res = {}  # (sigma, method) -> list of PSNR per photo
    tv_all = {}  # sigma -> {factor: [psnr per photo]}
    t_net = 0.0
    for i, (name, x) in enumerate(photos):
        for j, sigma in enumerate(sigmas):
            rng = np.random.default_rng([args.seed, i, j])
            y = x + sigma * rng.standard_normal(x.shape)
            res.setdefault((sigma, "noisy"), []).append(psnr(x, y))
            t0 = time.time()
            res.setdefault((sigma, "net"), []).append(psnr(x, net_denoise(net, y, sigma)))
            t_net += time.time() - t0
            wav = denoise_wavelet(y, sigma=sigma, method="BayesShrink", mode="soft", rescale_sigma=True,
                                  channel_axis=-1)
            res.setdefault((sigma, "wavelet"), []).append(psnr(x, wav))
            for k in TV_FACTORS:
                tv = denoise_tv_chambolle(y, weight=k * sigma, channel_axis=-1)
                tv_all.setdefault(sigma, {}).setdefault(k, []).append(psnr(x, tv))
        print(f"  {i + 1}/{len(photos)} {name} {x.shape[1]}x{x.shape[0]}", file=sys.stderr, flush=True)
    best_k = {}
    for sigma in sigmas:
        best_k[sigma] = max(TV_FACTORS, key=lambda k: np.mean(tv_all[sigma][k]))
        res[(sigma, "tv")] = tv_all[sigma][best_k[sigma]]

    sizes = sorted({f"{x.shape[1]}x{x.shape[0]}" for _, x in photos})
    lines = [
        f"Mean PSNR (dB) over {len(photos)} development photos (data/dev, centre crops of at most "
        f"{args.crop}x{args.crop}: {', '.join(sizes)}), white Gaussian noise of standard deviation sigma "
        f"in [0, 1] units, seed {args.seed}. Network: EMA weights of `{args.checkpoint}` (step "
        f"{ckpt.get('step', '?')}, {ckpt.get('samples', '?')} samples seen), one evaluation (Tweedie). "
        f"TV: denoise_tv_chambolle, weight = factor x sigma with the factor chosen from "
        f"{list(TV_FACTORS)} on these same photos (oracle). Wavelet: denoise_wavelet BayesShrink, "
        f"rescale_sigma=True, true sigma.",
        "",
        "| sigma | noisy | TV (oracle weight) | wavelet (BayesShrink) | network (1 call) |",
        "|---|---|---|---|---|",
    ]
    for sigma in sigmas:
        m = {k: np.mean(res[(sigma, k)]) for k in ("noisy", "tv", "wavelet", "net")}
        lines.append(f"| {sigma:g} | {m['noisy']:.2f} | {m['tv']:.2f} (weight {best_k[sigma] * sigma:.3g}) | "
                     f"{m['wavelet']:.2f} | {m['net']:.2f} |")
    if args.per_image:
        lines += ["", "| photo | sigma | noisy | TV | wavelet | network |", "|---|---|---|---|---|---|"]
        for i, (name, _) in enumerate(photos):
            short = name.split("__")[-1]
            for sigma in sigmas:
                lines.append(f"| {short} | {sigma:g} | " + " | ".join(
                    f"{res[(sigma, k)][i]:.2f}" for k in ("noisy", "tv", "wavelet", "net")) + " |")
    lines += ["", f"Network time: {t_net / (len(photos) * len(sigmas)):.2f} s per image "
                  f"({args.threads} thread{'s' if args.threads > 1 else ''}, PyTorch fp32)."]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
