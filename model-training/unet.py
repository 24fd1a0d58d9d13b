"""The default model: a small fully convolutional UNet eps(x_t, t) with an exact, hand-written VJP.

Why hand-written: torch.onnx.export (PyTorch 1.13) cannot trace torch.autograd.grad, so the VJP
graph v -> (d eps / d x)^T v is written as an ordinary forward computation: every layer has an
adjoint (conv -> conv with the flipped, transposed weights, SiLU -> multiply by its derivative, average
pool <-> nearest upsample, concat -> split). It is checked against autograd in tests/python.

No normalisation layers: GroupNorm would fix the spatial size in the traced VJP graph, and without
it both graphs work at any size that is a multiple of `stride`.

Options beyond the default model's (issue 12): `context` adds a residual context branch below the
lowest level (a small UNet at strides 2S, 4S, ... whose zero-initialised output projection is added
to the lowest level's activations), for a wider receptive field at little cost per pixel. A config
that does not use it is the default model's, key for key (`config` lists only options that differ
from their defaults), so its checkpoint loads and its graphs export as before. `grow` copies a
trained network into a wider or deeper one so that both compute the same function at the start.
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
    """Pre-activation residual block: skip(x) + conv2(silu(conv1(silu(x)) + emb)).

    `in_parts`: the widths of the tensors concatenated into its input (for `grow`; not stored)."""

    def __init__(self, cin, cout, emb_dim, in_parts=None):
        super().__init__()
        self.in_parts = tuple(in_parts) if in_parts is not None else (cin,)
        assert sum(self.in_parts) == cin
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


# Options that a config names only when they differ from these (the default model's config has none).
OPTIONAL = {"context": (), "context_mid": 1}


class UNet(nn.Module):
    def __init__(self, channels=(32, 64, 96, 96), blocks=1, mid=1, emb_dim=128, in_ch=3, context=(), context_mid=1):
        super().__init__()
        self.config = dict(channels=list(channels), blocks=blocks, mid=mid, emb_dim=emb_dim, in_ch=in_ch)
        if tuple(context):
            self.config["context"] = list(context)
            if context_mid != OPTIONAL["context_mid"]:
                self.config["context_mid"] = context_mid
        self.context = tuple(context)
        self.stride = 2 ** (len(channels) - 1 + len(self.context))
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
        if self.context:
            # Residual context branch at strides 2S, 4S, ...: pool + block per level on the way down,
            # `context_mid` blocks at the bottom, block on cat(h, skip) + upsample per level on the
            # way up, then silu and a zero-initialised 1x1 projection back to c channels, added to h.
            self.ctx_down = nn.ModuleList()
            cc = c
            for w in self.context:
                self.ctx_down.append(ResBlock(cc, w, emb_dim))
                cc = w
            self.ctx_mid = nn.ModuleList([ResBlock(cc, cc, emb_dim) for _ in range(context_mid)])
            self.ctx_up = nn.ModuleList()
            for w in reversed(self.context):
                self.ctx_up.append(ResBlock(cc + w, w, emb_dim, in_parts=(cc, w)))
                cc = w
            self.ctx_proj = nn.Conv2d(cc, c, 1)
            nn.init.zeros_(self.ctx_proj.weight)
            nn.init.zeros_(self.ctx_proj.bias)
        self.up = nn.ModuleList()
        for ch in reversed(channels):
            for _ in range(blocks + 1):
                skip = skips.pop()
                self.up.append(ResBlock(c + skip, ch, emb_dim, in_parts=(c, skip)))
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
        if self.context:
            h = self.run_context(h, emb, skips, rec)
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

    def run_context(self, h, emb, skips, rec):
        """h + ctx(h), recorded on the tape with the same steps as the main path, plus the residual
        join ("add_in": forward h = h + skip, so the adjoint passes g to both)."""
        rec(("skip_out", len(skips)))
        skips.append(h)  # kept for the residual sum
        ctx_skips = []
        for blk in self.ctx_down:
            h = F.avg_pool2d(h, 2)
            rec(("pool",))
            cache = []
            h = blk(h, emb, cache)
            rec(("block", blk, cache[0]))
            rec(("skip_out", len(skips)))
            ctx_skips.append(len(skips))
            skips.append(h)
        for blk in self.ctx_mid:
            cache = []
            h = blk(h, emb, cache)
            rec(("block", blk, cache[0]))
        for blk in self.ctx_up:
            idx = ctx_skips.pop()
            assert idx == len(skips) - 1
            rec(("skip_in", idx, h.shape[1]))
            cache = []
            h = blk(torch.cat([h, skips.pop()], dim=1), emb, cache)
            rec(("block", blk, cache[0]))
            h = F.interpolate(h, scale_factor=2.0, mode="nearest")
            rec(("upsample",))
        rec(("silu_conv", self.ctx_proj, h))
        out = self.ctx_proj(F.silu(h))
        rec(("add_in", len(skips) - 1))
        return skips.pop() + out

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
            elif kind == "silu_conv":
                # forward: h = conv(silu(pre))
                g = conv_t(g, item[1]) * silu_grad(item[2])
            elif kind == "add_in":
                # forward: h = skip + h; the kept skip gets the same gradient.
                gskip[item[1]] = g
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


# Named configurations. "v1" is the bundled default model (issue 12 keeps it loadable as it is);
# "v2" the next one: see docs/MODEL.md, "Next model (issue 12)".
CONFIGS = {
    "v1": dict(channels=(32, 64, 96, 96), blocks=1, mid=1, emb_dim=128),
    "v2": dict(channels=(48, 80, 96, 96), blocks=1, mid=1, emb_dim=128, context=(96,)),
}


def _in_index(old_parts, new_parts):
    """Indices in the new input of the old input's channels: part k's old channels come first in
    the new part k (new channels are appended after the old ones of each tensor)."""
    if len(old_parts) != len(new_parts) or any(n < o for o, n in zip(old_parts, new_parts)):
        raise ValueError(f"cannot grow input parts {old_parts} into {new_parts}")
    idx, off = [], 0
    for o, n in zip(old_parts, new_parts):
        idx.extend(range(off, off + o))
        off += n
    return torch.tensor(idx, dtype=torch.long)


def grow(old, new):
    """Copies the trained network `old` into `new` so that both compute the same function.

    `new` has the same levels, blocks per level and up path as `old`, every width at least old's,
    and may have more middle blocks or a context branch (modules `old` lacks keep their fresh
    initialisation: a fresh block is the identity, its conv2 being zero, and the context branch adds
    zero, its projection being zero). In every tensor the old channels come first and the new ones
    after; weights from new input channels into old output channels are set to zero, so the new
    channels cannot change the old ones until training moves those weights; weights into new
    channels keep their random initialisation. Returns the number of tensors copied."""
    if (len(old.config["channels"]), old.config["blocks"], old.config["emb_dim"], old.config["in_ch"]) != \
            (len(new.config["channels"]), new.config["blocks"], new.config["emb_dim"], new.config["in_ch"]):
        raise ValueError(f"cannot grow {old.config} into {new.config}: levels, blocks, emb_dim and in_ch must match")
    if old.context and len(old.context) != len(new.context):
        raise ValueError("cannot grow a context branch into one of another depth")
    new_mods = dict(new.named_modules())
    copied = 0
    with torch.no_grad():
        for name, m in old.named_modules():
            if isinstance(m, ResBlock):
                n = new_mods[name]
                if (m.skip is None) != (n.skip is None):
                    raise ValueError(f"{name}: identity skip in one network, 1x1 conv in the other")
                continue
            if not isinstance(m, (nn.Conv2d, nn.Linear)):
                continue
            if name not in new_mods or type(new_mods[name]) is not type(m):
                raise ValueError(f"{name}: missing from the new network")
            n = new_mods[name]
            parent, _, attr = name.rpartition(".")
            owner = old.get_submodule(parent) if parent else old
            if isinstance(owner, ResBlock) and attr in ("conv1", "skip"):
                cols = _in_index(owner.in_parts, new.get_submodule(parent).in_parts)
            else:
                cols = _in_index((m.weight.shape[1],), (n.weight.shape[1],))
            rows = m.weight.shape[0]
            if n.weight.shape[0] < rows or n.weight.shape[2:] != m.weight.shape[2:]:
                raise ValueError(f"{name}: cannot grow {tuple(m.weight.shape)} into {tuple(n.weight.shape)}")
            n.weight[:rows] = 0
            n.weight[:rows, cols] = m.weight
            n.bias[:rows] = m.bias
            copied += 2
    return copied
