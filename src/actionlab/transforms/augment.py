"""Training augmentation of normalised frames, drawn once per sample and applied identically to all its frames."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
import torchvision.transforms.v2.functional as TF


@dataclass(frozen=True)
class Augment:
    """Random flip (with a left/right label map), rotation, resized crop, shift and colour changes.

    Input: normalised float frames (..., 3, H, W) of one sample; every frame gets the same draw, so motion
    between frames is preserved. Colour changes stop from-scratch networks from memorising each clip's colours
    and background instead of the body's pose (frame-cnn on the synthetic set: ~10 % held-out accuracy without,
    ~55 % with them).
    """

    flip: bool = True
    label_flip: dict[int, int] = field(default_factory=dict)
    rotation: float = 0.0
    crop_scale: float = 1.0
    shift: int = 4
    color: bool = True
    flow: bool = False  # (…, 2, H, W) flow fields: a flip negates dx; no colour changes

    def __call__(self, x: torch.Tensor, label: int, rng: np.random.Generator) -> tuple[torch.Tensor, int]:
        """(augmented frames, label after a possible mirror)."""
        lead, (c, h, w) = x.shape[:-3], x.shape[-3:]
        x = x.reshape(-1, c, h, w)
        if self.crop_scale < 1.0:
            x = _resized_crop(x, rng, self.crop_scale)
        if self.flip and rng.random() < 0.5:
            x = TF.horizontal_flip(x)
            if self.flow:
                x[:, 0] = -x[:, 0]
            label = self.label_flip.get(label, label)
        if self.rotation:
            x = TF.rotate(x, float(rng.uniform(-self.rotation, self.rotation)))
        if self.shift:
            x = _shift(x, rng, self.shift)
        if self.color and not self.flow:
            x = _appearance(x, rng)
        return x.reshape(*lead, c, h, w).contiguous(), label


def _resized_crop(x: torch.Tensor, rng: np.random.Generator, min_scale: float) -> torch.Tensor:
    h, w = x.shape[-2:]
    area = h * w * rng.uniform(min_scale, 1.0)
    ratio = np.exp(rng.uniform(np.log(3 / 4), np.log(4 / 3)))
    ch, cw = min(h, int(round(np.sqrt(area / ratio)))), min(w, int(round(np.sqrt(area * ratio))))
    top, left = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
    return TF.resized_crop(x, top, left, ch, cw, [h, w], antialias=True)


def _shift(x: torch.Tensor, rng: np.random.Generator, pad: int) -> torch.Tensor:
    """Random translation by up to `pad` pixels, edges replicated."""
    h, w = x.shape[-2:]
    padded = F.pad(x, (pad, pad, pad, pad), mode="replicate")
    dy, dx = rng.integers(0, 2 * pad + 1, 2)
    return padded[..., dy:dy + h, dx:dx + w]


def _appearance(x: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    """Channel shuffle, sometimes grey, gain/offset, sometimes the negative (on normalised values)."""
    x = x[:, rng.permutation(3)]
    if rng.random() < 0.3:
        x = x.mean(1, keepdim=True).expand_as(x)
    x = x * float(rng.uniform(0.6, 1.4)) + float(rng.uniform(-0.5, 0.5))
    return -x if rng.random() < 0.5 else x
