"""Checks of model-training/eval_denoiser.py and model-training/sample.py against an exact Gaussian prior, whose
eps(x, t) is known in closed form (the prior of model-training/make_test_models.py's gaussian/ model)."""
import os
import sys

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "model-training"))
import eval_denoiser  # noqa: E402
import make_test_models as tm  # noqa: E402
import sample  # noqa: E402
import schedule  # noqa: E402

torch.set_num_threads(1)
PRIOR, U, LAM = tm.gaussian_prior()


class ExactGaussianEps(torch.nn.Module):
    """eps(x, t) of the exact Gaussian prior (model space), batched, float64 inside."""
    config = {"in_ch": 3}
    stride = 8

    def __init__(self):
        super().__init__()
        self.u = torch.tensor(U)
        self.lam = torch.tensor(4 * LAM)
        self.mu = torch.tensor(2 * PRIOR["mean"] - 1)

    def forward(self, x, t):
        a = schedule.abar(t.double())[:, None]
        s2 = (1 - a) / a
        z = x.double().reshape(x.shape[0], -1) / a.sqrt()
        e = (((z - self.mu) @ self.u) * (s2.sqrt() / (self.lam + s2))) @ self.u.T
        return e.reshape(x.shape).float()


def test_t_of_sigma_inverts_the_schedule():
    for s in (0.02, 0.1, 0.4, 3.0, 50.0):
        t = eval_denoiser.t_of_sigma(s)
        a = float(schedule.abar(torch.tensor([t], dtype=torch.float64)))
        assert abs(((1 - a) / a) ** 0.5 - s) < 1e-9 * s


def test_one_call_denoiser_is_the_posterior_mean():
    rng = np.random.default_rng(0)
    mu, cov = PRIOR["mean"], PRIOR["cov"]
    for sigma in (0.05, 0.1, 0.2):
        x0 = mu + np.linalg.cholesky(cov) @ rng.normal(size=mu.size)
        y = x0 + sigma * rng.normal(size=mu.size)
        want = np.clip(mu + cov @ np.linalg.solve(cov + sigma ** 2 * np.eye(mu.size), y - mu), 0, 1)
        got = eval_denoiser.net_denoise(ExactGaussianEps(), y.reshape(3, 8, 8).transpose(1, 2, 0), sigma)
        assert np.abs(got.transpose(2, 0, 1).reshape(-1) - want).max() < 1e-6


def test_ddim_samples_the_prior():
    """DDIM with the exact eps: sample mean and per-eigendirection variance close to the prior's.
    DDIM is first order: it loses variance on coarse steps (measured, 4000 samples: karras spacing,
    eta 0, variance ratio of the 20 largest eigendirections 0.88 / 0.94 / 0.98 at 50 / 100 / 400
    steps), so the bounds are loose and the check is that more steps come closer."""
    n = 2000
    ratios = []
    for steps in (25, 100):
        x0 = sample.ddim(ExactGaussianEps(), n, 8, steps, eta=0.0, seed=0, clip=False, spacing="karras")
        x0 = (x0.double().reshape(n, -1).numpy() + 1) / 2
        assert np.abs(x0.mean(0) - PRIOR["mean"]).max() < 0.02
        r = ((x0 - PRIOR["mean"]) @ U).var(0) / LAM
        ratios.append(r[-20:].mean())
    assert 0.6 < ratios[0] < ratios[1] < 1.05, ratios
    assert ratios[1] > 0.88, ratios
