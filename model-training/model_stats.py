#!/usr/bin/python3
"""Parameters, FLOPs per pixel and receptive field of UNet configurations (model-training/unet.py).

    /usr/bin/python3 model-training/model_stats.py                     # the named configs v1 and v2
    /usr/bin/python3 model-training/model_stats.py --config '{"channels": [48, 96, 128, 128], "context": [128]}'
    /usr/bin/python3 model-training/model_stats.py --checkpoint model-training/checkpoint/latest.pt --effective

- Parameters: every weight and bias. Checkpoint bytes: what train.py stores to resume (EMA fp32,
  the online weights as a bf16 difference from the EMA, Adam's two moments in bf16: 10 bytes a
  parameter). Model-folder bytes: weights.bin (fp32) + weights.fp16.bin (fp16; the timestep MLP stays
  fp32 there), about 6 bytes a parameter.
- FLOPs per pixel: 2 x the multiply-adds of every convolution, counted by wrapping
  torch.nn.functional.conv2d while the network runs on an image (so the hand-written VJP's adjoint
  convolutions are counted too), divided by the image's pixels. Per-image work (the timestep MLP)
  and elementwise work (SiLU, additions, pooling) are left out: they are under 2% here.
- Theoretical receptive field: the side of the input square that one output pixel depends on,
  measured as the support of d eps(centre) / d x in a copy of the network with every width 2 and
  positive weights (no cancellation: every path counts; the field does not depend on the widths),
  on an input large enough that the support does not reach its border.
- --effective (needs --checkpoint): the trained network's effective receptive field, the side of the
  centred square that holds 50% / 90% / 99% of sum |d eps_c(centre) / d x|^2 over the output
  channels and the input pixels other than the centre one (whose own weight, eps being x / sqrt(1 -
  abar) minus the denoised part, would dominate; the rest is the spread of the denoiser's Jacobian),
  estimated with one random projection of the channels per photo, summed over 256x256 centre crops
  of the 12 development photos, at sigma 0.1, 0.5 and 1 (image units).
"""
import argparse
import json
import math
import os
import sys

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from unet import CONFIGS, UNet  # noqa: E402

CKPT_BYTES_PER_PARAM = 10  # train.py save_checkpoint: 4 (EMA) + 2 (online - EMA) + 2 + 2 (Adam moments)


class ConvCounter:
    """Counts the multiply-adds of every F.conv2d call while active."""

    def __enter__(self):
        self.macs = 0
        self._orig = F.conv2d

        def counting(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
            out = self._orig(input, weight, bias, stride, padding, dilation, groups)
            self.macs += out.numel() * weight.shape[1] * weight.shape[2] * weight.shape[3]
            return out

        F.conv2d = counting
        return self

    def __exit__(self, *exc):
        F.conv2d = self._orig


def flops_per_pixel(net, size=64):
    """(forward, VJP graph) FLOPs per pixel at batch 1; the VJP graph includes its forward pass."""
    size = max(size, net.stride) // net.stride * net.stride
    x = torch.zeros(1, net.config["in_ch"], size, size)
    t = torch.tensor([500.0])
    with torch.no_grad():
        with ConvCounter() as c:
            net(x, t)
        fwd = c.macs
        with ConvCounter() as c:
            net.vjp(x, t, x)
        vjp = c.macs
    return 2.0 * fwd / size ** 2, 2.0 * vjp / size ** 2


def receptive_field(config, size=256):
    """Theoretical receptive field (side in pixels) of a config, by gradient support."""
    cfg = dict(config)
    cfg["channels"] = [2] * len(cfg["channels"])
    if cfg.get("context"):
        cfg["context"] = [2] * len(cfg["context"])
    cfg["emb_dim"] = 4
    net = UNet(**cfg).double()
    with torch.no_grad():
        for name, p in net.named_parameters():
            if name.startswith("temb") or ".emb." in name or name.endswith("bias"):
                p.zero_()
            else:
                p.fill_(1.0 / max(1, p[0].numel()))  # positive, about unit gain
    while True:
        x = torch.ones(1, cfg.get("in_ch", 3), size, size, dtype=torch.float64, requires_grad=True)
        eps = net(x, torch.tensor([500.0], dtype=torch.float64))
        c = size // 2
        (g,) = torch.autograd.grad(eps[0, :, c, c].sum(), x)
        mask = g[0].abs().sum(0) > 0
        rows = mask.any(1).nonzero()
        cols = mask.any(0).nonzero()
        if rows.min() > 0 and cols.min() > 0 and rows.max() < size - 1 and cols.max() < size - 1:
            return int(max(rows.max() - rows.min() + 1, cols.max() - cols.min() + 1))
        size *= 2
        if size > 8192:
            raise RuntimeError("receptive field larger than 8192 pixels")


def effective_field(net, photos_dir, sigmas=(0.1, 0.5, 1.0), size=256, fractions=(0.5, 0.9, 0.99), max_photos=12):
    """{sigma: {fraction: side}} on centre crops of the photos in photos_dir (model space [-1, 1])."""
    import numpy as np
    from PIL import Image
    import schedule
    from eval_denoiser import t_of_sigma

    names = sorted(os.listdir(photos_dir))[:max_photos]
    out = {}
    g = torch.Generator().manual_seed(0)
    for sigma in sigmas:
        energy = torch.zeros(size, size, dtype=torch.float64)
        for name in names:
            with Image.open(os.path.join(photos_dir, name)) as im:
                im = im.convert("RGB")
                s = min(im.size)
                left, top = (im.size[0] - s) // 2, (im.size[1] - s) // 2
                im = im.crop((left, top, left + s, top + s)).resize((size, size), Image.LANCZOS)
                x0 = torch.from_numpy(np.asarray(im, dtype=np.float32) / 127.5 - 1.0).permute(2, 0, 1)[None]
            sm = 2.0 * sigma  # image-space sigma -> model space [-1, 1]
            t = t_of_sigma(sm)
            a = float(schedule.abar(torch.tensor([t])).item())
            x = (math.sqrt(a) * (x0 + sm * torch.randn(x0.shape, generator=g))).requires_grad_(True)
            eps = net(x, torch.tensor([t], dtype=torch.float32))
            c = size // 2
            # one backward pass: E_r |d <eps(centre), r> / dx|^2 = sum_c |d eps_c(centre) / dx|^2, r ~ N(0, I)
            r = torch.randn(eps.shape[1], generator=g)
            (gx,) = torch.autograd.grad((eps[0, :, c, c] * r).sum(), x)
            energy += (gx[0].double() ** 2).sum(0)
        # The centre pixel's own weight (eps is x / sqrt(1 - abar) minus the denoised part) would
        # dominate: the field is measured on the rest, which is the denoiser's Jacobian's spread.
        energy[c, c] = 0
        total = energy.sum()
        res = {}
        for frac in fractions:
            for r in range(size // 2):
                if energy[c - r:c + r + 1, c - r:c + r + 1].sum() >= frac * total:
                    res[frac] = 2 * r + 1
                    break
        out[sigma] = res
    return out


def describe(name, config, flops_size=64):
    torch.manual_seed(0)
    net = UNet(**config)
    n = sum(p.numel() for p in net.parameters())
    fwd, vjp = flops_per_pixel(net, flops_size)
    return {"name": name, "config": net.config, "parameters": n, "stride": net.stride,
            "forward_flops_per_pixel": fwd, "vjp_flops_per_pixel": vjp,
            "receptive_field": receptive_field(config),
            "checkpoint_mb": n * CKPT_BYTES_PER_PARAM / 1e6, "model_folder_mb": n * 6 / 1e6}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", action="append", default=[],
                    help="a named config (v1, v2) or a JSON object of UNet options; default: v1 and v2")
    ap.add_argument("--checkpoint", help="also describe this checkpoint's network (its config)")
    ap.add_argument("--effective", action="store_true", help="with --checkpoint: effective receptive field")
    ap.add_argument("--photos", default="data/dev")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    configs = args.config or ["v1", "v2"]
    rows = []
    for c in configs:
        rows.append(describe(c, CONFIGS[c]) if c in CONFIGS else describe("custom", json.loads(c)))
    base = next((r for r in rows if r["name"] == "v1"), None) or describe("v1", CONFIGS["v1"])
    eff = None
    if args.checkpoint:
        ckpt = torch.load(args.checkpoint, map_location="cpu", weights_only=False)
        rows.append(describe(args.checkpoint, ckpt["config"]))
        if args.effective:
            net = UNet(**ckpt["config"])
            net.load_state_dict(ckpt["ema"])
            eff = effective_field(net.eval(), args.photos)
    if args.json:
        print(json.dumps({"rows": rows, "effective": eff}, indent=2))
        return
    print(f"{'config':>10} {'params':>10} {'stride':>6} {'fwd FLOPs/px':>13} {'x v1':>5} {'VJP FLOPs/px':>13} "
          f"{'x v1':>5} {'RF (px)':>8} {'ckpt MB':>8} {'model MB':>8}")
    for r in rows:
        print(f"{r['name'][-10:]:>10} {r['parameters']:>10,} {r['stride']:>6} {r['forward_flops_per_pixel']:>13,.0f} "
              f"{r['forward_flops_per_pixel'] / base['forward_flops_per_pixel']:>5.2f} {r['vjp_flops_per_pixel']:>13,.0f} "
              f"{r['vjp_flops_per_pixel'] / base['vjp_flops_per_pixel']:>5.2f} {r['receptive_field']:>8} "
              f"{r['checkpoint_mb']:>8.1f} {r['model_folder_mb']:>8.1f}")
        print(f"{'':>10} config {json.dumps(r['config'])}")
    if eff:
        for sigma, res in eff.items():
            print(f"effective receptive field at sigma {sigma}: " +
                  ", ".join(f"{int(f * 100)}% of the gradient energy within {s}x{s}" for f, s in res.items()))


if __name__ == "__main__":
    main()
