#!/usr/bin/python3
"""Write the exact test priors and a tiny random UNet as model folders of docs/MODEL_CONTRACT.md.

    /usr/bin/python3 model-training/make_test_models.py --out tests/.models

Folders written under --out (each: manifest.json with sha256, eps.onnx, and eps_vjp.onnx unless
said otherwise; the exact priors also get prior.json):

- gaussian/     exact Gaussian prior on 3x8x8 images (d = 192), fixedSize [8, 8].
- gaussian-fwd/ the same prior as a forward-only model (no VJP graph).
- gmm/          two-component Gaussian mixture with diagonal covariances on 1x1x2 "images".
- gmm3/         the same kind of mixture on 3x4x4 images (d = 48), for tests with real operators.
- tiny/         UNet(channels=(8, 16), blocks=1, mid=1, emb_dim=16), seeded random weights (the
                zero-initialised layers re-randomised so the output is not trivial), exported with
                model-training/export.py's export_model; any size that is a multiple of 2.
- tiny-shared/  the same network laid out as the bundled model is (model-training/export.py's share_weights):
                both graphs read weights.bin (external data), and an fp16 variant (eps.fp16.onnx,
                eps_vjp.fp16.onnx, weights.fp16.bin).
- tiny-context/ the next model's layout (issue 12, unet.py CONFIGS["v2"]) at tiny widths:
                UNet(channels=(8, 12, 16), context=(16,), emb_dim=16), three levels and a context
                branch below them (stride 8), seeded random weights, shared weights and fp16 as
                tiny-shared.

prior.json describes the prior in IMAGE space [0, 1], row-major over the C, H, W flattening:
  {"type": "gaussian", "shape": [C, H, W], "mean": [d], "cov": [[d] x d]}
  {"type": "gmm", "shape": [C, H, W], "weights": [K], "means": [[d] x K], "vars": [[d] x K]}
The graphs work in model space [-1, 1]: x0m = 2 x0 - 1, so mu_m = 2 mu - 1, Sigma_m = 4 Sigma.

Each prior graph computes abar(t) exactly as model-training/schedule.py does (the log-abar table as an
initializer; clip, floor, gather, linear interpolation of log abar, exp), then, with
s2 = (1 - abar) / abar and z = x / sqrt(abar), the exact eps = (z - D(z)) / sqrt(s2) of the prior's
MMSE denoiser D and the exact VJP (d eps / d x)^T v = (v - J^T v) / (sqrt(s2) sqrt(abar)). The graphs
use algebraically equal forms that avoid cancellation in float32 (see gaussian_graph, gmm_graph).

Unless --no-verify is given, every graph is then run under onnxruntime-node
(tests/python/run_onnx.mjs) and compared with a direct float64 evaluation of the formulas from
prior.json (eps) and with torch.autograd of that evaluation (VJP). Deterministic: the same files
every run. Writes DIR/DONE last.
"""
import argparse
import json
import os
import shutil
import sys

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import schedule  # noqa: E402
from export import (export_model, rel_err, run_onnx, write_manifest, check_unet_graphs,  # noqa: E402
                    check_fp16_graphs, share_weights)
from unet import UNet  # noqa: E402

OPSET = 17
# Version stamp of the generated files; bump when their content changes on purpose.
GENERATOR_VERSION = 4


# ----------------------------------------------------------------------------------------------
# priors (image space, float64)


def smooth_image(rng, shape, amplitude, n_freq=3):
    """A smooth random image: a few low-frequency cosines per channel."""
    c, h, w = shape
    yy, xx = np.meshgrid(np.arange(h) / h, np.arange(w) / w, indexing="ij")
    img = np.zeros(shape)
    for ch in range(c):
        for _ in range(n_freq):
            fy, fx = rng.integers(0, 2, size=2)
            ph = rng.uniform(0, 2 * np.pi, size=2)
            a = rng.normal() * amplitude / np.sqrt(n_freq)
            img[ch] += a * np.cos(np.pi * fy * yy + ph[0]) * np.cos(np.pi * fx * xx + ph[1])
    return img


def gaussian_prior(seed=1):
    """3x8x8: smooth mean around 0.5; Sigma = U diag(lam) U^T, U random orthogonal, lam log-spaced
    from 1e-3 to 0.05 (image-space variances)."""
    rng = np.random.default_rng(seed)
    shape = (3, 8, 8)
    d = int(np.prod(shape))
    mean = np.clip(0.5 + smooth_image(rng, shape, 0.15), 0.15, 0.85).reshape(-1)
    q, r = np.linalg.qr(rng.normal(size=(d, d)))
    u = q * np.sign(np.diag(r))[None, :]
    lam = np.logspace(np.log10(1e-3), np.log10(0.05), d)
    cov = (u * lam[None, :]) @ u.T
    cov = 0.5 * (cov + cov.T)
    return {"type": "gaussian", "shape": list(shape), "mean": mean, "cov": cov}, u, lam


def gmm_prior_2d():
    """1x1x2: two well separated modes. Observing coordinate 0 = 0.5 with sigma_y = 0.1 gives a
    posterior whose component masses are about 0.55 / 0.45 while the second component's mode is
    the higher one (posterior densities at the two modes about 16.3 vs 21.4, modes at coordinate 0
    about 0.321 and 0.656): the MAP is not in the component with the larger mass."""
    return {"type": "gmm", "shape": [1, 1, 2], "weights": np.array([0.6, 0.4]),
            "means": np.array([[0.25, 0.3], [0.75, 0.7]]),
            "vars": np.array([[0.004, 0.01], [0.006, 0.003]])}


def gmm_prior_3x4x4(seed=3):
    rng = np.random.default_rng(seed)
    shape = (3, 4, 4)
    m1 = np.clip(0.3 + smooth_image(rng, shape, 0.08), 0.05, 0.95).reshape(-1)
    m2 = np.clip(0.7 + smooth_image(rng, shape, 0.08), 0.05, 0.95).reshape(-1)
    v = rng.uniform(0.002, 0.01, size=(2, m1.size))
    return {"type": "gmm", "shape": list(shape), "weights": np.array([0.6, 0.4]),
            "means": np.stack([m1, m2]), "vars": v}


def to_model_space(prior):
    """mu_m = 2 mu - 1 and (co)variances times 4."""
    if prior["type"] == "gaussian":
        return 2 * prior["mean"] - 1, 4 * prior["cov"]
    return 2 * prior["means"] - 1, 4 * prior["vars"]


def prior_json(prior):
    out = {}
    for k, v in prior.items():
        out[k] = v.tolist() if isinstance(v, np.ndarray) else v
    return out


# ----------------------------------------------------------------------------------------------
# ONNX graphs


class Graph:
    """A tiny builder over onnx.helper: fresh names, float32 initializers."""

    def __init__(self):
        self.nodes, self.inits, self.n = [], [], 0

    def const(self, value, name=None, dtype=np.float32):
        name = name or self.fresh("c")
        self.inits.append(numpy_helper.from_array(np.asarray(value, dtype=dtype), name))
        return name

    def fresh(self, base):
        self.n += 1
        return f"{base}_{self.n}"

    def op(self, op_type, *inputs, out=None, **attrs):
        out = out or self.fresh(op_type.lower())
        self.nodes.append(helper.make_node(op_type, list(inputs), [out], name=self.fresh("n_" + op_type), **attrs))
        return out

    def model(self, inputs, outputs, name):
        g = helper.make_graph(self.nodes, name, inputs, outputs, initializer=self.inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="vmlmap make_test_models.py", producer_version=str(GENERATOR_VERSION))
        onnx.checker.check_model(m, full_check=True)
        return m


def schedule_nodes(g, t):
    """From t [N]: (1/sqrt(abar), sqrt(s2), s2), each [N, 1]; abar as in model-training/schedule.py."""
    T = schedule.T
    table = g.const(schedule.log_abar_table().numpy(), "log_abar")
    tc = g.op("Clip", t, g.const(0.0), g.const(float(T - 1)))
    lo = g.op("Min", g.op("Floor", tc), g.const(float(T - 2)))
    w = g.op("Sub", tc, lo)
    idx = g.op("Cast", lo, to=TensorProto.INT64)
    la0 = g.op("Gather", table, idx, axis=0)
    la1 = g.op("Gather", table, g.op("Add", idx, g.const(1, dtype=np.int64)), axis=0)
    la = g.op("Add", g.op("Mul", la0, g.op("Sub", g.const(1.0), w)), g.op("Mul", la1, w))  # log abar [N]
    la = g.op("Unsqueeze", la, g.const([1], dtype=np.int64))  # [N, 1]
    inv_sqrt_abar = g.op("Exp", g.op("Mul", la, g.const(-0.5)))
    # s2 = (1 - abar) / abar = expm1(-log abar), without the cancellation of 1 - abar near t = 0:
    # a Taylor series below u = 0.1 (truncation error < u^7/7! relative), exp(u) - 1 above.
    u = g.op("Neg", la)
    series = g.const(1.0)
    for k in (7, 6, 5, 4, 3, 2):
        series = g.op("Add", g.const(1.0), g.op("Mul", g.op("Div", u, g.const(float(k))), series))
    small = g.op("Mul", u, series)
    large = g.op("Sub", g.op("Exp", u), g.const(1.0))
    s2 = g.op("Where", g.op("Less", u, g.const(0.1)), small, large)
    return inv_sqrt_abar, g.op("Sqrt", s2), s2


def io(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def gaussian_graph(mu_m, u, lam_m, shape, vjp):
    """eps = U diag(s / (lam + s2)) U^T (z - mu)  (= (z - D)/s with D = mu + U diag(lam/(lam+s2)) U^T (z - mu));
    vjp = U diag(s / (lam + s2)) U^T v / sqrt(abar)  (= (v - J v) / (s sqrt(abar)), J symmetric)."""
    g = Graph()
    inv_sqrt_abar, s, s2 = schedule_nodes(g, "t")
    coef = g.op("Div", s, g.op("Add", g.const(lam_m, "lam"), s2))  # [N, d]
    U, UT = g.const(u, "U"), g.const(np.ascontiguousarray(u.T), "UT")
    flat = g.const([0, -1], dtype=np.int64)
    if not vjp:
        z = g.op("Mul", g.op("Reshape", "x", flat), inv_sqrt_abar)
        r = g.op("Sub", z, g.const(mu_m, "mu"))
        e = g.op("MatMul", g.op("Mul", g.op("MatMul", r, U), coef), UT)
        g.op("Reshape", e, g.op("Shape", "x"), out="eps")
        return g.model([io("x", ["N", *shape]), io("t", ["N"])], [io("eps", ["N", *shape])], "gaussian_eps")
    vf = g.op("Reshape", "v", flat)
    e = g.op("MatMul", g.op("Mul", g.op("MatMul", vf, U), coef), UT)
    g.op("Reshape", g.op("Mul", e, inv_sqrt_abar), g.op("Shape", "v"), out="vjp")
    return g.model([io("x", ["N", *shape]), io("t", ["N"]), io("v", ["N", *shape])],
                   [io("vjp", ["N", *shape])], "gaussian_eps_vjp")


def gmm_graph(weights, means_m, vars_m, shape, vjp):
    """Diagonal Gaussian mixture. With den_k = S_k + s2, diff_k = z - mu_k,
    w = softmax_k(log pi_k - 0.5 sum(diff_k^2 / den_k + log den_k)):
      eps = sum_k w_k diff_k s / den_k                     (= (z - D)/s, D = sum_k w_k D_k)
      vjp = [sum_k w_k (s / den_k) v - sum_k w_k (g_k - gbar)(D_k . v) / s] / sqrt(abar)
    with D_k = mu_k + S_k / den_k diff_k, g_k = -diff_k / den_k, gbar = sum_k w_k g_k
    (= (v - J^T v)/(s sqrt(abar)), J^T v = sum_k w_k J_k v + sum_k w_k (g_k - gbar)(D_k . v))."""
    g = Graph()
    inv_sqrt_abar, s, s2 = schedule_nodes(g, "t")
    ax1, ax2 = g.const([1], dtype=np.int64), g.const([2], dtype=np.int64)
    z = g.op("Mul", g.op("Reshape", "x", g.const([0, -1], dtype=np.int64)), inv_sqrt_abar)  # [N, d]
    z3 = g.op("Unsqueeze", z, ax1)  # [N, 1, d]
    mu = g.const(means_m, "mu")  # [K, d]
    S = g.const(vars_m, "S")  # [K, d]
    diff = g.op("Sub", z3, mu)  # [N, K, d]
    den = g.op("Add", S, g.op("Unsqueeze", s2, ax2))  # [N, K, d]
    quad = g.op("ReduceSum", g.op("Add", g.op("Div", g.op("Mul", diff, diff), den), g.op("Log", den)), ax2,
                keepdims=0)  # [N, K]
    logits = g.op("Sub", g.const(np.log(weights), "log_pi"), g.op("Mul", quad, g.const(0.5)))
    w = g.op("Unsqueeze", g.op("Softmax", logits, axis=1), ax2)  # [N, K, 1]
    s3 = g.op("Unsqueeze", s, ax2)  # [N, 1, 1]
    s_over_den = g.op("Div", s3, den)  # [N, K, d]
    if not vjp:
        e = g.op("ReduceSum", g.op("Mul", w, g.op("Mul", diff, s_over_den)), ax1, keepdims=0)
        g.op("Reshape", e, g.op("Shape", "x"), out="eps")
        return g.model([io("x", ["N", *shape]), io("t", ["N"])], [io("eps", ["N", *shape])], "gmm_eps")
    v = g.op("Reshape", "v", g.const([0, -1], dtype=np.int64))
    v3 = g.op("Unsqueeze", v, ax1)  # [N, 1, d]
    first = g.op("Mul", g.op("ReduceSum", g.op("Mul", w, s_over_den), ax1, keepdims=0), v)  # [N, d]
    gk = g.op("Neg", g.op("Div", diff, den))  # [N, K, d]
    gbar = g.op("ReduceSum", g.op("Mul", w, gk), ax1, keepdims=1)  # [N, 1, d]
    Dk = g.op("Add", mu, g.op("Mul", g.op("Div", S, den), diff))  # [N, K, d]
    Dv = g.op("ReduceSum", g.op("Mul", Dk, v3), ax2, keepdims=1)  # [N, K, 1]
    second = g.op("ReduceSum", g.op("Mul", g.op("Mul", w, g.op("Sub", gk, gbar)), Dv), ax1, keepdims=0)  # [N, d]
    out = g.op("Sub", first, g.op("Div", second, g.op("Squeeze", s3, ax2)))
    g.op("Reshape", g.op("Mul", out, inv_sqrt_abar), g.op("Shape", "v"), out="vjp")
    return g.model([io("x", ["N", *shape]), io("t", ["N"]), io("v", ["N", *shape])],
                   [io("vjp", ["N", *shape])], "gmm_eps_vjp")


# ----------------------------------------------------------------------------------------------
# float64 references (straight from prior.json and model-training/schedule.py)


def reference_eps(prior, x, t):
    """eps(x, t) of the exact prior, float64 torch, differentiable in x. x: [N, C, H, W], t: [N]."""
    mu_m, cov_m = (torch.as_tensor(a, dtype=torch.float64) for a in to_model_space(
        {k: np.asarray(v) if isinstance(v, list) else v for k, v in prior.items()}))
    n = x.shape[0]
    a = schedule.abar(t).double()[:, None]  # [N, 1]
    s2 = (1 - a) / a
    z = x.reshape(n, -1) / a.sqrt()
    if prior["type"] == "gaussian":
        eye = torch.eye(z.shape[1], dtype=torch.float64)
        D = torch.stack([mu_m + cov_m @ torch.linalg.solve(cov_m + s2[i] * eye, z[i] - mu_m) for i in range(n)])
    else:
        wts = torch.as_tensor(np.asarray(prior["weights"]), dtype=torch.float64)
        den = cov_m[None] + s2[:, :, None]  # [N, K, d]
        diff = z[:, None, :] - mu_m[None]
        logits = wts.log()[None] - 0.5 * ((diff ** 2) / den + den.log()).sum(-1)
        w = torch.softmax(logits, dim=1)
        Dk = mu_m[None] + cov_m[None] / den * diff
        D = (w[:, :, None] * Dk).sum(1)
    return ((z - D) / s2.sqrt()).reshape(x.shape)


def sample_inputs(prior, n_cases, seed):
    """Realistic graph inputs x = sqrt(abar) (x0m + sigma noise) at a spread of t, x0 from the prior."""
    rng = np.random.default_rng(seed)
    shape = tuple(prior["shape"])
    d = int(np.prod(shape))
    mu_m, cov_m = to_model_space(prior)
    ts = [0.0, 0.37, 3.0, 20.5, 100.0, 250.0, 480.25, 700.0, 999.0][:n_cases]
    cases = []
    for t in ts:
        if prior["type"] == "gaussian":
            x0 = mu_m + np.linalg.cholesky(cov_m) @ rng.normal(size=d)
        else:
            k = rng.choice(len(prior["weights"]), p=prior["weights"])
            x0 = mu_m[k] + np.sqrt(cov_m[k]) * rng.normal(size=d)
        a = float(schedule.abar(torch.tensor([t], dtype=torch.float32)))
        x = np.sqrt(a) * (x0 + np.sqrt((1 - a) / a) * rng.normal(size=d))
        cases.append((x.reshape(1, *shape).astype(np.float32), np.array([t], np.float32),
                      rng.normal(size=(1, *shape)).astype(np.float32)))
    # one batched case (N = 2) to exercise the dynamic batch axis
    x2 = np.concatenate([cases[2][0], cases[5][0]])
    cases.append((x2, np.array([cases[2][1][0], cases[5][1][0]], np.float32),
                  np.concatenate([cases[2][2], cases[5][2]])))
    return cases


def verify_prior_model(folder, tol=1e-4):
    """Runs folder's graphs under onnxruntime-node and compares with reference_eps and its autograd
    VJP in float64. Returns the worst relative errors (eps, vjp); raises above tol."""
    with open(os.path.join(folder, "prior.json")) as f:
        prior = json.load(f)
    prior = {k: np.asarray(v) if isinstance(v, list) and k not in ("shape",) else v for k, v in prior.items()}
    with open(os.path.join(folder, "manifest.json")) as f:
        manifest = json.load(f)
    has_vjp = "vjp" in manifest["graphs"]
    cases = sample_inputs(prior, 9, seed=7)
    jobs = []
    for x, t, v in cases:
        jobs.append((os.path.join(folder, "eps.onnx"), {"x": x, "t": t}, ["eps"]))
        if has_vjp:
            jobs.append((os.path.join(folder, "eps_vjp.onnx"), {"x": x, "t": t, "v": v}, ["vjp"]))
    outs = iter(run_onnx(jobs))
    worst = [0.0, 0.0]
    for x, t, v in cases:
        xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
        tt = torch.tensor(t, dtype=torch.float64)
        eps = reference_eps(prior, xt, tt)
        errs = [rel_err(next(outs)["eps"], eps.detach().numpy())]
        if has_vjp:
            (gx,) = torch.autograd.grad(eps, xt, torch.tensor(v, dtype=torch.float64))
            errs.append(rel_err(next(outs)["vjp"], gx.numpy()))
        for i, e in enumerate(errs):
            worst[i] = max(worst[i], e)
            if e > tol:
                raise RuntimeError(f"{folder}: {'eps' if i == 0 else 'vjp'} differs from the float64 "
                                   f"reference at t={t.tolist()}: relative error {e:.2e}")
    return tuple(worst[:2] if has_vjp else worst[:1])


# ----------------------------------------------------------------------------------------------
# writers


def save(model, path):
    onnx.save(model, path)


def write_prior_model(folder, name, description, prior, graphs, vjp=True, fixed_size=None, size_multiple=1):
    os.makedirs(folder)
    save(graphs(vjp=False), os.path.join(folder, "eps.onnx"))
    if vjp:
        save(graphs(vjp=True), os.path.join(folder, "eps_vjp.onnx"))
    with open(os.path.join(folder, "prior.json"), "w") as f:
        json.dump(prior_json(prior), f)
        f.write("\n")
    write_manifest(folder, name=name, description=description, channels=prior["shape"][0],
                   size_multiple=size_multiple, fixed_size=fixed_size, vjp=vjp,
                   provenance={"kind": "exact prior for tests", "prior": "prior.json (image space [0, 1])",
                               "generator": f"model-training/make_test_models.py v{GENERATOR_VERSION}"})


def randomise_zero_layers(net, seed=1):
    """Gives the layers that UNet initialises to zero (each block's conv2, the output conv and the
    context branch's projection) small random weights, so a random network's eps and VJP are not
    trivially zero."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for blk in list(net.down) + list(net.mid) + list(net.up):
            blk.conv2.weight.normal_(0.0, 0.05, generator=g)
            blk.conv2.bias.normal_(0.0, 0.02, generator=g)
        net.outc.weight.normal_(0.0, 0.1, generator=g)
        net.outc.bias.normal_(0.0, 0.02, generator=g)
        if net.context:  # drawn after the others: the networks without one keep their weights
            for blk in list(net.ctx_down) + list(net.ctx_mid) + list(net.ctx_up):
                blk.conv2.weight.normal_(0.0, 0.05, generator=g)
                blk.conv2.bias.normal_(0.0, 0.02, generator=g)
            net.ctx_proj.weight.normal_(0.0, 0.1, generator=g)
            net.ctx_proj.bias.normal_(0.0, 0.02, generator=g)
    return net


def tiny_unet(seed=0):
    torch.manual_seed(seed)
    return randomise_zero_layers(UNet(channels=(8, 16), blocks=1, mid=1, emb_dim=16), seed + 1).eval()


TINY_CONTEXT = dict(channels=(8, 12, 16), blocks=1, mid=1, emb_dim=16, context=(16,))


def tiny_context_unet(seed=0):
    """The v2 layout (levels whose widths grow, then equal; a context branch below) at tiny widths."""
    torch.manual_seed(seed)
    return randomise_zero_layers(UNet(**TINY_CONTEXT), seed + 1).eval()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--no-verify", action="store_true", help="skip the onnxruntime-node checks")
    args = ap.parse_args()
    torch.set_num_threads(1)
    out = args.out
    os.makedirs(out, exist_ok=True)
    stamp = os.path.join(out, "DONE")
    if os.path.exists(stamp):
        os.remove(stamp)
    names = ["gaussian", "gaussian-fwd", "gmm", "gmm3", "tiny", "tiny-shared", "tiny-context", "nan"]
    for name in names:
        shutil.rmtree(os.path.join(out, name), ignore_errors=True)

    gp, u, lam = gaussian_prior()
    mu_m, _ = to_model_space(gp)
    shape = gp["shape"]

    def gaussian_graphs(vjp):
        return gaussian_graph(mu_m, u, 4 * lam, shape, vjp)

    desc = "exact Gaussian prior on 3x8x8 images (test model)"
    write_prior_model(os.path.join(out, "gaussian"), "gaussian", desc, gp, gaussian_graphs,
                      fixed_size=[8, 8], size_multiple=8)
    write_prior_model(os.path.join(out, "gaussian-fwd"), "gaussian-fwd", desc + ", forward-only", gp,
                      gaussian_graphs, vjp=False, fixed_size=[8, 8], size_multiple=8)

    for name, prior, fixed in (("gmm", gmm_prior_2d(), [1, 2]), ("gmm3", gmm_prior_3x4x4(), [4, 4])):
        means_m, vars_m = to_model_space(prior)

        def graphs(vjp, prior=prior, means_m=means_m, vars_m=vars_m):
            return gmm_graph(prior["weights"], means_m, vars_m, prior["shape"], vjp)

        c, h, w = prior["shape"]
        write_prior_model(os.path.join(out, name), name,
                          f"exact two-component diagonal Gaussian mixture on {c}x{h}x{w} images (test model)",
                          prior, graphs, fixed_size=fixed, size_multiple=1)

    net = tiny_unet()
    export_model(net, os.path.join(out, "tiny"),
                 {"kind": "random weights for tests (not trained)", "seed": 0,
                  "generator": f"model-training/make_test_models.py v{GENERATOR_VERSION}"},
                 name="tiny", description="tiny random UNet (test model, not trained)", example_hw=(8, 12))
    export_model(net, os.path.join(out, "tiny-shared"),
                 {"kind": "random weights for tests (not trained)", "seed": 0,
                  "generator": f"model-training/make_test_models.py v{GENERATOR_VERSION}"},
                 name="tiny-shared", example_hw=(8, 12),
                 description="tiny random UNet, shared external weights and an fp16 variant (test model, not trained)")
    share_weights(os.path.join(out, "tiny-shared"))
    ctx_net = tiny_context_unet()
    export_model(ctx_net, os.path.join(out, "tiny-context"),
                 {"kind": "random weights for tests (not trained)", "seed": 0,
                  "generator": f"model-training/make_test_models.py v{GENERATOR_VERSION}"},
                 name="tiny-context", example_hw=(8, 16),
                 description="tiny random UNet with a context branch (the v2 layout), shared weights and an fp16 "
                             "variant (test model, not trained)")
    share_weights(os.path.join(out, "tiny-context"))

    # A broken model whose eps is NaN at low noise (t < 100) and finite above: it passes the load
    # probe (mid-schedule t) and breaks during a solve, so the CLI must refuse its result.
    nan_dir = os.path.join(out, "nan")
    os.makedirs(nan_dir)
    g = Graph()
    low = g.op("Less", "t", g.const(np.float32(100)))
    scale = g.op("Where", low, g.const(np.float32("nan")), g.const(np.float32(0.5)))
    g.op("Mul", "x", g.op("Reshape", scale, g.const(np.array([-1, 1, 1, 1]), dtype=np.int64)), out="eps")
    save(g.model([io("x", ["N", 3, "H", "W"]), io("t", ["N"])], [io("eps", ["N", 3, "H", "W"])], "nan"),
         os.path.join(nan_dir, "eps.onnx"))
    write_manifest(nan_dir, name="nan", description="outputs NaN below t = 100 (test model for error handling)", channels=3,
                   size_multiple=1, fixed_size=None, vjp=False,
                   provenance={"kind": "broken on purpose, for tests",
                               "generator": f"model-training/make_test_models.py v{GENERATOR_VERSION}"})

    if not args.no_verify:
        for name in names[:4]:
            errs = verify_prior_model(os.path.join(out, name))
            print(f"{name}: onnxruntime-node vs float64 reference, worst relative error "
                  + ", ".join(f"{k} {e:.1e}" for k, e in zip(("eps", "vjp"), errs)))
        res = check_unet_graphs(net, os.path.join(out, "tiny"), sizes=((8, 8), (6, 10)))
        print("tiny: onnxruntime-node vs PyTorch, worst relative error eps "
              f"{max(r[0] for r in res.values()):.1e}, vjp {max(r[1] for r in res.values()):.1e}")
        res = check_unet_graphs(net, os.path.join(out, "tiny-shared"), sizes=((8, 8), (6, 10)))
        res16 = check_fp16_graphs(os.path.join(out, "tiny-shared"), sizes=((8, 8),))
        print("tiny-shared: onnxruntime-node vs PyTorch, worst relative error eps "
              f"{max(r[0] for r in res.values()):.1e}, vjp {max(r[1] for r in res.values()):.1e}; fp16 vs fp32 "
              f"eps {max(r[0] for r in res16.values()):.1e}, vjp {max(r[1] for r in res16.values()):.1e}")

        res = check_unet_graphs(ctx_net, os.path.join(out, "tiny-context"), sizes=((8, 8), (16, 24)))
        res16 = check_fp16_graphs(os.path.join(out, "tiny-context"), sizes=((16, 16),))
        print("tiny-context: onnxruntime-node vs PyTorch, worst relative error eps "
              f"{max(r[0] for r in res.values()):.1e}, vjp {max(r[1] for r in res.values()):.1e}; fp16 vs fp32 "
              f"eps {max(r[0] for r in res16.values()):.1e}, vjp {max(r[1] for r in res16.values()):.1e}")

    with open(stamp, "w") as f:
        f.write("\n".join(names) + "\n")
    print(f"wrote {', '.join(names)} to {out}")


if __name__ == "__main__":
    main()
