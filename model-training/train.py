#!/usr/bin/python3
"""Train the default model (epsilon prediction, VP linear schedule), resumably.

    /usr/bin/python3 model-training/train.py --data data/train --checkpoint model-training/checkpoint/latest.pt \
        --samples 1000000

Resumes from --checkpoint when it exists. Saves it (one file, replaced atomically) every
--save-minutes and on SIGINT/SIGTERM, then exits cleanly. Logs the loss per noise-level band and a
fixed-seed validation loss of the EMA weights (in fp32) to stdout.
"""
import argparse
import math
import os
import signal
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from photos import CropSampler, load_photos  # noqa: E402
from schedule import T, abar  # noqa: E402
from unet import UNet  # noqa: E402

BANDS = [(0, 100), (100, 300), (300, 600), (600, 1000)]


def noisy(x0, t, eps):
    a = abar(t).float()[:, None, None, None]
    return a.sqrt() * x0 + (1 - a).sqrt() * eps


def save_checkpoint(path, net, ema, opt, state):
    """Adam's moments are stored in bf16 to keep the file small; weights and EMA in fp32."""
    opt_state = opt.state_dict()
    # state_dict() shares the per-parameter dicts with the live optimiser: build new ones, or the
    # running Adam would continue with bf16 moments (and PyTorch 1.13 asserts in addcmul_).
    opt_state["state"] = {i: {k: (v.to(torch.bfloat16) if k in ("exp_avg", "exp_avg_sq") else v)
                              for k, v in s.items()} for i, s in opt_state["state"].items()}
    ckpt = dict(state, model=net.state_dict(), ema=ema.state_dict(), opt=opt_state, config=net.config)
    ckpt = to_cpu(ckpt)  # a checkpoint written on a GPU loads on a machine without one
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    torch.save(ckpt, path + ".part")
    os.replace(path + ".part", path)


def to_cpu(obj):
    if torch.is_tensor(obj):
        return obj.cpu()
    if isinstance(obj, dict):
        return {k: to_cpu(v) for k, v in obj.items()}
    return obj


def load_checkpoint(path, net, ema, opt):
    # weights_only=False: newer PyTorch defaults to True, which refuses the optimiser's plain-Python
    # fields in some versions; these checkpoints are our own files.
    ckpt = torch.load(path, map_location="cpu", weights_only=False)
    if ckpt["config"] != net.config:
        raise SystemExit(f"{path}: model config {ckpt['config']} differs from {net.config}")
    net.load_state_dict(ckpt["model"])
    ema.load_state_dict(ckpt["ema"])
    for s in ckpt["opt"]["state"].values():
        for k in ("exp_avg", "exp_avg_sq"):
            s[k] = s[k].float()
    opt.load_state_dict(ckpt["opt"])
    return {k: ckpt[k] for k in ("step", "samples", "seed") if k in ckpt}


class CropStream(torch.utils.data.IterableDataset):
    """Batches of crops from worker processes, each with its own seed: on a GPU one Python thread
    cropping photos cannot keep up with the network."""

    def __init__(self, photos, size, batch, seed):
        self.photos, self.size, self.batch, self.seed = photos, size, batch, seed

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        if info is not None:
            torch.set_num_threads(1)  # many workers share the cores; the training loop keeps its threads
        sampler = CropSampler(self.photos, self.size, seed=self.seed + 7919 * (info.id if info else 0))
        while True:
            yield sampler.batch(self.batch)


def crop_batches(photos, args, seed):
    stream = CropStream(photos, args.size, args.batch, seed)
    if args.workers == 0:
        return iter(stream)
    return iter(torch.utils.data.DataLoader(stream, batch_size=None, num_workers=args.workers, prefetch_factor=8,
                                            pin_memory=True))


@torch.no_grad()
def validation_loss(net, val):
    x0, t, eps = val
    losses = []
    for i in range(0, len(x0), 64):
        pred = net(noisy(x0[i:i + 64], t[i:i + 64], eps[i:i + 64]), t[i:i + 64])
        losses.append(((pred - eps[i:i + 64]) ** 2).mean(dim=(1, 2, 3)))
    per = torch.cat(losses)
    return per.mean().item(), [per[(t >= lo) & (t < hi)].mean().item() for lo, hi in BANDS]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="data/train")
    ap.add_argument("--checkpoint", default="model-training/checkpoint/latest.pt")
    ap.add_argument("--samples", type=int, default=1_000_000, help="stop once this many samples are seen in total")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=2e-4)
    ap.add_argument("--bf16", action="store_true", help="bf16 autocast (measured: docs/MODEL.md)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--save-minutes", type=float, default=10)
    ap.add_argument("--log-every", type=int, default=100)
    ap.add_argument("--val-every", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-minutes", type=float, default=0, help="stop (and save) after this long; 0 = no limit")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--workers", type=int, default=0, help="crop-sampling processes (0: in the training loop)")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    dev = torch.device(args.device)
    net = UNet().to(dev)
    ema = UNet().to(dev)
    ema.load_state_dict(net.state_dict())
    ema.requires_grad_(False)
    opt = torch.optim.Adam(net.parameters(), lr=args.lr)
    state = dict(step=0, samples=0, seed=args.seed)
    if os.path.exists(args.checkpoint):
        state.update(load_checkpoint(args.checkpoint, net, ema, opt))
        print(f"resumed from {args.checkpoint}: step {state['step']}, {state['samples']} samples", flush=True)
    print(f"parameters: {sum(p.numel() for p in net.parameters())}", flush=True)

    photos = load_photos(args.data)
    # A different crop stream per resume, so a resumed run does not replay the crops it has seen.
    batches = crop_batches(photos, args, seed=args.seed * 1_000_003 + state["step"])
    vg = torch.Generator().manual_seed(1234)
    val_sampler = CropSampler(photos, args.size, seed=1234)
    val_x0 = val_sampler.batch(256)
    val = (val_x0.to(dev), (torch.arange(256) * (T / 256.0)).to(dev), torch.randn(val_x0.shape, generator=vg).to(dev))

    stop = {"now": False}

    def on_signal(signum, _frame):
        print(f"signal {signum}: saving and stopping after this step", flush=True)
        stop["now"] = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    t_start = time.time()
    last_save = time.time()
    # Kept on the device and read only when logging: a read per step would stall a GPU every step.
    band_sum = torch.zeros(len(BANDS), device=dev)
    band_n = torch.zeros(len(BANDS), device=dev)
    n_since = 0
    t_log = time.time()
    while state["samples"] < args.samples and not stop["now"]:
        x0 = next(batches).to(dev, non_blocking=True)
        t = torch.rand(args.batch, device=dev) * (T - 1)
        eps = torch.randn_like(x0)
        xt = noisy(x0, t, eps)
        # Linear warm-up, then cosine decay to 10% over the 1M-sample budget.
        progress = min(state["samples"] / 1_000_000, 1.0)
        lr = args.lr * min(1.0, (state["step"] + 1) / 500) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))
        for g in opt.param_groups:
            g["lr"] = lr
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=args.bf16):
            pred = net(xt, t)
        per = ((pred.float() - eps) ** 2).mean(dim=(1, 2, 3))
        loss = per.mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        state["step"] += 1
        state["samples"] += args.batch
        decay = min(0.9995, (1 + state["step"]) / (10 + state["step"]))
        with torch.no_grad():
            ema_p, net_p = list(ema.parameters()), [p.detach() for p in net.parameters()]
            torch._foreach_mul_(ema_p, decay)
            torch._foreach_add_(ema_p, net_p, alpha=1 - decay)
            for b, (lo, hi) in enumerate(BANDS):
                m = ((t >= lo) & (t < hi)).float()
                band_sum[b] += (per.detach() * m).sum()
                band_n[b] += m.sum()
        n_since += args.batch
        if state["step"] % args.log_every == 0:
            bands = " ".join(f"t{lo}-{hi}:{(band_sum[b] / band_n[b].clamp(min=1)).item():.4f}" for b, (lo, hi) in enumerate(BANDS))
            rate = n_since / (time.time() - t_log)
            print(f"step {state['step']} samples {state['samples']} lr {lr:.2e} loss {bands} ({rate:.1f} samples/s)", flush=True)
            band_sum.zero_()
            band_n.zero_()
            n_since = 0
            t_log = time.time()
        if state["step"] % args.val_every == 0:
            v, vb = validation_loss(ema, val)
            print(f"val step {state['step']} samples {state['samples']} ema-loss {v:.5f} bands "
                  + " ".join(f"{x:.4f}" for x in vb), flush=True)
        if time.time() - last_save > args.save_minutes * 60:
            save_checkpoint(args.checkpoint, net, ema, opt, state)
            last_save = time.time()
        if args.max_minutes and time.time() - t_start > args.max_minutes * 60:
            break
    save_checkpoint(args.checkpoint, net, ema, opt, state)
    v, vb = validation_loss(ema, val)
    print(f"saved {args.checkpoint}: step {state['step']}, {state['samples']} samples, val ema-loss {v:.5f}", flush=True)


if __name__ == "__main__":
    main()
