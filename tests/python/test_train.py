"""model-training/train.py (run: /usr/bin/python3 -m pytest tests/python -q).

- The crop-stage schedule (--stages) and its parsing.
- The checkpoint (format 2): the EMA weights exactly, the online weights within the bf16 rounding of
  their difference from the EMA, Adam's moments, the counters; a format-1 checkpoint (online weights
  in fp32, as model-training/checkpoint/latest.pt) still loads; the v2 network's checkpoint is at most
  40 MB (issue 12).
- End to end on three small synthetic photos: a tiny network trained over two crop stages, stopped,
  resumed (the counters carry on, the second stage's crops are used), a tiny network with a context
  branch started from it with --init-from, and the result exported with its graphs checked.
"""
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "model-training"))
import export  # noqa: E402
import train  # noqa: E402
from unet import CONFIGS, UNet  # noqa: E402

torch.set_num_threads(1)
TRAIN = os.path.join(ROOT, "model-training", "train.py")


def test_stages():
    stages = train.parse_stages("256x16@200000, 128x64@0", 64, 32)
    assert stages == [(0, 128, 64), (200000, 256, 16)]
    assert train.stage_at(stages, 0) == (128, 64)
    assert train.stage_at(stages, 199_999) == (128, 64)
    assert train.stage_at(stages, 200_000) == (256, 16)
    assert train.parse_stages(None, 64, 32) == [(0, 64, 32)]
    with pytest.raises(SystemExit, match="start at 0"):
        train.parse_stages("128x64@10", 64, 32)
    with pytest.raises(SystemExit, match="SIZExBATCH@SAMPLES"):
        train.parse_stages("128@0", 64, 32)


def trained_pair(config, steps=3, size=32):
    """A network, its EMA (decay 0.5, so it differs) and Adam after a few steps on random data."""
    torch.manual_seed(0)
    net = UNet(**config)
    ema = UNet(**config)
    ema.load_state_dict(net.state_dict())
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    for _ in range(steps):
        x = torch.randn(2, 3, size, size)
        loss = ((net(x, torch.tensor([10.0, 500.0])) - x) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            for pe, pn in zip(ema.parameters(), net.parameters()):
                pe.mul_(0.5).add_(pn, alpha=0.5)
    return net, ema, opt


def test_checkpoint_round_trip(tmp_path):
    config = dict(channels=(8, 16), emb_dim=16, context=(12,))
    net, ema, opt = trained_pair(config)
    path = str(tmp_path / "ck.pt")
    train.save_checkpoint(path, net, ema, opt, dict(step=3, samples=6, seed=0, commands=["a"]))
    net2, ema2 = UNet(**config), UNet(**config)
    opt2 = torch.optim.Adam(net2.parameters(), lr=1e-3)
    state = train.load_checkpoint(path, net2, ema2, opt2)
    assert state == dict(step=3, samples=6, seed=0, commands=["a"])
    for k, v in ema.state_dict().items():
        assert torch.equal(ema2.state_dict()[k], v), k
    ema_sd = ema.state_dict()
    for k, v in net.state_dict().items():
        delta = (v - ema_sd[k]).abs()
        err = (net2.state_dict()[k] - v).abs()
        assert (err <= delta * 2.0 ** -8 + 1e-7).all(), k  # bf16: 8 significant bits of the difference
    assert sum((net2.state_dict()[k] - v).abs().sum() for k, v in net.state_dict().items()) > 0  # not stored in fp32
    s1, s2 = opt.state_dict()["state"], opt2.state_dict()["state"]
    assert s1.keys() == s2.keys()
    for i in s1:
        for k in ("exp_avg", "exp_avg_sq"):
            assert s2[i][k].dtype == torch.float32
            assert torch.allclose(s2[i][k], s1[i][k], rtol=2 ** -7, atol=1e-12), (i, k)
    # the live optimiser keeps its fp32 moments after a save
    assert all(s["exp_avg"].dtype == torch.float32 for s in opt.state_dict()["state"].values())


def test_format1_checkpoint_loads(tmp_path):
    """Checkpoints written before issue 12 (online weights in fp32 under "model") still resume."""
    config = dict(channels=(8, 16), emb_dim=16)
    net, ema, opt = trained_pair(config)
    path = str(tmp_path / "old.pt")
    opt_state = opt.state_dict()
    opt_state["state"] = {i: {k: (v.to(torch.bfloat16) if k in ("exp_avg", "exp_avg_sq") else v) for k, v in s.items()}
                          for i, s in opt_state["state"].items()}
    torch.save(dict(step=3, samples=6, seed=0, model=net.state_dict(), ema=ema.state_dict(), opt=opt_state,
                    config=net.config), path)
    net2, ema2 = UNet(**config), UNet(**config)
    state = train.load_checkpoint(path, net2, ema2, torch.optim.Adam(net2.parameters()))
    assert state == dict(step=3, samples=6, seed=0)
    for k, v in net.state_dict().items():
        assert torch.equal(net2.state_dict()[k], v), k


def test_v2_checkpoint_is_at_most_40_mb(tmp_path):
    net, ema, opt = trained_pair(CONFIGS["v2"], steps=1, size=16)
    path = str(tmp_path / "v2.pt")
    train.save_checkpoint(path, net, ema, opt, dict(step=1, samples=2, seed=0))
    size = os.path.getsize(path)
    n = sum(p.numel() for p in net.parameters())
    assert size <= 40e6, size
    assert size < 10.2 * n  # EMA fp32, online - EMA bf16, two bf16 moments, a little pickling


def run_train(*args, check=True):
    res = subprocess.run([sys.executable, TRAIN, "--threads", "1", "--val-n", "8", "--log-every", "5",
                          "--val-every", "10", *args], capture_output=True, text=True, cwd=ROOT, timeout=300)
    if check and res.returncode != 0:
        raise AssertionError(res.stdout + res.stderr)
    return res.stdout + res.stderr


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:96, 0:120] / 40.0
    for k in range(3):
        img = np.stack([np.sin(xx * (k + 1) + c) * np.cos(yy * (c + 1)) for c in range(3)], axis=-1)
        img = (127.5 + 100 * img + rng.normal(0, 5, img.shape)).clip(0, 255).astype(np.uint8)
        Image.fromarray(img).save(folder / f"p{k}.png")
    return str(folder)


def test_train_stages_resume_init_from_and_export(photos, tmp_path):
    small = '{"channels": [8, 16], "emb_dim": 16}'
    ck = str(tmp_path / "small.pt")
    out = run_train("--data", photos, "--checkpoint", ck, "--config", small, "--stages", "16x4@0,32x2@40",
                    "--samples", "40")
    assert "photos: 3" in out and "saved " in out
    assert torch.load(ck, weights_only=False)["samples"] == 40
    # resumed: the counters carry on, the second stage's crops (32x32, batch 2) are used
    out = run_train("--data", photos, "--checkpoint", ck, "--stages", "16x4@0,32x2@40", "--samples", "50")
    assert "resumed from" in out and "step 10, 40 samples" in out
    assert "32x32" in out
    ckpt = torch.load(ck, weights_only=False)
    assert (ckpt["step"], ckpt["samples"]) == (15, 50)
    assert len(ckpt["commands"]) == 2 and "--samples 50" in ckpt["commands"][1]
    # a resumed checkpoint keeps its config: another --config is refused
    out = run_train("--data", photos, "--checkpoint", ck, "--config", "v2", "--samples", "60", check=False)
    assert "holds config" in out
    # a wider network with a context branch, started from it (unet.grow)
    ck2 = str(tmp_path / "ctx.pt")
    out = run_train("--data", photos, "--checkpoint", ck2, "--config",
                    '{"channels": [12, 16], "emb_dim": 16, "context": [8]}', "--init-from", ck,
                    "--crop", "16", "--batch", "4", "--samples", "16")
    assert "initialised from" in out
    ckpt2 = torch.load(ck2, weights_only=False)
    assert ckpt2["init_from"]["samples"] == 50 and ckpt2["config"]["context"] == [8]
    net, _ = export.load_ema(ck2)
    folder = str(tmp_path / "model")
    export.export_model(net, folder, {"kind": "test"})
    export.share_weights(folder)
    res = export.check_unet_graphs(net, folder, sizes=((16, 16), (8, 24)))
    assert max(max(r) for r in res.values()) < 1e-4


# -------------------------------------------------------------------------------------------- data packing
import pack_data  # noqa: E402


def test_pack_assign_respects_the_budget():
    sizes = [9, 7, 5, 5, 3, 2, 1]
    where, used = pack_data.assign(sizes, 12)
    assert max(used) <= 12 and sum(used) == sum(sizes) and len(used) == 3
    for k, u in enumerate(used):
        assert sum(s for s, w in zip(sizes, where) if w == k) == u
    with pytest.raises(SystemExit, match="larger than the part budget"):
        pack_data.assign([13], 12)


def test_pack_keeps_the_training_pixels(tmp_path):
    """PNGs (an alpha channel too) become lossless WebP with the same RGB pixels, JPEGs stay byte for
    byte; --check finds what is missing or altered."""
    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[0:64, 0:80]
    smooth = (127 + 60 * np.sin(xx / 7.0)[..., None] * np.cos(yy / 5.0)[..., None] * np.ones(3)).astype(np.uint8)
    rgba = np.concatenate([smooth, rng.integers(0, 256, (64, 80, 1), dtype=np.uint8)], axis=-1)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    Image.fromarray(smooth).save(tmp_path / "b.jpg", quality=90)
    name, data, how, pix = pack_data.stored_form(str(tmp_path / "a.png"))
    assert (name, how) == ("a.png.webp", "webp-lossless")
    assert np.array_equal(pack_data.rgb_pixels(data), np.asarray(Image.open(tmp_path / "a.png").convert("RGB")))
    name, data, how, pix = pack_data.stored_form(str(tmp_path / "b.jpg"))
    assert (name, how) == ("b.jpg", "jpeg-original") and data == (tmp_path / "b.jpg").read_bytes()
    out = tmp_path / "pack"
    subprocess.run([sys.executable, os.path.join(ROOT, "model-training", "pack_data.py"), "--data", str(tmp_path),
                    "--out", str(out), "--budget", "1"], check=True, capture_output=True, cwd=ROOT)
    flat = tmp_path / "flat"
    flat.mkdir()
    for part in out.glob("part*"):
        for f in part.iterdir():
            (flat / f.name).write_bytes(f.read_bytes())
    assert pack_data.check(str(flat), str(out / "index.tsv")) == ([], [])
    (flat / "b.jpg").write_bytes(b"not the photo")
    (flat / "a.png.webp").unlink()
    assert pack_data.check(str(flat), str(out / "index.tsv")) == (["a.png.webp"], ["b.jpg"])
