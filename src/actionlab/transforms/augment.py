"""Training augmentation of normalised frames, drawn once per sample and applied identically to all its frames."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
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

    def __call__(
        self,
        x: torch.Tensor,
        label: int,
        rng: np.random.Generator,
        norm: tuple[tuple[float, ...], tuple[float, ...]] | None = None,
    ) -> tuple[torch.Tensor, int]:
        """(augmented frames, label after a possible mirror).

        uint8 frames (with `norm` = per-channel mean, std) are moved geometrically as uint8, then converted to
        normalised float with the colour change in the same pass: a quarter of the memory traffic of doing it
        all in float, which matters when DataLoader workers share the cores with training.
        """
        lead, (c, h, w) = x.shape[:-3], x.shape[-3:]
        x = x.reshape(-1, c, h, w)
        if self.crop_scale < 1.0:
            x = _resized_crop(x, rng, self.crop_scale)
        if self.flip and rng.random() < 0.5:
            x = x.flip(-1)
            if self.flow:
                x[:, 0] = -x[:, 0]
            label = self.label_flip.get(label, label)
        if self.rotation:
            x = TF.rotate(x, float(rng.uniform(-self.rotation, self.rotation)))
        if self.shift:
            x = _shift(x, rng, self.shift)
        if norm is not None:  # colour changes need the uint8 frames; flow (float, no norm) never gets them
            x = to_normalised(x, norm, rng if self.color and not self.flow else None)
        return x.reshape(*lead, c, h, w).contiguous(), label


def to_normalised(
    x: torch.Tensor, norm: tuple[tuple[float, ...], tuple[float, ...]], rng: np.random.Generator | None = None
) -> torch.Tensor:
    """uint8 (N, 3, H, W) -> (x / 255 - mean) / std as float, with the colour change when an rng is given
    (channel shuffle, sometimes grey, gain/offset, sometimes negative), all as one affine pass."""
    mean, std = (torch.tensor(v, dtype=torch.float32) for v in norm)
    scale, bias = 1.0 / (255.0 * std), -mean / std
    if rng is None:
        return x.float().mul_(scale.view(1, 3, 1, 1)).add_(bias.view(1, 3, 1, 1))
    perm = torch.from_numpy(rng.permutation(3))
    x, scale, bias = x[:, perm], scale[perm], bias[perm]  # channel k now holds channel perm[k], with its stats
    grey = rng.random() < 0.3
    gain, offset = float(rng.uniform(0.6, 1.4)), float(rng.uniform(-0.5, 0.5))
    sign = -1.0 if rng.random() < 0.5 else 1.0
    a, b = sign * gain * scale, sign * (gain * bias + offset)
    out = x.float().mul_(a.view(1, 3, 1, 1)).add_(b.view(1, 3, 1, 1))
    return out.mean(1, keepdim=True).expand_as(out) if grey else out


def _resized_crop(x: torch.Tensor, rng: np.random.Generator, min_scale: float) -> torch.Tensor:
    h, w = x.shape[-2:]
    area = h * w * rng.uniform(min_scale, 1.0)
    ratio = np.exp(rng.uniform(np.log(3 / 4), np.log(4 / 3)))
    ch, cw = min(h, int(round(np.sqrt(area / ratio)))), min(w, int(round(np.sqrt(area * ratio))))
    top, left = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
    return TF.resized_crop(x, top, left, ch, cw, [h, w], antialias=True)


def _shift(x: torch.Tensor, rng: np.random.Generator, pad: int) -> torch.Tensor:
    """Random translation by up to `pad` pixels, edges replicated (index gathers: any dtype, uint8 too)."""
    h, w = x.shape[-2:]
    dy, dx = (int(v) - pad for v in rng.integers(0, 2 * pad + 1, 2))
    rows = torch.arange(h).add_(dy).clamp_(0, h - 1)
    cols = torch.arange(w).add_(dx).clamp_(0, w - 1)
    return x.index_select(-2, rows).index_select(-1, cols)
