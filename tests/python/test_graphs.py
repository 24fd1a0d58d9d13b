"""Checks of the model graphs (run: /usr/bin/python3 -m pytest tests/python -q).

(a) UNet.vjp (the hand-written adjoint that eps_vjp.onnx is traced from) equals torch.autograd.
(b) The exported UNet graphs under onnxruntime-node (tests/python/run_onnx.mjs) equal PyTorch at two
    sizes: a seeded random UNet exported to a temporary folder, and resources/models/default when it
    exists (its weights read back from eps.onnx).
(c) The exact test priors of model-training/make_test_models.py equal a float64 evaluation of their formulas
    (eps) and torch.autograd of it (VJP); the generator is deterministic; the manifests follow
    docs/MODEL_CONTRACT.md.
"""
import hashlib
import json
import os
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
from unet import UNet  # noqa: E402

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


@pytest.mark.parametrize("config,sizes", [
    ({}, [(16, 16), (24, 40)]),
    (dict(channels=(8, 16), blocks=2, mid=2, emb_dim=16), [(6, 10), (12, 8)]),
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


@pytest.fixture(scope="module")
def random_default(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("default-random"))
    net = random_unet(0)
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
    res = export.check_unet_graphs(net, out, sizes=((16, 24),), ts=(300.0,), tol=1e-4, batch=3)
    assert max(max(r) for r in res.values()) < 1e-4


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
