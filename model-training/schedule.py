"""The VP linear-beta schedule of the model contract (docs/MODEL_CONTRACT.md).

abar_k = prod_{i<=k} (1 - beta_i) for integer k in [0, T); at a fractional t, log(abar) is
interpolated linearly between its neighbours. The engine (engine/schedule.ts) implements the same
definition, so the network is trained on exactly the noise levels the solvers will ask for.
"""
import torch

T = 1000
BETA_START = 1e-4
BETA_END = 0.02


def log_abar_table():
    betas = torch.linspace(BETA_START, BETA_END, T, dtype=torch.float64)
    return torch.cumsum(torch.log1p(-betas), dim=0)


_TABLE = log_abar_table()


def abar(t):
    """abar at (possibly fractional) t in [0, T-1], as float64."""
    t = t.double().clamp(0, T - 1)
    lo = t.floor().long().clamp(max=T - 2)
    w = t - lo.double()
    table = _TABLE.to(t.device)
    return torch.exp(table[lo] * (1 - w) + table[lo + 1] * w)
