#!/usr/bin/python3
"""Export a trained UNet (model-training/unet.py) as a model folder of docs/MODEL_CONTRACT.md.

    /usr/bin/python3 model-training/export.py --checkpoint model-training/checkpoint/latest.pt --out resources/models/default

Loads the checkpoint's EMA weights, writes eps.onnx (x, t -> eps) and eps_vjp.onnx (x, t, v -> vjp,
through unet.VJP's hand-written adjoint), both opset 17 with dynamic N, H, W, then manifest.json with
each file's sha256 and the provenance: samples seen, step, the training command, and every training
package with its licence (read from the package's debian/copyright).

Unless --no-check is given, both graphs are then run under onnxruntime-node
(tests/python/run_onnx.mjs) at two sizes and compared with PyTorch, which also proves that the
graphs carry no baked spatial shape.

Then `share_weights` rewrites the folder so that the weights are stored once per precision: both
graphs refer to weights.bin (ONNX external data; the VJP graph's initializers renamed to the
forward graph's, arrays checked identical), and, unless --no-fp16, model-training/fp16.py's float16 copies
eps.fp16.onnx and eps_vjp.fp16.onnx refer to weights.fp16.bin. The manifest lists every file with
its sha256. The float32 graphs are checked against PyTorch again, now reading weights.bin, and the
float16 graphs against the float32 ones. Everything is written to a staging folder and moved into
--out at the end. The export is deterministic: the same weights give byte-identical files.

`export_model(net, out_dir, provenance, ...)` and `write_manifest(...)` are reused by
model-training/make_test_models.py.
"""
import argparse
import fnmatch
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import warnings

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import schedule  # noqa: E402
from fetch_data import sha256  # noqa: E402
from unet import VJP, UNet  # noqa: E402

OPSET = 17
RUN_ONNX = os.path.join(ROOT, "tests", "python", "run_onnx.mjs")
DEFAULT_TRAIN_COMMAND = ("/usr/bin/python3 model-training/train.py --data data/train "
                         "--checkpoint model-training/checkpoint/latest.pt --samples 1000000")
SCHEDULE = {"type": "vp-linear", "betaStart": schedule.BETA_START, "betaEnd": schedule.BETA_END,
            "timesteps": schedule.T}


# ----------------------------------------------------------------------------------------------
# manifest


def write_manifest(out_dir, name, description, channels, size_multiple, fixed_size=None, vjp=True,
                   parameters=None, provenance=None, extra=None):
    """Writes out_dir/manifest.json for eps.onnx (and eps_vjp.onnx when `vjp`), already in out_dir."""
    graphs = {"forward": {"file": "eps.onnx", "sha256": sha256(os.path.join(out_dir, "eps.onnx")),
                          "inputs": {"x": "x", "t": "t"}, "output": "eps"}}
    if vjp:
        graphs["vjp"] = {"file": "eps_vjp.onnx", "sha256": sha256(os.path.join(out_dir, "eps_vjp.onnx")),
                         "inputs": {"x": "x", "t": "t", "v": "v"}, "output": "vjp"}
    manifest = {
        "format": "vmlmap-model",
        "formatVersion": 1,
        "name": name,
        "description": description,
        "prediction": "epsilon",
        "channels": channels,
        "valueRange": [-1, 1],
        "sizeMultiple": size_multiple,
        "fixedSize": list(fixed_size) if fixed_size is not None else None,
        "schedule": dict(SCHEDULE),
        "graphs": graphs,
    }
    if parameters is not None:
        manifest["parameters"] = int(parameters)
    if provenance is not None:
        manifest["provenance"] = provenance
    if extra:
        manifest.update(extra)
    with open(os.path.join(out_dir, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    return manifest


# ----------------------------------------------------------------------------------------------
# ONNX export of a UNet


def export_model(net, out_dir, provenance, name="default", description=None, vjp=True, example_hw=(32, 48)):
    """Exports `net` (a model-training/unet.py UNet, evaluated in float32) to out_dir: eps.onnx, eps_vjp.onnx
    and manifest.json. Returns the manifest. Deterministic for given weights."""
    os.makedirs(out_dir, exist_ok=True)
    net = net.float().eval()
    stride = net.stride
    h, w = example_hw
    if h % stride or w % stride:
        raise ValueError(f"example size {example_hw} is not a multiple of the stride {stride}")
    g = torch.Generator().manual_seed(0)
    x = torch.randn(1, net.config["in_ch"], h, w, generator=g)
    t = torch.tensor([500.0])
    v = torch.randn(x.shape, generator=g)
    spatial = {0: "N", 2: "H", 3: "W"}
    with torch.no_grad(), warnings.catch_warnings():
        # PyTorch 1.13 warns that it cannot infer shapes through prim::Constant; harmless here (the
        # graphs are checked at several sizes).
        warnings.filterwarnings("ignore", message="The shape inference of prim::Constant")
        torch.onnx.export(net, (x, t), os.path.join(out_dir, "eps.onnx"), opset_version=OPSET,
                          input_names=["x", "t"], output_names=["eps"],
                          dynamic_axes={"x": spatial, "t": {0: "N"}, "eps": spatial},
                          do_constant_folding=True)
        if vjp:
            torch.onnx.export(VJP(net).eval(), (x, t, v), os.path.join(out_dir, "eps_vjp.onnx"),
                              opset_version=OPSET, input_names=["x", "t", "v"], output_names=["vjp"],
                              dynamic_axes={"x": spatial, "t": {0: "N"}, "v": spatial, "vjp": spatial},
                              do_constant_folding=True)
    for f in ["eps.onnx"] + (["eps_vjp.onnx"] if vjp else []):
        check_symbolic(os.path.join(out_dir, f))
    if description is None:
        description = (f"UNet eps-prediction model, channels {net.config['channels']}, "
                       f"{sum(p.numel() for p in net.parameters())} parameters")
    return write_manifest(out_dir, name=name, description=description, channels=net.config["in_ch"],
                          size_multiple=stride, fixed_size=None, vjp=vjp,
                          parameters=sum(p.numel() for p in net.parameters()), provenance=provenance)


def check_symbolic(path):
    """Static part of the no-baked-shape check: the graph's inputs and outputs have symbolic N, H, W."""
    import onnx
    m = onnx.load(path)
    onnx.checker.check_model(m)
    for vi in list(m.graph.input) + list(m.graph.output):
        dims = vi.type.tensor_type.shape.dim
        sym = [d.dim_param for d in dims]
        want = ["N"] if len(dims) == 1 else ["N", "", "H", "W"]
        if any(wn and s != wn for s, wn in zip(sym, want)):
            raise RuntimeError(f"{path}: {vi.name} has dims {[d.dim_param or d.dim_value for d in dims]}")


# ----------------------------------------------------------------------------------------------
# shared external weights, and the float16 variant

# Initializers of at least this many bytes go to the shared weights file; smaller ones (biases of
# the narrow layers, a few dozen bytes each) stay inside each graph.
EXTERNAL_MIN_BYTES = 1024
# Offsets in the weights file are multiples of this (a memory page), so that onnxruntime can map
# the tensors from the file instead of copying them.
EXTERNAL_ALIGN = 4096
VJP_PREFIX = "net."
PRECISIONS = {
    # precision: (forward graph, VJP graph, weights file)
    "fp32": ("eps.onnx", "eps_vjp.onnx", "weights.bin"),
    "fp16": ("eps.fp16.onnx", "eps_vjp.fp16.onnx", "weights.fp16.bin"),
}


def _rename_input(graph, old, new):
    for node in graph.node:
        for k, name in enumerate(node.input):
            if name == old:
                node.input[k] = new
        for a in node.attribute:  # subgraphs (none in our graphs, but cheap to be correct)
            if a.g is not None and a.HasField("g"):
                _rename_input(a.g, old, new)
            for sub in a.graphs:
                _rename_input(sub, old, new)
    for vi in graph.input:
        if vi.name == old:
            vi.name = new


def share_vjp_names(forward, vjp, prefix=VJP_PREFIX):
    """Renames the VJP graph's initializers to the forward graph's names (VJP(net) prefixes them
    with `prefix`) wherever the forward graph has an initializer of that name; raises unless the two
    arrays are identical. Returns the number renamed. Modifies `vjp` in place."""
    from onnx import numpy_helper
    fwd = {i.name: i for i in forward.graph.initializer}
    renamed = 0
    for init in vjp.graph.initializer:
        if not init.name.startswith(prefix) or init.name[len(prefix):] not in fwd:
            continue
        name = init.name[len(prefix):]
        a = numpy_helper.to_array(init)
        b = numpy_helper.to_array(fwd[name])
        if a.dtype != b.dtype or a.shape != b.shape or a.tobytes() != b.tobytes():
            raise RuntimeError(f"VJP initializer {init.name} differs from the forward graph's {name}")
        _rename_input(vjp.graph, init.name, name)
        init.name = name
        renamed += 1
    return renamed


def externalize(models, location, data_path, min_bytes=EXTERNAL_MIN_BYTES, align=EXTERNAL_ALIGN):
    """Moves the initializers of `models` (ModelProtos, modified in place) of at least `min_bytes`
    to one file, `location` (relative to the graphs' folder), written to `data_path`. A name that
    several graphs use is stored once; its arrays must be byte-identical. Deterministic: tensors in
    the order they first appear. Returns {name: (offset, length)}."""
    from onnx import numpy_helper
    index, blobs, size = {}, [], 0
    for model in models:
        for init in model.graph.initializer:
            if init.data_location == onnx_tensor_external():
                raise RuntimeError(f"{init.name} already refers to external data")
            arr = numpy_helper.to_array(init)
            data = arr.astype(arr.dtype.newbyteorder("<"), copy=False).tobytes()
            if len(data) < min_bytes:
                continue
            if init.name in index:
                off, n = index[init.name]
                if blobs_bytes(blobs, off, n) != data:
                    raise RuntimeError(f"two graphs hold different arrays named {init.name}")
            else:
                pad = (-size) % align
                if pad:
                    blobs.append((size, b"\0" * pad))
                    size += pad
                index[init.name] = (size, len(data))
                blobs.append((size, data))
                size += len(data)
            off, n = index[init.name]
            for field in ("raw_data", "float_data", "int32_data", "int64_data", "double_data", "uint64_data", "string_data"):
                init.ClearField(field)
            del init.external_data[:]
            for key, value in (("location", location), ("offset", str(off)), ("length", str(n))):
                entry = init.external_data.add()
                entry.key, entry.value = key, value
            init.data_location = onnx_tensor_external()
    with open(data_path, "wb") as f:
        for _, b in blobs:
            f.write(b)
    return index


def onnx_tensor_external():
    from onnx import TensorProto
    return TensorProto.EXTERNAL


def blobs_bytes(blobs, off, n):
    for start, b in blobs:
        if start == off:
            return b[:n]
    raise KeyError(off)


def external_locations(path):
    """The external data files a graph refers to (without loading them)."""
    import onnx
    m = onnx.load(path, load_external_data=False)
    locs = set()
    for init in m.graph.initializer:
        if init.data_location == onnx_tensor_external():
            locs.update(e.value for e in init.external_data if e.key == "location")
    return sorted(locs)


def _save_graph(model, path):
    """Writes a graph whose external data is already on disk (onnx.save would try to write it)."""
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(model.SerializeToString())
    os.replace(tmp, path)


def share_weights(out_dir, fp16=True):
    """Post-processing of an exported folder (eps.onnx and eps_vjp.onnx with embedded weights, as
    export_model writes them): both graphs of one precision refer to ONE external weights file,
    weights.bin (float32); with `fp16`, model-training/fp16.py's float16 graphs eps.fp16.onnx and
    eps_vjp.fp16.onnx refer to weights.fp16.bin. The VJP graph's initializers are renamed to the
    forward graph's (identical arrays, checked). The manifest gets each graph's externalData and
    the fp16 variant (docs/MODEL_CONTRACT.md). Deterministic. Returns the manifest."""
    import onnx
    import fp16 as fp16mod
    fwd_file, vjp_file, _ = PRECISIONS["fp32"]
    fwd = onnx.load(os.path.join(out_dir, fwd_file))
    has_vjp = os.path.exists(os.path.join(out_dir, vjp_file))
    vjp = onnx.load(os.path.join(out_dir, vjp_file)) if has_vjp else None
    sets = {"fp32": (fwd, vjp)}
    if fp16:
        # converted from the float32 graphs while their weights are still embedded
        sets["fp16"] = (fp16mod.convert(fwd), fp16mod.convert(vjp) if has_vjp else None)
    specs = {}
    for precision, (f, v) in sets.items():
        names = PRECISIONS[precision]
        graphs = [f] + ([v] if v is not None else [])
        if v is not None:
            share_vjp_names(f, v)
        externalize(graphs, names[2], os.path.join(out_dir, names[2]))
        _save_graph(f, os.path.join(out_dir, names[0]))
        if v is not None:
            _save_graph(v, os.path.join(out_dir, names[1]))
        for k, model in enumerate(graphs):
            path = os.path.join(out_dir, names[k])
            onnx.checker.check_model(path)  # by path: the checker resolves the external data
            check_symbolic(path)
            if external_locations(path) != [names[2]]:
                raise RuntimeError(f"{path} refers to {external_locations(path)}, not {names[2]}")
        specs[precision] = graph_specs(out_dir, names[0], names[1] if v is not None else None, names[2])
    with open(os.path.join(out_dir, "manifest.json")) as fh:
        manifest = json.load(fh)
    manifest["graphs"] = specs["fp32"]
    if fp16:
        manifest["variants"] = {"fp16": specs["fp16"]}
    with open(os.path.join(out_dir, "manifest.json"), "w") as fh:
        json.dump(manifest, fh, indent=2)
        fh.write("\n")
    return manifest


def graph_specs(out_dir, fwd_file, vjp_file, weights_file):
    data = [{"file": weights_file, "sha256": sha256(os.path.join(out_dir, weights_file))}]
    specs = {"forward": {"file": fwd_file, "sha256": sha256(os.path.join(out_dir, fwd_file)),
                         "inputs": {"x": "x", "t": "t"}, "output": "eps", "externalData": data}}
    if vjp_file:
        specs["vjp"] = {"file": vjp_file, "sha256": sha256(os.path.join(out_dir, vjp_file)),
                        "inputs": {"x": "x", "t": "t", "v": "v"}, "output": "vjp", "externalData": data}
    return specs


def check_fp16_graphs(out_dir, sizes=None, ts=(2.5, 100.0, 500.0, 999.0), tol=3e-3, seed=2):
    """Runs the fp16 variant and the fp32 graphs of out_dir under onnxruntime-node (CPU) on the
    same inputs (x ~ N(0, 1), v ~ N(0, 1)) and returns {(h, w, t): (err_eps, err_vjp)}, relative
    differences; raises above `tol`."""
    if sizes is None:
        with open(os.path.join(out_dir, "manifest.json")) as fh:
            k = json.load(fh)["sizeMultiple"]
        side = -(-64 // k) * k
        sizes = ((side, side),)
    f32, f16 = PRECISIONS["fp32"], PRECISIONS["fp16"]
    has_vjp = os.path.exists(os.path.join(out_dir, f16[1]))
    rng = np.random.default_rng(seed)
    jobs, keys = [], []
    for (h, w) in sizes:
        for t in ts:
            x = rng.standard_normal((1, 3, h, w)).astype(np.float32)
            v = rng.standard_normal((1, 3, h, w)).astype(np.float32)
            tt = np.array([t], dtype=np.float32)
            keys.append((h, w, t))
            for names in (f32, f16):
                jobs.append((os.path.join(out_dir, names[0]), {"x": x, "t": tt}, ["eps"]))
                if has_vjp:
                    jobs.append((os.path.join(out_dir, names[1]), {"x": x, "t": tt, "v": v}, ["vjp"]))
    outs = run_onnx(jobs)
    per = 4 if has_vjp else 2
    res = {}
    for k, key in enumerate(keys):
        o = outs[k * per:(k + 1) * per]
        if has_vjp:
            res[key] = (rel_err(o[2]["eps"], o[0]["eps"]), rel_err(o[3]["vjp"], o[1]["vjp"]))
        else:
            res[key] = (rel_err(o[1]["eps"], o[0]["eps"]), None)
        if max(e for e in res[key] if e is not None) > tol:
            raise RuntimeError(f"{out_dir}: fp16 graphs differ from fp32 at {key}: {res[key]}")
    return res


# ----------------------------------------------------------------------------------------------
# onnxruntime-node from Python


def run_onnx(jobs, threads=1):
    """Runs ONNX graphs under onnxruntime-node. jobs: list of (model_path, {name: array}, [output names]).
    Returns a list of {output name: float32 array}."""
    with tempfile.TemporaryDirectory() as tmp:
        spec = {"threads": threads, "jobs": []}
        for j, (model, feeds, outs) in enumerate(jobs):
            inputs = {}
            for name, arr in feeds.items():
                arr = np.ascontiguousarray(np.asarray(arr, dtype="<f4"))
                f = os.path.join(tmp, f"in{j}_{name}.f32")
                arr.tofile(f)
                inputs[name] = {"file": f, "dims": list(arr.shape)}
            spec["jobs"].append({"model": os.path.abspath(model), "inputs": inputs,
                                 "outputs": {o: os.path.join(tmp, f"out{j}_{o}.f32") for o in outs}})
        with open(os.path.join(tmp, "spec.json"), "w") as f:
            json.dump(spec, f)
        res = subprocess.run(["node", RUN_ONNX, os.path.join(tmp, "spec.json")], capture_output=True,
                             text=True, cwd=ROOT)
        if res.returncode != 0:
            raise RuntimeError(f"run_onnx.mjs failed:\n{res.stderr}")
        out = json.loads(res.stdout.strip().splitlines()[-1])
        return [{name: np.fromfile(o["file"], dtype="<f4").reshape(o["dims"])
                 for name, o in job["outputs"].items()} for job in out["jobs"]]


def rel_err(a, b):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-30))


def check_sizes(stride):
    """Two test sizes for a network of this stride: 64x64 and 40x72 (a non-square size) where the
    stride divides them, else 4 and 3 x 5 strides."""
    if all(v % stride == 0 for v in (64, 40, 72)):
        return ((64, 64), (40, 72))
    return ((4 * stride, 4 * stride), (3 * stride, 5 * stride))


def check_unet_graphs(net, out_dir, sizes=None, ts=(3.5, 480.0), tol=1e-4, vjp=True, batch=1):
    """Runs out_dir's graphs under onnxruntime-node at `sizes` (default: check_sizes) and compares
    with PyTorch: eps with net(x, t) and the VJP with torch.autograd (both in float64). With batch > 1
    the batch's timesteps are t, t + 97, ... Returns {(h, w, t): (err_eps, err_vjp)}."""
    if sizes is None:
        sizes = check_sizes(net.stride)
    net64 = UNet(**net.config).double()
    net64.load_state_dict(net.state_dict())
    g = torch.Generator().manual_seed(1)
    jobs, refs = [], []
    for (h, w) in sizes:
        for t in ts:
            x = torch.randn(batch, net.config["in_ch"], h, w, generator=g, dtype=torch.float64)
            v = torch.randn(x.shape, generator=g, dtype=torch.float64)
            tt = torch.tensor([min(t + 97.0 * i, schedule.T - 1) for i in range(batch)], dtype=torch.float64)
            xr = x.float().double().requires_grad_(True)  # the inputs the graphs see (float32)
            vr = v.float().double()
            eps = net64(xr, tt.float().double())
            (gx,) = torch.autograd.grad(eps, xr, vr)
            refs.append(((h, w, t), eps.detach().numpy(), gx.numpy()))
            jobs.append((os.path.join(out_dir, "eps.onnx"), {"x": x.numpy(), "t": tt.numpy()}, ["eps"]))
            if vjp:
                jobs.append((os.path.join(out_dir, "eps_vjp.onnx"),
                             {"x": x.numpy(), "t": tt.numpy(), "v": v.numpy()}, ["vjp"]))
    outs = run_onnx(jobs)
    res = {}
    k = 0
    for key, eps, gx in refs:
        e1 = rel_err(outs[k]["eps"], eps)
        k += 1
        e2 = None
        if vjp:
            e2 = rel_err(outs[k]["vjp"], gx)
            k += 1
        res[key] = (e1, e2)
        if e1 > tol or (e2 is not None and e2 > tol):
            raise RuntimeError(f"{out_dir}: graph differs from PyTorch at {key}: eps {e1:.2e}, vjp {e2}")
    return res


# ----------------------------------------------------------------------------------------------
# provenance: training packages and their licences


def read_train_list(path):
    rows = []
    with open(path) as f:
        header = f.readline().rstrip("\n").split("\t")
        if header[:2] != ["package", "path"]:
            raise SystemExit(f"{path}: expected a header 'package<TAB>path<TAB>size<TAB>sha256'")
        for line in f:
            if line.strip():
                pkg, p, _size, _digest = line.rstrip("\n").split("\t")
                rows.append((pkg, p))
    return rows


def package_copyright(pkg, cache):
    """(copyright text, version, where from): the installed /usr/share/doc/<pkg>/copyright when the
    package is installed, else the one inside the cached (or freshly downloaded) .deb."""
    installed = subprocess.run(["dpkg-query", "-W", "-f", "${Status} ${Version}", pkg], capture_output=True, text=True)
    doc = f"/usr/share/doc/{pkg}/copyright"
    if installed.returncode == 0 and installed.stdout.startswith("install ok installed") and os.path.exists(doc):
        with open(doc, encoding="utf-8", errors="replace") as f:
            return f.read(), installed.stdout.split()[-1], doc
    debs = sorted(glob.glob(os.path.join(cache, pkg + "_*.deb")))
    tmpdir = None
    if not debs:
        tmpdir = tempfile.mkdtemp()
        subprocess.run(["apt-get", "download", "-q", pkg], cwd=tmpdir, check=True, capture_output=True)
        debs = sorted(glob.glob(os.path.join(tmpdir, pkg + "_*.deb")))
    try:
        deb = debs[-1]
        version = subprocess.run(["dpkg-deb", "-f", deb, "Version"], capture_output=True, text=True,
                                 check=True).stdout.strip()
        deb_proc = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", deb], stdout=subprocess.PIPE,
                                    stderr=subprocess.DEVNULL)  # broken pipe once tar has the file
        tar = subprocess.run(["tar", "-xO", "--occurrence=1", f"./usr/share/doc/{pkg}/copyright"], stdin=deb_proc.stdout,
                             capture_output=True)
        deb_proc.stdout.close()
        deb_proc.wait()
        if tar.returncode != 0:
            raise RuntimeError(f"{deb}: no usr/share/doc/{pkg}/copyright: {tar.stderr.decode()}")
        text = tar.stdout.decode("utf-8", errors="replace")
        return text, version, os.path.basename(deb)
    finally:
        if tmpdir:
            shutil.rmtree(tmpdir, ignore_errors=True)


def parse_dep5(text):
    """[(file patterns, licence short name)] of a machine-readable debian/copyright, in order."""
    paras = []
    for block in re.split(r"\n\s*\n", text):
        fields, key = {}, None
        for line in block.splitlines():
            if line.startswith("#"):
                continue
            if line[:1] in (" ", "\t") and key:
                fields[key] += "\n" + line.strip()
            elif ":" in line:
                key, val = line.split(":", 1)
                key = key.strip().lower()
                fields[key] = val.strip()
        if "files" in fields and "license" in fields:
            paras.append((fields["files"].split(), fields["license"].split("\n")[0].strip()))
    return paras


def _literal_chars(pattern):
    return len(re.sub(r"[*?]", "", pattern))


def dep5_licence(paras, install_path):
    """The licence of an installed file. DEP-5 patterns name paths in the SOURCE tree, which differ
    from install paths, so a pattern counts when it, or its tail after dropping leading directories,
    matches a tail of the install path; among those, the most specific (most literal characters)
    wins, and the later paragraph on a tie (DEP-5's rule). A pattern's tail must keep a literal
    character ('debian/*' must not shrink to '*'); only a whole pattern may be all wildcards."""
    parts = install_path.strip("/").split("/")
    tails = ["/".join(parts[i:]) for i in range(len(parts))]
    best, best_score = None, -1
    for patterns, lic in paras:
        for pat in patterns:
            pparts = pat.strip("/").split("/")
            for j in range(len(pparts)):
                sub = "/".join(pparts[j:])
                if j > 0 and _literal_chars(sub) == 0:
                    break
                if any(fnmatch.fnmatchcase(tail, sub) for tail in tails):
                    score = _literal_chars(sub)
                    if score >= best_score:
                        best, best_score = lic, score
                    break
    return best


def freeform_licence(text):
    """A package-wide licence from a copyright file that is not machine-readable (first statement)."""
    t = " ".join(text.split())
    m = re.search(r"GNU (Library |Lesser )?General Public License[^.]*?version (\d(?:\.\d)?)", t)
    if m:
        kind = "LGPL" if m.group(1) else "GPL"
        ver = m.group(2)
        later = "any later version" in t[m.end():m.end() + 200]
        return f"{kind}-{ver}{'+' if later else ''}"
    return "see copyright"


def spdxish(lic):
    lic = re.sub(r"\s+or\s+", " OR ", lic, flags=re.I)
    lic = re.sub(r"\s+and\s+", " AND ", lic, flags=re.I)
    return "GPL" + lic[3:] if lic.lower().startswith("gpl") else lic


def training_packages(train_list, cache):
    """One entry per package of the training list: name, version, files used, licence summary (the
    distinct licences of the used files, joined with ' AND '), and how the licence was read."""
    rows = read_train_list(train_list)
    by_pkg = {}
    for pkg, path in rows:
        by_pkg.setdefault(pkg, []).append(path)
    out = []
    for pkg in sorted(by_pkg):
        text, version, source = package_copyright(pkg, cache)
        paras = parse_dep5(text) if re.search(r"^Format:\s*\S*copyright-format", text, re.M) else []
        if paras:
            lics = [dep5_licence(paras, p) or "unknown" for p in by_pkg[pkg]]
            how = "per file, machine-readable debian/copyright"
        else:
            lics = [freeform_licence(text)] * len(by_pkg[pkg])
            how = "package-wide, free-form debian/copyright"
        distinct = []
        for lic in lics:
            lic = spdxish(lic)
            if lic not in distinct:
                distinct.append(lic)
        out.append({"name": pkg, "version": version, "files": len(by_pkg[pkg]),
                    "license": " AND ".join(f"({d})" if " OR " in d else d for d in distinct),
                    "licenseSource": f"{how} ({source})"})
    return out


# ----------------------------------------------------------------------------------------------


def repo_path(path):
    """A path relative to the repository when inside it, else absolute."""
    rel = os.path.relpath(os.path.abspath(path), ROOT)
    return os.path.abspath(path) if rel.startswith("..") else rel


def load_ema(checkpoint):
    ckpt = torch.load(checkpoint, map_location="cpu", weights_only=False)
    net = UNet(**ckpt["config"])
    net.load_state_dict(ckpt["ema"])
    return net.float().eval(), ckpt


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", default="model-training/checkpoint/latest.pt")
    ap.add_argument("--out", default="resources/models/default")
    ap.add_argument("--name", default="default")
    ap.add_argument("--train-list", default=os.path.join(ROOT, "datasets", "train-files.tsv"))
    ap.add_argument("--cache", default=os.path.join(ROOT, ".cache", "debs"), help="where fetch_data.py left the .debs")
    ap.add_argument("--train-command", default=DEFAULT_TRAIN_COMMAND, help="recorded in the provenance")
    ap.add_argument("--no-check", action="store_true", help="skip the onnxruntime-node check at two sizes")
    ap.add_argument("--no-fp16", action="store_true", help="no float16 variant (model-training/fp16.py)")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    net, ckpt = load_ema(args.checkpoint)
    packages = training_packages(args.train_list, args.cache)
    n_photos = sum(p["files"] for p in packages)
    provenance = {
        "trainedOn": (f"{n_photos} photos from {len(packages)} Debian 12 packages, listed with sha256 in "
                      f"train-files.tsv and fetched by model-training/fetch_data.py; random crops (model-training/photos.py)"),
        "samplesSeen": int(ckpt.get("samples", 0)),
        "step": int(ckpt.get("step", 0)),
        "weights": "EMA",
        "config": ckpt["config"],
        "trainingCommand": args.train_command,
        # train.py records each segment's command line in checkpoints since issue 12
        **({"trainingCommands": ckpt["commands"]} if ckpt.get("commands") else {}),
        **({"initialisedFrom": ckpt["init_from"]} if ckpt.get("init_from") else {}),
        # Segments ran on different machines (CPU threads, a lent GPU with model-training/train-gpu.sh): the
        # log records each one's command, hardware, batch size and losses.
        "trainingLog": "docs/training/train-log.txt",
        "exportCommand": f"/usr/bin/python3 model-training/export.py --checkpoint {repo_path(args.checkpoint)} "
                         f"--out {repo_path(args.out)}",
        "packages": packages,
    }
    n_params = sum(p.numel() for p in net.parameters())
    # Everything is written to a staging folder beside --out and moved in only once it has passed
    # its checks (a failed export leaves the old model; new files, not rewritten ones, also break
    # any hard links into a packaged copy).
    out = os.path.abspath(args.out)
    stage = out.rstrip("/") + ".export-tmp"
    shutil.rmtree(stage, ignore_errors=True)
    try:
        manifest = export_model(net, stage, provenance, name=args.name,
                                description=(f"Default photo prior: {n_params / 1e6:.2f}M-parameter UNet, "
                                             f"eps-prediction, trained on {ckpt.get('samples', 0)} "
                                             + ("crops (trainingCommands give their sizes)" if ckpt.get("commands")
                                                else "64x64 crops")))
        print(f"exported: {n_params} parameters, step {provenance['step']}, {provenance['samplesSeen']} samples")
        for p in packages:
            print(f"  {p['name']:30s} {p['files']:3d} files  {p['license']}")
        if not args.no_check:
            res = check_unet_graphs(net, stage)
            for (h, w, t), (e1, e2) in res.items():
                print(f"  onnxruntime-node vs PyTorch at {h}x{w}, t={t}: eps rel err {e1:.2e}, vjp rel err {e2:.2e}")
        manifest = share_weights(stage, fp16=not args.no_fp16)
        if not args.no_check:
            # again on the final files: the float32 graphs now read weights.bin
            res = check_unet_graphs(net, stage)
            worst = max(max(r) for r in res.values())
            print(f"  with shared weights.bin: onnxruntime-node vs PyTorch, largest rel err {worst:.2e}")
            if not args.no_fp16:
                for (h, w, t), (e1, e2) in check_fp16_graphs(stage).items():
                    print(f"  fp16 vs fp32 graphs (onnxruntime-node CPU) at {h}x{w}, t={t}: "
                          f"eps rel diff {e1:.2e}, vjp rel diff {e2:.2e}")
        os.makedirs(out, exist_ok=True)
        for f in os.listdir(out):
            if f == "manifest.json" or f.endswith((".onnx", ".bin")):
                os.unlink(os.path.join(out, f))
        for f in sorted(os.listdir(stage)):
            os.replace(os.path.join(stage, f), os.path.join(out, f))
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    files = sorted(os.listdir(out))
    total = sum(os.path.getsize(os.path.join(out, f)) for f in files)
    print(f"wrote {args.out}: " + ", ".join(f"{f} {os.path.getsize(os.path.join(out, f)) / 1e6:.2f} MB" for f in files)
          + f"; {total / 1e6:.2f} MB in all")


if __name__ == "__main__":
    main()
