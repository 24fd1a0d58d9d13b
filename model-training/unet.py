"""The default model: a small fully convolutional UNet eps(x_t, t) with an exact, hand-written VJP.

Why hand-written: torch.onnx.export (PyTorch 1.13) cannot trace torch.autograd.grad, so the VJP
graph v -> (d eps / d x)^T v is written as an ordinary forward computation: every layer has an
adjoint (conv -> conv with the flipped, transposed weights, SiLU -> multiply by its derivative, average
pool <-> nearest upsample, concat -> split). It is checked against autograd in tests/python.

No normalisation layers: GroupNorm would fix the spatial size in the traced VJP graph, and without
it both graphs work at any size that is a multiple of `stride`.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def silu_grad(x):
    s = torch.sigmoid(x)
    return s * (1 + x * (1 - s))


def timestep_embedding(t, dim):
    """Sinusoidal embedding of a (possibly fractional) timestep t in [0, T)."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=t.dtype, device=t.device) / half)
    args = t[:, None] * freqs[None, :]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=1)


def conv_t(g, conv):
    """Adjoint of a stride-1, 'same'-padded conv with respect to its input.

    Written as a conv with the flipped, channel-swapped kernel rather than conv_transpose2d: the same
    linear map, but onnxruntime's CPU Conv is faster and leaner than its ConvTranspose. `npm run bench`
    (docs/BENCHMARKS.md, scaling table) measured the VJP graph at 1024x1024 with a 7.6 GiB peak, against
    12.1 GB in the report generated with ConvTranspose (git history of docs/BENCHMARKS.md).
    """
    k = conv.kernel_size[0]
    return F.conv2d(g, conv.weight.flip(2, 3).transpose(0, 1), padding=k - 1 - conv.padding[0])


class ResBlock(nn.Module):
    """Pre-activation residual block: skip(x) + conv2(silu(conv1(silu(x)) + emb))."""

    def __init__(self, cin, cout, emb_dim):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.emb = nn.Linear(emb_dim, cout)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else None
        # Zero-initialised residual branch: a deep net without normalisation starts as identity.
        nn.init.zeros_(self.conv2.weight)
        nn.init.zeros_(self.conv2.bias)

    def forward(self, x, emb, cache=None):
        h1 = self.conv1(F.silu(x)) + self.emb(emb)[:, :, None, None]
        out = self.conv2(F.silu(h1))
        out = out + (self.skip(x) if self.skip is not None else x)
        if cache is not None:
            cache.append((x, h1))
        return out

    def vjp(self, g, cached):
        x, h1 = cached
        gx = conv_t(g, self.skip) if self.skip is not None else g
        gh1 = conv_t(g, self.conv2) * silu_grad(h1)
        return gx + conv_t(gh1, self.conv1) * silu_grad(x)


class UNet(nn.Module):
    def __init__(self, channels=(32, 64, 96, 96), blocks=1, mid=1, emb_dim=128, in_ch=3):
        super().__init__()
        self.config = dict(channels=list(channels), blocks=blocks, mid=mid, emb_dim=emb_dim, in_ch=in_ch)
        self.stride = 2 ** (len(channels) - 1)
        self.levels = len(channels)
        self.blocks = blocks
        self.emb_dim = emb_dim
        self.temb = nn.Sequential(nn.Linear(emb_dim // 2, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))
        self.inc = nn.Conv2d(in_ch, channels[0], 3, padding=1)
        self.down = nn.ModuleList()
        skips = [channels[0]]
        c = channels[0]
        for level, ch in enumerate(channels):
            for _ in range(blocks):
                self.down.append(ResBlock(c, ch, emb_dim))
                c = ch
                skips.append(c)
            if level < len(channels) - 1:
                skips.append(c)  # the pooled activation is a skip too
        self.mid = nn.ModuleList([ResBlock(c, c, emb_dim) for _ in range(mid)])
        self.up = nn.ModuleList()
        for ch in reversed(channels):
            for _ in range(blocks + 1):
                self.up.append(ResBlock(c + skips.pop(), ch, emb_dim))
                c = ch
        self.outc = nn.Conv2d(c, in_ch, 3, padding=1)
        nn.init.zeros_(self.outc.weight)
        nn.init.zeros_(self.outc.bias)

    def embed(self, t):
        return self.temb(timestep_embedding(t, self.emb_dim // 2))

    def run(self, x, t, tape=None):
        """Forward pass. When `tape` is a list, records each step and what its adjoint needs."""
        rec = tape.append if tape is not None else (lambda item: None)
        emb = self.embed(t)
        h = self.inc(x)
        skips = [h]
        rec(("skip_out", 0))
        blocks = iter(self.down)
        for level in range(self.levels):
            for _ in range(self.blocks):
                blk = next(blocks)
                cache = []
                h = blk(h, emb, cache)
                rec(("block", blk, cache[0]))
                rec(("skip_out", len(skips)))
                skips.append(h)
            if level < self.levels - 1:
                h = F.avg_pool2d(h, 2)
                rec(("pool",))
                rec(("skip_out", len(skips)))
                skips.append(h)
        for blk in self.mid:
            cache = []
            h = blk(h, emb, cache)
            rec(("block", blk, cache[0]))
        blocks = iter(self.up)
        for level in reversed(range(self.levels)):
            for _ in range(self.blocks + 1):
                blk = next(blocks)
                rec(("skip_in", len(skips) - 1, h.shape[1]))
                cache = []
                h = blk(torch.cat([h, skips.pop()], dim=1), emb, cache)
                rec(("block", blk, cache[0]))
            if level > 0:
                h = F.interpolate(h, scale_factor=2.0, mode="nearest")
                rec(("upsample",))
        rec(("out", h))
        return self.outc(F.silu(h))

    def forward(self, x, t):
        return self.run(x, t)

    def vjp(self, x, t, v):
        """(d eps / d x)^T v: each recorded step's adjoint, in reverse order."""
        tape = []
        self.run(x, t, tape)
        gskip = {}
        g = None
        for item in reversed(tape):
            kind = item[0]
            if kind == "out":
                g = conv_t(v, self.outc) * silu_grad(item[1])
            elif kind == "block":
                g = item[1].vjp(g, item[2])
            elif kind == "skip_in":
                # forward: h = cat(h, skip); the adjoint splits the gradient.
                _, idx, ch = item
                gskip[idx] = g[:, ch:]
                g = g[:, :ch]
            elif kind == "skip_out":
                # forward: h was both kept as a skip and passed on; the adjoint sums both paths.
                g = g + gskip.pop(item[1])
            elif kind == "pool":
                g = F.interpolate(g, scale_factor=2.0, mode="nearest") * 0.25
            elif kind == "upsample":
                g = F.avg_pool2d(g, 2) * 4.0
        assert not gskip
        return conv_t(g, self.inc)


class VJP(nn.Module):
    """Wrapper whose forward is the VJP, so torch.onnx.export traces it as an ordinary graph."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x, t, v):
        return self.net.vjp(x, t, v)
