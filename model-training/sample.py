#!/usr/bin/python3
"""Unconditional samples from the trained network (EMA weights), as a PNG grid.

    /usr/bin/python3 model-training/sample.py --checkpoint model-training/checkpoint/latest.pt --size 64 --n 16 \
        --steps 50 --out docs/img/samples-64.png

DDIM on the fractional schedule of model-training/schedule.py: t runs over `--steps` values from T-1 down to
0 (evenly spaced in t, or with --spacing karras evenly in sigma^(1/7)), one network call each. At
each step the predicted x0 = (x - sqrt(1 - abar) eps) / sqrt(abar) is clipped to [-1, 1] (unless
--no-clip), eps is recomputed from the clipped x0, and

    x <- sqrt(abar') x0 + sqrt(1 - abar' - c^2) eps + c * noise,
    c = eta * sqrt((1 - abar') / (1 - abar) * (1 - abar / abar')),

so --eta 0 is deterministic DDIM and --eta 1 the ancestral (DDPM-like) sampler. The image is the x0
predicted at t = 0. Seeded; one thread by default (a trainer may be using the cores).
"""
import argparse
import os
import sys
import time

import numpy as np
import torch
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import schedule  # noqa: E402
from eval_denoiser import t_of_sigma  # noqa: E402
from export import load_ema  # noqa: E402


def timesteps(steps, spacing="linear", rho=7.0):
    """Decreasing fractional timesteps from T-1 to 0. 'linear': evenly spaced in t (DDIM's uniform
    spacing); 'karras': sigma_i^(1/rho) evenly spaced between sigma_max and sigma_min (Karras et al.
    2022), which spends more steps at low noise."""
    if spacing == "linear":
        return torch.linspace(schedule.T - 1, 0, steps, dtype=torch.float64)
    if spacing != "karras":
        raise ValueError(spacing)
    a = schedule.abar(torch.tensor([schedule.T - 1.0, 0.0], dtype=torch.float64))
    smax, smin = (((1 - a) / a) ** 0.5).tolist()
    r = torch.linspace(0, 1, steps, dtype=torch.float64)
    sig = (smax ** (1 / rho) + r * (smin ** (1 / rho) - smax ** (1 / rho))) ** rho
    ts = torch.tensor([t_of_sigma(float(s)) for s in sig], dtype=torch.float64)
    ts[0], ts[-1] = schedule.T - 1, 0.0
    return ts


@torch.no_grad()
def ddim(net, n, size, steps, eta=0.0, seed=0, clip=True, spacing="linear"):
    """n samples of size x size in [-1, 1], as a float32 tensor [n, C, size, size]."""
    g = torch.Generator().manual_seed(seed)
    ts = timesteps(steps, spacing)
    abars = schedule.abar(ts)
    x = torch.randn(n, net.config["in_ch"], size, size, generator=g)
    x0 = x
    for i in range(steps):
        a = float(abars[i])
        eps = net(x, torch.full((n,), float(ts[i]), dtype=torch.float32))
        x0 = (x - (1 - a) ** 0.5 * eps) / a ** 0.5
        if clip:
            x0 = x0.clamp(-1, 1)
            eps = (x - a ** 0.5 * x0) / (1 - a) ** 0.5
        if i == steps - 1:
            break
        an = float(abars[i + 1])
        c = eta * ((1 - an) / (1 - a) * (1 - a / an)) ** 0.5
        x = an ** 0.5 * x0 + max(1 - an - c * c, 0.0) ** 0.5 * eps
        if c > 0:
            x = x + c * torch.randn(x.shape, generator=g)
    return x0


def grid(images, cols, pad=2):
    """images: [n, C, h, w] in [-1, 1] -> an RGB uint8 grid with `pad` white pixels between tiles."""
    n, c, h, w = images.shape
    rows = (n + cols - 1) // cols
    out = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad, 3), 255, np.uint8)
    arr = ((images.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
    if c == 1:
        arr = np.repeat(arr, 3, axis=3)
    for i in range(n):
        r, q = divmod(i, cols)
        out[pad + r * (h + pad):pad + r * (h + pad) + h, pad + q * (w + pad):pad + q * (w + pad) + w] = arr[i]
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", default="model-training/checkpoint/latest.pt")
    ap.add_argument("--out", required=True, help="PNG path, e.g. docs/img/samples-64.png")
    ap.add_argument("--size", type=int, default=64, help="a multiple of the network's stride (8)")
    ap.add_argument("--n", type=int, default=16)
    ap.add_argument("--cols", type=int, default=0, help="grid columns (default: about sqrt(n))")
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--eta", type=float, default=0.0, help="0: deterministic DDIM, 1: ancestral")
    ap.add_argument("--spacing", choices=("linear", "karras"), default="karras",
                    help="timesteps evenly spaced in t, or in sigma^(1/7) (more steps at low noise)")
    ap.add_argument("--no-clip", action="store_true", help="do not clip the predicted x0 to [-1, 1]")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    net, ckpt = load_ema(args.checkpoint)
    if args.size % net.stride:
        raise SystemExit(f"--size {args.size} is not a multiple of the network's stride {net.stride}")
    t0 = time.time()
    parts = []
    for b, start in enumerate(range(0, args.n, args.batch)):
        parts.append(ddim(net, min(args.batch, args.n - start), args.size, args.steps, args.eta,
                          seed=args.seed * 1000 + b, clip=not args.no_clip, spacing=args.spacing))
    images = torch.cat(parts)
    cols = args.cols or int(np.ceil(np.sqrt(args.n)))
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    Image.fromarray(grid(images, cols)).save(args.out, optimize=True)
    print(f"wrote {args.out}: {args.n} samples of {args.size}x{args.size}, {args.steps} DDIM steps ({args.spacing}), eta "
          f"{args.eta:g}, seed {args.seed}, step {ckpt.get('step', '?')} ({ckpt.get('samples', '?')} samples "
          f"seen), {time.time() - t0:.1f} s")


if __name__ == "__main__":
    main()
