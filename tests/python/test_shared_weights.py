"""The exported folder's layout (model-training/export.py share_weights; run: /usr/bin/python3 -m pytest tests/python -q).

- Both graphs of one precision read ONE weights file (weights.bin, weights.fp16.bin): every large
  initializer is external, the VJP graph's under the forward graph's names and at the same offsets,
  so the weights are stored once per precision.
- The float32 graphs, now reading weights.bin, still equal PyTorch under onnxruntime-node.
- The fp16 graphs (model-training/fp16.py) agree with the float32 ones under onnxruntime-node.
- share_weights is deterministic.
- The bundled default model (when it has been exported this way) has the same layout, stays under
  20 MB, and its fp16 graphs agree with its fp32 graphs.
"""
import hashlib
import json
import os
import shutil
import sys

import onnx
import pytest
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "model-training"))
import export  # noqa: E402
import make_test_models as tm  # noqa: E402
from unet import UNet  # noqa: E402

torch.set_num_threads(1)
DEFAULT_MODEL = os.path.join(ROOT, "resources", "models", "default")
# fp16 graphs vs fp32 graphs, relative L2 difference of eps and of the VJP (measured: ~1.5e-4 on the
# default model, ~4e-4 on random weights)
FP16_TOL = 3e-3


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def external_entries(path):
    """{initializer name: (location, offset, length)} of a graph's external initializers."""
    m = onnx.load(path, load_external_data=False)
    out = {}
    for init in m.graph.initializer:
        if init.data_location == onnx.TensorProto.EXTERNAL:
            e = {kv.key: kv.value for kv in init.external_data}
            out[init.name] = (e["location"], int(e.get("offset", 0)), int(e["length"]))
    return out


def inline_bytes(path):
    m = onnx.load(path, load_external_data=False)
    return sum(len(i.raw_data) for i in m.graph.initializer if i.data_location != onnx.TensorProto.EXTERNAL)


def check_layout(folder, n_params):
    with open(os.path.join(folder, "manifest.json")) as f:
        m = json.load(f)
    for precision, graphs, width in (("fp32", m["graphs"], 4), ("fp16", m["variants"]["fp16"], 2)):
        fwd_file, vjp_file, weights = export.PRECISIONS[precision]
        assert graphs["forward"]["file"] == fwd_file and graphs["vjp"]["file"] == vjp_file
        for g in graphs.values():
            assert g["externalData"] == [{"file": weights, "sha256": digest(os.path.join(folder, weights))}]
        fwd = external_entries(os.path.join(folder, fwd_file))
        vjp = external_entries(os.path.join(folder, vjp_file))
        assert {loc for loc, _, _ in list(fwd.values()) + list(vjp.values())} == {weights}
        # the VJP graph's weights are the forward graph's: same names, same bytes of the same file
        assert set(vjp) == set(fwd)
        assert all(vjp[k] == fwd[k] for k in fwd)
        size = os.path.getsize(os.path.join(folder, weights))
        stored = sum(n for _, _, n in fwd.values())
        assert stored <= size < stored + len(fwd) * export.EXTERNAL_ALIGN
        # nearly every parameter is in the file, once, at this precision (the small ones stay inline;
        # the fp16 file also holds the float32 timestep MLP)
        assert 0.97 * n_params * width < stored < 1.1 * n_params * width, (precision, stored, n_params)
        for f in (fwd_file, vjp_file):
            assert inline_bytes(os.path.join(folder, f)) < 0.02 * n_params * width
    return m


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("shared"))
    net = tm.randomise_zero_layers(UNet(), 1).eval()
    export.export_model(net, out, {"kind": "random weights for tests"})
    plain = str(tmp_path_factory.mktemp("plain"))
    for f in os.listdir(out):
        shutil.copy(os.path.join(out, f), plain)
    export.share_weights(out)
    return net, out, plain


def test_one_weights_file_per_precision(shared):
    net, out, _ = shared
    check_layout(out, sum(p.numel() for p in net.parameters()))
    assert sorted(os.listdir(out)) == ["eps.fp16.onnx", "eps.onnx", "eps_vjp.fp16.onnx", "eps_vjp.onnx",
                                       "manifest.json", "weights.bin", "weights.fp16.bin"]


def test_shared_fp32_graphs_match_pytorch(shared):
    net, out, _ = shared
    res = export.check_unet_graphs(net, out, sizes=((64, 64), (40, 56)), ts=(2.5, 740.0), tol=1e-4)
    assert max(max(r) for r in res.values()) < 1e-4


def test_fp16_graphs_agree_with_fp32(shared):
    _, out, _ = shared
    res = export.check_fp16_graphs(out, sizes=((64, 64), (24, 40)), tol=FP16_TOL)
    worst = max(max(r) for r in res.values())
    print(f"random UNet: fp16 vs fp32 graphs, largest relative difference {worst:.2e}")
    assert worst < FP16_TOL


def test_share_weights_is_deterministic(shared, tmp_path):
    _, out, plain = shared
    again = str(tmp_path / "again")
    shutil.copytree(plain, again)
    export.share_weights(again)
    assert sorted(os.listdir(again)) == sorted(os.listdir(out))
    for f in os.listdir(out):
        assert digest(os.path.join(out, f)) == digest(os.path.join(again, f)), f


def test_vjp_weights_must_match():
    """Renaming is refused when a VJP initializer differs from the forward graph's of the same name."""
    from onnx import helper, numpy_helper
    import numpy as np
    w = numpy_helper.from_array(np.ones((4, 4), np.float32), "w")
    fwd = helper.make_model(helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "f",
                                              [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [4, 4])],
                                              [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [4, 4])], [w]))
    w2 = numpy_helper.from_array(np.full((4, 4), 2, np.float32), "net.w")
    vjp = helper.make_model(helper.make_graph([helper.make_node("MatMul", ["x", "net.w"], ["y"])], "v",
                                              [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [4, 4])],
                                              [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [4, 4])], [w2]))
    with pytest.raises(RuntimeError, match="differs from the forward graph's w"):
        export.share_vjp_names(fwd, vjp)
    vjp.graph.initializer[0].CopyFrom(numpy_helper.from_array(np.ones((4, 4), np.float32), "net.w"))
    assert export.share_vjp_names(fwd, vjp) == 1
    assert vjp.graph.node[0].input[1] == "w" and vjp.graph.initializer[0].name == "w"


@pytest.mark.skipif(not os.path.exists(os.path.join(DEFAULT_MODEL, "weights.bin")),
                    reason="resources/models/default not exported with shared weights yet")
def test_bundled_default_layout_and_fp16():
    with open(os.path.join(DEFAULT_MODEL, "manifest.json")) as f:
        n_params = json.load(f)["parameters"]
    check_layout(DEFAULT_MODEL, n_params)
    total = sum(os.path.getsize(os.path.join(DEFAULT_MODEL, f)) for f in os.listdir(DEFAULT_MODEL))
    assert total < 20 * 2 ** 20, f"resources/models/default holds {total / 2 ** 20:.1f} MB"
    res = export.check_fp16_graphs(DEFAULT_MODEL, tol=FP16_TOL)
    assert max(max(r) for r in res.values()) < FP16_TOL
