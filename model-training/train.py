#!/usr/bin/python3
"""Train the default model (epsilon prediction, VP linear schedule), resumably.

    /usr/bin/python3 model-training/train.py --data data/train --checkpoint model-training/checkpoint/latest.pt \
        --samples 1000000

Resumes from --checkpoint when it exists (its config wins). Saves it (one file, replaced atomically)
every --save-minutes and on SIGINT/SIGTERM, then exits cleanly. Logs the loss per noise-level band and
a fixed-seed validation loss of the EMA weights (in fp32) to stdout.

The next model (issue 12; docs/MODEL.md "Next model"): `--config v2` (model-training/unet.py CONFIGS),
started from the trained v1 network with `--init-from` (unet.grow: the same function at step 0),
on 128x128 crops and then 256x256 (`--stages 128x64@0,256x16@200000`: crop size x batch from that
many samples on), with the cosine decay over `--lr-samples`:

    /usr/bin/python3 model-training/train.py --config v2 --init-from model-training/checkpoint/latest.pt \
        --checkpoint model-training/runs/v2.pt --stages 128x64@0,256x16@200000 --lr-samples 250000 --samples 250000

The checkpoint holds what resuming needs and no more: the EMA weights in fp32, the online weights as
their bf16 difference from the EMA (rounded to 8 significant bits: on the v1 checkpoint at most
2.8e-5 and on average 5e-7 off, where one Adam step moves a weight by about the learning rate,
2e-5 at its floor), Adam's moments in bf16, the counters and the commands that made it: about 10 bytes a
parameter (v2: 30 MB). Checkpoints written before (the online weights in fp32) load too.
"""
import argparse
import json
import math
import os
import re
import shlex
import signal
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from photos import CropSampler, load_photos  # noqa: E402
from schedule import T, abar  # noqa: E402
from unet import CONFIGS, UNet, grow  # noqa: E402

BANDS = [(0, 100), (100, 300), (300, 600), (600, 1000)]


def noisy(x0, t, eps):
    a = abar(t).float()[:, None, None, None]
    return a.sqrt() * x0 + (1 - a).sqrt() * eps


def save_checkpoint(path, net, ema, opt, state):
    """Writes the checkpoint (format 2): EMA fp32, the online weights as a bf16 difference from the
    EMA, Adam's moments in bf16, `state` (step, samples, seed, commands, ...). Atomic."""
    opt_state = opt.state_dict()
    # state_dict() shares the per-parameter dicts with the live optimiser: build new ones, or the
    # running Adam would continue with bf16 moments (and PyTorch 1.13 asserts in addcmul_).
    opt_state["state"] = {i: {k: (v.contiguous().to(torch.bfloat16) if k in ("exp_avg", "exp_avg_sq") else v)
                              for k, v in s.items()} for i, s in opt_state["state"].items()}
    ema_sd = {k: v.detach().float().contiguous() for k, v in ema.state_dict().items()}
    delta = {k: (v.detach().float() - ema_sd[k]).contiguous().to(torch.bfloat16) for k, v in net.state_dict().items()}
    ckpt = dict(state, format=2, ema=ema_sd, model_delta=delta, opt=opt_state, config=net.config)
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


def online_weights(ckpt):
    """The online (trained, not averaged) weights of a checkpoint of either format."""
    if "model_delta" in ckpt:
        return {k: ckpt["ema"][k].float() + d.float() for k, d in ckpt["model_delta"].items()}
    return ckpt["model"]


STATE_KEYS = ("step", "samples", "seed", "commands", "init_from")


def load_checkpoint(path, net, ema, opt):
    # weights_only=False: newer PyTorch defaults to True, which refuses the optimiser's plain-Python
    # fields in some versions; these checkpoints are our own files.
    ckpt = torch.load(path, map_location="cpu", weights_only=False)
    if ckpt["config"] != net.config:
        raise SystemExit(f"{path}: model config {ckpt['config']} differs from {net.config}")
    net.load_state_dict(online_weights(ckpt))
    ema.load_state_dict(ckpt["ema"])
    for s in ckpt["opt"]["state"].values():
        for k in ("exp_avg", "exp_avg_sq"):
            s[k] = s[k].float()
    opt.load_state_dict(ckpt["opt"])
    return {k: ckpt[k] for k in STATE_KEYS if k in ckpt}


def resolve_config(spec):
    """A named config of unet.CONFIGS or a JSON object of UNet options -> UNet kwargs."""
    if spec in CONFIGS:
        return dict(CONFIGS[spec])
    try:
        cfg = json.loads(spec)
    except ValueError:
        raise SystemExit(f"--config {spec!r}: not one of {sorted(CONFIGS)} nor a JSON object")
    if not isinstance(cfg, dict):
        raise SystemExit(f"--config {spec!r}: not a JSON object")
    return cfg


def warm_start(path, net):
    """Loads the EMA weights of the checkpoint at `path` (any config unet.grow can grow into net's)
    into `net`. Returns provenance for the new checkpoint."""
    ckpt = torch.load(path, map_location="cpu", weights_only=False)
    old = UNet(**ckpt["config"])
    old.load_state_dict(ckpt["ema"])
    grow(old, net)
    return {"checkpoint": path, "config": ckpt["config"], "step": int(ckpt.get("step", 0)),
            "samples": int(ckpt.get("samples", 0)), "weights": "EMA"}


def parse_stages(spec, size, batch):
    """'128x64@0,256x16@200000' -> [(from_samples, crop size, batch)], sorted; without a spec, one
    stage of --size x --batch. The first stage must start at 0."""
    if not spec:
        return [(0, size, batch)]
    stages = []
    for part in spec.split(","):
        m = re.fullmatch(r"\s*(\d+)x(\d+)@(\d+)\s*", part)
        if not m:
            raise SystemExit(f"--stages: {part!r} is not SIZExBATCH@SAMPLES")
        stages.append((int(m.group(3)), int(m.group(1)), int(m.group(2))))
    stages.sort()
    if stages[0][0] != 0:
        raise SystemExit("--stages: the first stage must start at 0 samples")
    return stages


def stage_at(stages, samples):
    """(crop size, batch) of the stage that `samples` falls in."""
    current = stages[0]
    for st in stages:
        if samples >= st[0]:
            current = st
    return current[1], current[2]


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


def crop_batches(photos, size, batch, workers, seed):
    stream = CropStream(photos, size, batch, seed)
    if workers == 0:
        return iter(stream)
    return iter(torch.utils.data.DataLoader(stream, batch_size=None, num_workers=workers, prefetch_factor=8,
                                            pin_memory=torch.cuda.is_available()))


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
    ap.add_argument("--config", default=None,
                    help=f"network for a new checkpoint: one of {sorted(CONFIGS)} or a JSON object of UNet "
                         "options (default v1); a resumed checkpoint keeps its own")
    ap.add_argument("--init-from", default=None,
                    help="a new checkpoint starts from this checkpoint's EMA weights, grown into --config (unet.grow)")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--size", "--crop", dest="size", type=int, default=64, help="crop size (one stage)")
    ap.add_argument("--stages", default=None,
                    help="crop size and batch by samples seen, e.g. 128x64@0,256x16@200000 (overrides --size, --batch)")
    ap.add_argument("--lr", type=float, default=2e-4)
    ap.add_argument("--lr-samples", type=int, default=1_000_000,
                    help="the cosine decay reaches its floor (10%% of --lr) at this many samples")
    ap.add_argument("--warmup", type=int, default=500, help="linear learning-rate warm-up, in steps")
    ap.add_argument("--ema-decay", type=float, default=0.9995)
    ap.add_argument("--bf16", action="store_true", help="bf16 autocast (measured: docs/MODEL.md)")
    ap.add_argument("--channels-last", action="store_true", help="channels-last memory format (for GPUs)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--save-minutes", type=float, default=10)
    ap.add_argument("--log-every", type=int, default=100)
    ap.add_argument("--val-every", type=int, default=1000)
    ap.add_argument("--val-n", type=int, default=256, help="validation crops (fixed seed)")
    ap.add_argument("--val-size", type=int, default=None, help="validation crop size (default: the first stage's)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-minutes", type=float, default=0, help="stop (and save) after this long; 0 = no limit")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--workers", type=int, default=0, help="crop-sampling processes (0: in the training loop)")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    dev = torch.device(args.device)
    if dev.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed crop sizes: let cuDNN pick its fastest kernels
    stages = parse_stages(args.stages, args.size, args.batch)
    resuming = os.path.exists(args.checkpoint)
    if resuming:
        ckpt_config = torch.load(args.checkpoint, map_location="cpu", weights_only=False)["config"]
        if args.config is not None and UNet(**resolve_config(args.config)).config != ckpt_config:
            raise SystemExit(f"{args.checkpoint} holds config {ckpt_config}, not --config {args.config}")
        config = ckpt_config
    else:
        config = resolve_config(args.config or "v1")
    net = UNet(**config)
    state = dict(step=0, samples=0, seed=args.seed, commands=[])
    if not resuming and args.init_from:
        state["init_from"] = warm_start(args.init_from, net)
        print(f"initialised from {args.init_from} (step {state['init_from']['step']}, "
              f"{state['init_from']['samples']} samples), grown into {net.config}", flush=True)
    ema = UNet(**config)
    ema.load_state_dict(net.state_dict())
    fmt = torch.channels_last if args.channels_last else torch.contiguous_format
    net, ema = net.to(dev, memory_format=fmt), ema.to(dev, memory_format=fmt)
    ema.requires_grad_(False)
    opt = torch.optim.Adam(net.parameters(), lr=args.lr)
    if resuming:
        state.update(load_checkpoint(args.checkpoint, net, ema, opt))
        for st in opt.state.values():  # the moments in the parameters' memory format
            for k, v in st.items():
                if torch.is_tensor(v) and v.dim() == 4:
                    st[k] = v.contiguous(memory_format=fmt)
        print(f"resumed from {args.checkpoint}: step {state['step']}, {state['samples']} samples", flush=True)
    state["commands"] = list(state.get("commands", [])) + [
        f"{shlex.join(sys.argv)}  # from step {state['step']}, {state['samples']} samples, on {args.device}"
        + (f" ({torch.cuda.get_device_name(dev)}, torch {torch.__version__})" if dev.type == "cuda" else f" (torch {torch.__version__})")]
    print(f"parameters: {sum(p.numel() for p in net.parameters())}, config {json.dumps(net.config)}, "
          f"stages {stages}, bf16 {args.bf16}, channels-last {args.channels_last}", flush=True)

    photos = load_photos(args.data, threads=max(args.threads, args.workers))
    print(f"photos: {len(photos)} from {args.data}", flush=True)
    size, batch = stage_at(stages, state["samples"])
    # A different crop stream per resume (and per stage), so a resumed run does not replay its crops.
    batches = crop_batches(photos, size, batch, args.workers, seed=args.seed * 1_000_003 + state["step"])
    vg = torch.Generator().manual_seed(1234)
    val_sampler = CropSampler(photos, args.val_size or stages[0][1], seed=1234)
    val_x0 = val_sampler.batch(args.val_n)
    val = (val_x0.to(dev).contiguous(memory_format=fmt),
           (torch.arange(args.val_n) * (T / float(args.val_n))).to(dev),
           torch.randn(val_x0.shape, generator=vg).to(dev).contiguous(memory_format=fmt))

    stop = {"now": False}

    def on_signal(signum, _frame):
        print(f"signal {signum}: saving and stopping after this step", flush=True)
        stop["now"] = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    if state["step"] == 0 and args.val_every:
        # the starting point (with --init-from: the grown network, which computes the old one's eps)
        v, vb = validation_loss(ema, val)
        print(f"val step 0 samples 0 ema-loss {v:.5f} bands " + " ".join(f"{x:.4f}" for x in vb), flush=True)
    t_start = time.time()
    last_save = time.time()
    # Kept on the device and read only when logging: a read per step would stall a GPU every step.
    band_sum = torch.zeros(len(BANDS), device=dev)
    band_n = torch.zeros(len(BANDS), device=dev)
    n_since = 0
    t_log = time.time()
    while state["samples"] < args.samples and not stop["now"]:
        if stage_at(stages, state["samples"]) != (size, batch):
            size, batch = stage_at(stages, state["samples"])
            del batches  # stops the old crop workers
            batches = crop_batches(photos, size, batch, args.workers, seed=args.seed * 1_000_003 + state["step"])
            print(f"stage: {size}x{size} crops, batch {batch}, from {state['samples']} samples", flush=True)
        x0 = next(batches).to(dev, non_blocking=True).contiguous(memory_format=fmt)
        t = torch.rand(batch, device=dev) * (T - 1)
        eps = torch.randn_like(x0)
        xt = noisy(x0, t, eps)
        # Linear warm-up, then cosine decay to 10% over --lr-samples.
        progress = min(state["samples"] / args.lr_samples, 1.0)
        lr = args.lr * min(1.0, (state["step"] + 1) / args.warmup) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))
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
        state["samples"] += batch
        decay = min(args.ema_decay, (1 + state["step"]) / (10 + state["step"]))
        with torch.no_grad():
            ema_p, net_p = list(ema.parameters()), [p.detach() for p in net.parameters()]
            torch._foreach_mul_(ema_p, decay)
            torch._foreach_add_(ema_p, net_p, alpha=1 - decay)
            for b, (lo, hi) in enumerate(BANDS):
                m = ((t >= lo) & (t < hi)).float()
                band_sum[b] += (per.detach() * m).sum()
                band_n[b] += m.sum()
        n_since += batch
        if state["step"] % args.log_every == 0:
            bands = " ".join(f"t{lo}-{hi}:{(band_sum[b] / band_n[b].clamp(min=1)).item():.4f}" for b, (lo, hi) in enumerate(BANDS))
            rate = n_since / (time.time() - t_log)
            mem = f", {torch.cuda.max_memory_allocated(dev) / 2 ** 30:.1f} GiB peak" if dev.type == "cuda" else ""
            print(f"step {state['step']} samples {state['samples']} lr {lr:.2e} loss {bands} ({rate:.1f} samples/s, "
                  f"{size}x{size}{mem})", flush=True)
            band_sum.zero_()
            band_n.zero_()
            n_since = 0
            t_log = time.time()
        if args.val_every and state["step"] % args.val_every == 0:
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
    print(f"saved {args.checkpoint}: step {state['step']}, {state['samples']} samples, val ema-loss {v:.5f} bands "
          + " ".join(f"{x:.4f}" for x in vb) + f" ({os.path.getsize(args.checkpoint) / 1e6:.1f} MB)", flush=True)


if __name__ == "__main__":
    main()
