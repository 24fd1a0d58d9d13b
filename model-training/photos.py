"""Random training crops from the photos fetched by fetch_data.py.

Each crop: a photo chosen with probability proportional to the square root of its pixel count (so
the large wallpapers do not drown the small photos), a random downscale factor in [0.25, 1] (cleaner
crops: the wallpapers carry JPEG noise and bokeh at full size), a random crop, then flips and
90-degree rotations. Values in [-1, 1], the model's range.
"""
import os

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image


def _load(path):
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))  # greyscale photos become 3 equal channels


def load_photos(folder, threads=1):
    """The photos of `folder` in sorted name order; `threads` decode in parallel (same result)."""
    paths = [os.path.join(folder, name) for name in sorted(os.listdir(folder))]
    if not paths:
        raise SystemExit(f"no photos in {folder}: run model-training/fetch_data.py first")
    if threads <= 1:
        return [_load(p) for p in paths]
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(_load, paths))


class CropSampler:
    def __init__(self, photos, size=64, seed=0, min_scale=0.25):
        self.photos = photos
        self.size = size
        self.min_scale = min_scale
        self.rng = np.random.default_rng(seed)
        w = np.array([np.sqrt(p.shape[0] * p.shape[1]) for p in photos])
        self.p = w / w.sum()

    def crop(self):
        img = self.photos[self.rng.choice(len(self.photos), p=self.p)]
        h, w, _ = img.shape
        scale = self.rng.uniform(self.min_scale, 1.0)
        c = min(int(np.ceil(self.size / scale)), h, w)
        y = self.rng.integers(0, h - c + 1)
        x = self.rng.integers(0, w - c + 1)
        patch = torch.from_numpy(np.ascontiguousarray(img[y:y + c, x:x + c])).permute(2, 0, 1).float()[None]
        if c != self.size:
            patch = F.interpolate(patch, size=(self.size, self.size), mode="bilinear", align_corners=False,
                                  antialias=True)
        patch = patch[0] / 127.5 - 1.0
        if self.rng.random() < 0.5:
            patch = patch.flip(2)
        patch = torch.rot90(patch, int(self.rng.integers(0, 4)), dims=(1, 2))
        return patch.clamp(-1, 1)

    def batch(self, n):
        return torch.stack([self.crop() for _ in range(n)])
