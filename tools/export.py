#!/usr/bin/python3
"""Export a trained UNet (tools/unet.py) as a model folder of docs/MODEL_CONTRACT.md.

    /usr/bin/python3 tools/export.py --checkpoint tools/checkpoint/latest.pt --out resources/models/default

Loads the checkpoint's EMA weights, writes eps.onnx (x, t -> eps) and eps_vjp.onnx (x, t, v -> vjp,
through unet.VJP's hand-written adjoint), both opset 17 with dynamic N, H, W, then manifest.json with
each file's sha256 and the provenance: samples seen, step, the training command, and every training
package with its licence (read from the package's debian/copyright).

Unless --no-check is given, both graphs are then run under onnxruntime-node
(tests/python/run_onnx.mjs) at two sizes and compared with PyTorch, which also proves that the
graphs carry no baked spatial shape. The export is deterministic: the same weights give
byte-identical files.

`export_model(net, out_dir, provenance, ...)` and `write_manifest(...)` are reused by
tools/make_test_models.py.
"""
import argparse
import fnmatch
import glob
import hashlib
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
from unet import VJP, UNet  # noqa: E402

OPSET = 17
RUN_ONNX = os.path.join(ROOT, "tests", "python", "run_onnx.mjs")
DEFAULT_TRAIN_COMMAND = ("/usr/bin/python3 tools/train.py --data data/train "
                         "--checkpoint tools/checkpoint/latest.pt --samples 1000000")
SCHEDULE = {"type": "vp-linear", "betaStart": schedule.BETA_START, "betaEnd": schedule.BETA_END,
            "timesteps": schedule.T}


# ----------------------------------------------------------------------------------------------
# manifest


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


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
    """Exports `net` (a tools/unet.py UNet, evaluated in float32) to out_dir: eps.onnx, eps_vjp.onnx
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


def check_unet_graphs(net, out_dir, sizes=((64, 64), (40, 72)), ts=(3.5, 480.0), tol=1e-4, vjp=True, batch=1):
    """Runs out_dir's graphs under onnxruntime-node at `sizes` and compares with PyTorch: eps with
    net(x, t) and the VJP with torch.autograd (both in float64). With batch > 1 the batch's
    timesteps are t, t + 97, ... Returns {(h, w, t): (err_eps, err_vjp)}."""
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
    ckpt = torch.load(checkpoint, map_location="cpu")
    net = UNet(**ckpt["config"])
    net.load_state_dict(ckpt["ema"])
    return net.float().eval(), ckpt


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", default="tools/checkpoint/latest.pt")
    ap.add_argument("--out", default="resources/models/default")
    ap.add_argument("--name", default="default")
    ap.add_argument("--train-list", default=os.path.join(ROOT, "..", "shared", "data", "train-files.tsv"))
    ap.add_argument("--cache", default=os.path.join(ROOT, ".cache", "debs"), help="where fetch_data.py left the .debs")
    ap.add_argument("--train-command", default=DEFAULT_TRAIN_COMMAND, help="recorded in the provenance")
    ap.add_argument("--no-check", action="store_true", help="skip the onnxruntime-node check at two sizes")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    net, ckpt = load_ema(args.checkpoint)
    packages = training_packages(args.train_list, args.cache)
    n_photos = sum(p["files"] for p in packages)
    provenance = {
        "trainedOn": (f"{n_photos} photos from {len(packages)} Debian 12 packages, listed with sha256 in "
                      f"train-files.tsv and fetched by tools/fetch_data.py; random crops (tools/photos.py)"),
        "samplesSeen": int(ckpt.get("samples", 0)),
        "step": int(ckpt.get("step", 0)),
        "weights": "EMA",
        "config": ckpt["config"],
        "trainingCommand": args.train_command,
        "exportCommand": f"/usr/bin/python3 tools/export.py --checkpoint {repo_path(args.checkpoint)} "
                         f"--out {repo_path(args.out)}",
        "packages": packages,
    }
    n_params = sum(p.numel() for p in net.parameters())
    manifest = export_model(net, args.out, provenance, name=args.name,
                            description=(f"Default photo prior: {n_params / 1e6:.2f}M-parameter UNet, "
                                         f"eps-prediction, trained on {ckpt.get('samples', 0)} 64x64 crops"))
    print(f"wrote {args.out}: eps.onnx {manifest['graphs']['forward']['sha256'][:12]}, "
          f"eps_vjp.onnx {manifest['graphs']['vjp']['sha256'][:12]}, {n_params} parameters, "
          f"step {provenance['step']}, {provenance['samplesSeen']} samples")
    for p in packages:
        print(f"  {p['name']:30s} {p['files']:3d} files  {p['license']}")
    if not args.no_check:
        res = check_unet_graphs(net, args.out)
        for (h, w, t), (e1, e2) in res.items():
            print(f"  onnxruntime-node vs PyTorch at {h}x{w}, t={t}: eps rel err {e1:.2e}, vjp rel err {e2:.2e}")


if __name__ == "__main__":
    main()
