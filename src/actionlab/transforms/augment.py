"""Training augmentation of normalised frames, drawn once per sample and applied identically to all its frames."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch


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
        channel_major: bool = False,
    ) -> tuple[torch.Tensor, int]:
        """(augmented frames, label after a possible mirror); not necessarily contiguous.

        uint8 frames (with `norm` = per-channel mean, std) are moved geometrically as uint8, then converted to
        normalised float with the colour change in the same pass: a quarter of the memory traffic of doing it
        all in float, which matters when DataLoader workers share the cores with training. `channel_major`: see
        to_normalised.
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
            import torchvision.transforms.v2.functional as TF  # only here: importing torchvision takes ~2 s

            x = TF.rotate(x, float(rng.uniform(-self.rotation, self.rotation)))
        moved = _shift_amounts(rng, self.shift) if self.shift else (0, 0)
        if norm is not None:  # colour changes need the uint8 frames; flow (float, no norm) never gets them
            x = to_normalised(x, norm, rng if self.color and not self.flow else None, moved, channel_major)
        elif self.shift:
            x = move(move(x, -2, -moved[0]), -1, -moved[1])
        return x.reshape(*lead, c, h, w), label


def to_normalised(
    x: torch.Tensor,
    norm: tuple[tuple[float, ...], tuple[float, ...]],
    rng: np.random.Generator | None = None,
    shift: tuple[int, int] = (0, 0),
    channel_major: bool = False,
) -> torch.Tensor:
    """uint8 (N, 3, H, W) -> (x / 255 - mean) / std as float, with the colour change when an rng is given
    (channel shuffle, sometimes grey, gain/offset, sometimes negative), all as one affine pass; `shift` (dy, dx)
    translates in the same pass: row i, column j of the result come from x[clamp(i + dy), clamp(j + dx)].

    `channel_major`: the result is a (N, 3, H, W) view of (3, N, H, W) memory, which is a 3D network's
    (3, T, H, W) clip as it is: no transposing copy (16x112² clip, flip/shift/colour: 0.87 instead of 2.0 ms)."""
    mean, std = (np.asarray(v, dtype=np.float64) for v in norm)
    scale, bias = 1.0 / (255.0 * std), -mean / std
    perm = np.arange(3)
    grey = False
    if rng is not None:
        perm = rng.permutation(3)
        scale, bias = scale[perm], bias[perm]  # channel k now holds channel perm[k], with its stats
        grey = rng.random() < 0.3
        gain, offset = float(rng.uniform(0.6, 1.4)), float(rng.uniform(-0.5, 0.5))
        sign = -1.0 if rng.random() < 0.5 else 1.0
        scale, bias = sign * gain * scale, sign * (gain * bias + offset)
    h, w = x.shape[-2:]
    dy, dx = (max(-(n - 1), min(n - 1, d)) for d, n in zip(shift, (h, w)))
    rows, cols = slice(max(dy, 0), h + min(dy, 0)), slice(max(dx, 0), w + min(dx, 0))  # the source window
    to_rows, to_cols = slice(max(-dy, 0), h - max(dy, 0)), slice(max(-dx, 0), w - max(dx, 0))
    n = x.shape[0]
    out = torch.empty((3, n, h, w)).transpose(0, 1) if channel_major else torch.empty((n, 3, h, w))
    # channel by channel: the shuffle, the shift, the uint8 -> float conversion and the scaling in one pass (as
    # separate steps they read the clip four times, and the DataLoader worker's CPU is the budget)
    for k in range(3):
        src, dst = x[:, int(perm[k]), rows, cols], out[:, k, to_rows, to_cols]
        torch.mul(src, float(np.float32(scale[k])), out=dst).add_(float(np.float32(bias[k])))
    # the uncovered edges repeat the nearest row/column: columns inside the copied rows first, then whole rows
    if dx > 0:
        out[:, :, to_rows, w - dx :] = out[:, :, to_rows, w - dx - 1 : w - dx]
    elif dx < 0:
        out[:, :, to_rows, :-dx] = out[:, :, to_rows, -dx : -dx + 1]
    if dy > 0:
        out[:, :, h - dy :] = out[:, :, h - dy - 1 : h - dy]
    elif dy < 0:
        out[:, :, :-dy] = out[:, :, -dy : -dy + 1]
    if grey:
        out.copy_(out.mean(1, keepdim=True).expand_as(out))  # in place: the layout stays
    return out


def _resized_crop(x: torch.Tensor, rng: np.random.Generator, min_scale: float) -> torch.Tensor:
    h, w = x.shape[-2:]
    area = h * w * rng.uniform(min_scale, 1.0)
    ratio = np.exp(rng.uniform(np.log(3 / 4), np.log(4 / 3)))
    ch, cw = min(h, int(round(np.sqrt(area / ratio)))), min(w, int(round(np.sqrt(area * ratio))))
    top, left = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
    import torchvision.transforms.v2.functional as TF  # only here: importing torchvision takes ~2 s

    return TF.resized_crop(x, top, left, ch, cw, [h, w], antialias=True)


def _shift_amounts(rng: np.random.Generator, pad: int) -> tuple[int, int]:
    """A random translation (dy, dx), each in [-pad, pad]."""
    dy, dx = (int(v) - pad for v in rng.integers(0, 2 * pad + 1, 2))
    return dy, dx


def move(x: torch.Tensor, axis: int, d: int) -> torch.Tensor:
    """x moved by d steps along `axis` (d > 0: towards higher indices), the uncovered edge replicated.

    Block copies (narrow + cat), any dtype: an index gather per axis cost 9x as much on a uint8 clip. The edge
    copies carry values but no gradient (explain's shifted inputs: else that edge would collect every copy's
    gradient), and no wrap-around seam appears."""
    n = x.shape[axis]
    k = min(abs(d), n - 1)
    if k == 0:
        return x
    sizes = list(x.shape)
    sizes[axis] = k
    if d > 0:
        return torch.cat([x.narrow(axis, 0, 1).detach().expand(*sizes), x.narrow(axis, 0, n - k)], axis)
    return torch.cat([x.narrow(axis, k, n - k), x.narrow(axis, n - 1, 1).detach().expand(*sizes)], axis)
