"""Checks of the model graphs (run: /usr/bin/python3 -m pytest tests/python -q).

(a) UNet.vjp (the hand-written adjoint that eps_vjp.onnx is traced from) equals torch.autograd.
(b) The exported UNet graphs under onnxruntime-node (tests/python/run_onnx.mjs) equal PyTorch at two
    sizes: a seeded random UNet exported to a temporary folder, and resources/models/default when it
    exists (its weights read back from eps.onnx).
(c) The exact test priors of model-training/make_test_models.py equal a float64 evaluation of their formulas
    (eps) and torch.autograd of it (VJP); the generator is deterministic; the manifests follow
    docs/MODEL_CONTRACT.md.
(d) The next model's network (issue 12, unet.py CONFIGS["v2"]: wider levels and a context branch):
    its VJP, its exported graphs at two sizes (tiny widths, same layout) with shared weights and the
    fp16 variant, unet.grow (v1 -> v2 computes v1's function), the v1 config unchanged, and the
    budget (FLOPs per pixel, receptive field, checkpoint size).
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import onnx
import pytest
import torch
from onnx import numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "model-training"))
import export  # noqa: E402
import make_test_models as tm  # noqa: E402
import model_stats  # noqa: E402
from unet import CONFIGS, UNet, grow  # noqa: E402

torch.set_num_threads(1)  # a trainer may be using the cores
DEFAULT_MODEL = os.path.join(ROOT, "resources", "models", "default")


def random_unet(seed=0, **config):
    torch.manual_seed(seed)
    return tm.randomise_zero_layers(UNet(**config), seed + 1).eval()


def file_sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def check_manifest(folder):
    """The contract's required fields and types, and every graph file's sha256."""
    with open(os.path.join(folder, "manifest.json")) as f:
        m = json.load(f)
    assert m["format"] == "vmlmap-model" and m["formatVersion"] == 1
    assert m["prediction"] == "epsilon"
    assert m["channels"] in (1, 3)
    assert m["valueRange"] == [-1, 1]
    assert isinstance(m["sizeMultiple"], int) and m["sizeMultiple"] >= 1
    assert m["fixedSize"] is None or (len(m["fixedSize"]) == 2 and all(isinstance(v, int) for v in m["fixedSize"]))
    assert m["schedule"] == {"type": "vp-linear", "betaStart": 0.0001, "betaEnd": 0.02, "timesteps": 1000}
    assert set(m["graphs"]) <= {"forward", "vjp"} and "forward" in m["graphs"]
    sets = [m["graphs"]]
    if "variants" in m:
        assert set(m["variants"]) == {"fp16"}
        assert set(m["variants"]["fp16"]) == set(m["graphs"])
        sets.append(m["variants"]["fp16"])
    for graphs in sets:
        for kind, g in graphs.items():
            path = os.path.join(folder, g["file"])
            assert file_sha256(path) == g["sha256"], f"{path}: sha256 differs from the manifest"
            data = g.get("externalData", [])
            for d in data:
                assert file_sha256(os.path.join(folder, d["file"])) == d["sha256"], f"{d['file']}: sha256 differs"
            # the graph reads exactly the external data files the manifest names
            assert export.external_locations(path) == sorted(d["file"] for d in data)
            model = onnx.load(path)
            assert [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")] == [17]
            want_in = ["x", "t"] + (["v"] if kind == "vjp" else [])
            assert [i.name for i in model.graph.input] == want_in
            assert [o.name for o in model.graph.output] == [g["output"]]
            assert all(vi.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
                       for vi in list(model.graph.input) + list(model.graph.output))
    return m


# -------------------------------------------------------------------------------------------- (a)


# The v2 layout (four levels whose widths grow and then stay, a context branch below) at tiny widths.
V2_TINY = dict(channels=(8, 12, 16, 16), blocks=1, mid=1, emb_dim=16, context=(16,))


@pytest.mark.parametrize("config,sizes", [
    ({}, [(16, 16), (24, 40)]),
    (dict(channels=(8, 16), blocks=2, mid=2, emb_dim=16), [(6, 10), (12, 8)]),
    (CONFIGS["v2"], [(32, 32), (16, 48)]),
    (V2_TINY, [(16, 16), (32, 48)]),
    (dict(channels=(8, 16), blocks=2, mid=1, emb_dim=16, context=(12, 10), context_mid=2), [(8, 16), (24, 8)]),
])
def test_unet_vjp_equals_autograd(config, sizes):
    net = random_unet(3, **config).double()
    g = torch.Generator().manual_seed(0)
    for h, w in sizes:
        x = torch.randn(2, 3, h, w, generator=g, dtype=torch.float64, requires_grad=True)
        t = torch.tensor([0.7, 612.3], dtype=torch.float64)
        v = torch.randn(x.shape, generator=g, dtype=torch.float64)
        (ref,) = torch.autograd.grad(net(x, t), x, v)
        with torch.no_grad():
            got = net.vjp(x.detach(), t, v)
        assert export.rel_err(got, ref) < 1e-12, (h, w)


# -------------------------------------------------------------------------------------------- (b)


@pytest.fixture(scope="module", params=["v1", "v2-tiny"])
def random_default(request, tmp_path_factory):
    """A random network exported to a temporary folder: the default model's config, and the v2
    layout at tiny widths (size multiple 16)."""
    out = str(tmp_path_factory.mktemp("default-random"))
    net = random_unet(0) if request.param == "v1" else random_unet(0, **V2_TINY)
    export.export_model(net, out, {"kind": "random weights for tests"})
    return net, out


SIZES = ((64, 64), (48, 80))


def test_random_default_graphs_match_pytorch(random_default):
    net, out = random_default
    check_manifest(out)
    res = export.check_unet_graphs(net, out, sizes=SIZES, ts=(2.5, 740.0), tol=1e-4)
    assert len(res) == 4
    assert max(max(r) for r in res.values()) < 1e-4
    # the batch axis is dynamic too (the engine sends N = 1, but nothing fixes it)
    small = (16, 24) if 24 % net.stride == 0 else (net.stride, 2 * net.stride)
    res = export.check_unet_graphs(net, out, sizes=(small,), ts=(300.0,), tol=1e-4, batch=3)
    assert max(max(r) for r in res.values()) < 1e-4


def test_random_default_shared_weights_and_fp16(random_default, tmp_path):
    """The folder as export.py ships it: both graphs on one weights file per precision, still equal
    to PyTorch at two sizes, and the fp16 graphs close to the fp32 ones."""
    net, out = random_default
    shared = str(tmp_path / "shared")
    shutil.copytree(out, shared)
    export.share_weights(shared)
    m = check_manifest(shared)
    assert m["sizeMultiple"] == net.stride and "fp16" in m["variants"]
    res = export.check_unet_graphs(net, shared, sizes=SIZES, ts=(2.5, 740.0), tol=1e-4)
    assert max(max(r) for r in res.values()) < 1e-4
    res16 = export.check_fp16_graphs(shared, sizes=SIZES[:1], tol=3e-3)
    assert max(max(r) for r in res16.values()) < 3e-3


def test_export_is_deterministic(random_default, tmp_path):
    net, out = random_default
    export.export_model(net, str(tmp_path), {"kind": "random weights for tests"})
    for f in ("eps.onnx", "eps_vjp.onnx", "manifest.json"):
        assert file_sha256(os.path.join(out, f)) == file_sha256(os.path.join(tmp_path, f)), f


@pytest.mark.skipif(not os.path.exists(os.path.join(DEFAULT_MODEL, "manifest.json")),
                    reason="resources/models/default not exported yet")
def test_bundled_default_graphs_match_pytorch():
    m = check_manifest(DEFAULT_MODEL)
    assert m["fixedSize"] is None and m["sizeMultiple"] == 8 and "vjp" in m["graphs"]
    prov = m["provenance"]
    for key in ("samplesSeen", "step", "trainingCommand", "trainedOn", "packages"):
        assert key in prov, key
    assert all(p["license"] and "unknown" not in p["license"] for p in prov["packages"])
    # The checkpoint moves on while training: rebuild the exported weights from eps.onnx itself.
    net = UNet(**prov["config"])
    inits = {i.name: numpy_helper.to_array(i) for i in onnx.load(os.path.join(DEFAULT_MODEL, "eps.onnx")).graph.initializer}
    net.load_state_dict({k: torch.from_numpy(inits[k].copy()) for k in net.state_dict()})
    assert sum(p.numel() for p in net.parameters()) == m["parameters"]
    res = export.check_unet_graphs(net.eval(), DEFAULT_MODEL, sizes=SIZES, ts=(2.5, 740.0), tol=1e-4)
    assert max(max(r) for r in res.values()) < 1e-4


# -------------------------------------------------------------------------------------------- (c)


@pytest.fixture(scope="module")
def test_models(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("test-models"))
    subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "model-training", "make_test_models.py"), "--out", out,
                    "--no-verify"], check=True, capture_output=True)
    return out


@pytest.mark.parametrize("name", ["gaussian", "gaussian-fwd", "gmm", "gmm3"])
def test_prior_graphs_match_float64_formulas(test_models, name):
    folder = os.path.join(test_models, name)
    m = check_manifest(folder)
    assert ("vjp" in m["graphs"]) == (name != "gaussian-fwd")
    errs = tm.verify_prior_model(folder, tol=1e-4)
    assert max(errs) < 1e-5, errs


def test_prior_json(test_models):
    with open(os.path.join(test_models, "gaussian", "prior.json")) as f:
        p = json.load(f)
    assert p["type"] == "gaussian" and p["shape"] == [3, 8, 8]
    mean, cov = np.array(p["mean"]), np.array(p["cov"])
    assert mean.shape == (192,) and cov.shape == (192, 192)
    assert np.allclose(cov, cov.T)
    lam = np.linalg.eigvalsh(cov)
    assert 0.9e-3 < lam.min() and lam.max() < 0.051
    assert 0.1 < mean.min() and mean.max() < 0.9
    with open(os.path.join(test_models, "gmm", "prior.json")) as f:
        p = json.load(f)
    assert p["type"] == "gmm" and p["shape"] == [1, 1, 2] and len(p["weights"]) == 2
    assert np.array(p["means"]).shape == (2, 2) and np.array(p["vars"]).shape == (2, 2)
    with open(os.path.join(test_models, "gmm", "manifest.json")) as f:
        assert json.load(f)["fixedSize"] == [1, 2]


def test_tiny_model(test_models):
    folder = os.path.join(test_models, "tiny")
    m = check_manifest(folder)
    assert m["sizeMultiple"] == 2 and m["fixedSize"] is None
    res = export.check_unet_graphs(tm.tiny_unet(), folder, sizes=((8, 8), (6, 10)), tol=1e-4)
    assert max(max(r) for r in res.values()) < 1e-5


def test_test_models_are_deterministic(test_models, tmp_path):
    subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "model-training", "make_test_models.py"), "--out",
                    str(tmp_path), "--no-verify"], check=True, capture_output=True)
    for dirpath, _dirs, files in os.walk(test_models):
        for f in files:
            a = os.path.join(dirpath, f)
            b = os.path.join(tmp_path, os.path.relpath(a, test_models))
            assert file_sha256(a) == file_sha256(b), os.path.relpath(a, test_models)


# -------------------------------------------------------------------------------------------- (d)


def test_v1_config_is_unchanged():
    """The default model's config, key for key: checkpoints and manifests compare it as a dict."""
    want = {"channels": [32, 64, 96, 96], "blocks": 1, "mid": 1, "emb_dim": 128, "in_ch": 3}
    assert UNet().config == want
    assert UNet(**CONFIGS["v1"]).config == want
    assert UNet(**CONFIGS["v1"]).stride == 8
    assert not any(n.startswith("ctx") for n in UNet().state_dict())


CHECKPOINT = os.path.join(ROOT, "model-training", "checkpoint", "latest.pt")


@pytest.mark.skipif(not os.path.exists(CHECKPOINT), reason="no training checkpoint")
def test_committed_checkpoint_loads_strictly():
    ckpt = torch.load(CHECKPOINT, map_location="cpu", weights_only=False)
    net = UNet(**ckpt["config"])
    assert net.config == ckpt["config"]
    net.load_state_dict(ckpt["ema"])  # strict: same names and shapes


def test_grow_keeps_the_function():
    """v1 grown into v2 computes v1's eps and VJP (float64); the v2 layout differs only by zeros."""
    old = random_unet(5).double()
    torch.manual_seed(6)
    new = UNet(**CONFIGS["v2"]).double().eval()
    assert grow(old, new) > 0
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, 32, 48, generator=g, dtype=torch.float64)
    t = torch.tensor([1.5, 801.0], dtype=torch.float64)
    v = torch.randn(x.shape, generator=g, dtype=torch.float64)
    with torch.no_grad():
        assert export.rel_err(new(x, t), old(x, t)) < 1e-12
        assert export.rel_err(new.vjp(x, t, v), old.vjp(x, t, v)) < 1e-12
    # the new channels are there and live: the new network's weights are not all copies
    assert new.inc.weight[32:].abs().sum() > 0 and new.inc.weight.shape[0] == 48


def test_grow_refuses_what_it_cannot_keep():
    old = random_unet(5)
    with pytest.raises(ValueError, match="identity skip"):
        grow(old, UNet(channels=(48, 96, 96, 96)))  # level 2 would lose the 1x1 skip v1 has
    with pytest.raises(ValueError, match="levels"):
        grow(old, UNet(channels=(48, 80, 96)))
    with pytest.raises(ValueError, match="cannot grow"):
        grow(old, UNet(channels=(16, 80, 96, 96)))  # narrower


def test_v2_budget():
    """Issue 12: at most 4x v1's forward FLOPs per pixel, a receptive field of at least 128 pixels,
    a checkpoint of at most 40 MB; v1's own numbers as docs/MODEL.md gives them."""
    v1 = model_stats.describe("v1", CONFIGS["v1"])
    v2 = model_stats.describe("v2", CONFIGS["v2"])
    assert v1["parameters"] == 2_050_563 and v1["receptive_field"] == 222
    assert round(v1["forward_flops_per_pixel"]) == 435_136
    assert v2["forward_flops_per_pixel"] <= 4 * v1["forward_flops_per_pixel"]
    assert v2["receptive_field"] >= 128
    assert v2["checkpoint_mb"] <= 40
    assert v2["stride"] == 16


def test_receptive_field_counts_every_layer():
    """The field grows by 2 per 3x3 convolution at full resolution: a check of the measure itself."""
    rf = model_stats.receptive_field(dict(channels=(4,), blocks=1, mid=1, emb_dim=8))
    # inc, down block (2 convs), mid block (2), two up blocks (4), outc: 10 convs of 3x3
    assert rf == 1 + 2 * 10


# -------------------------------------------------------------------------------------------- misc


def test_dep5_licence_matching():
    text = """Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/

Files: *
Copyright: someone
License: GPL-2+

Files: 16.04/Bridge_by_X.jpg
Copyright: X
License: CC-BY-SA-4.0

Files: data/themes/maldives/*
Copyright: Y
License: CC-BY-SA-3.0

Files: data/themes/maldives/background.jpg
Copyright: Z
License: CC-BY-3.0

Files: debian/*
Copyright: packager
License: MIT
"""
    paras = export.parse_dep5(text)
    assert export.dep5_licence(paras, "/usr/share/backgrounds/Bridge_by_X.jpg") == "CC-BY-SA-4.0"
    assert export.dep5_licence(paras, "/usr/share/sddm/themes/maldives/background.jpg") == "CC-BY-3.0"
    assert export.dep5_licence(paras, "/usr/share/sddm/themes/maldives/other.png") == "CC-BY-SA-3.0"
    assert export.dep5_licence(paras, "/usr/share/wallpapers/a.jpg") == "GPL-2+"
