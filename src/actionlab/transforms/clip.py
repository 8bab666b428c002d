"""uint8 frames -> normalised float tensors, with training augmentation applied identically to every frame."""

from __future__ import annotations

import re

import numpy as np
import torch

from actionlab.errors import ConfigError

IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
KINETICS_MEAN, KINETICS_STD = (0.43216, 0.394666, 0.37645), (0.22803, 0.22145, 0.216989)


def flip_label_map(classes: list[str]) -> dict[int, int]:
    """Index pairs of classes whose names differ only by left<->right (e.g. walk_left <-> walk_right)."""
    index = {c: i for i, c in enumerate(classes)}
    swap = {"left": "right", "right": "left", "Left": "Right", "Right": "Left"}
    out = {}
    for i, c in enumerate(classes):
        mirrored = re.sub(r"left|right|Left|Right", lambda m: swap[m.group(0)], c)
        if mirrored != c and mirrored in index:
            out[i] = index[mirrored]
    return out


class ClipTransform:
    """Frames (T,H,W,C) or one image (H,W,C) -> (C,T,H,W) if layout="3d" else (T,C,H,W) (or (C,H,W) for an image).

    train=True: one random resized crop, horizontal flip (label mapped by `label_flip`; flip=False disables
    it, for classes whose meaning depends on direction without a mirror class) and rotation, all shared by
    every frame. train=False: resize the short side, centre crop. flow=True: input is float (dx, dy) fields;
    flipping negates dx and resizing scales the vectors; no mean/std normalisation.
    """

    def __init__(
        self,
        size: int | tuple[int, int] = 112,
        *,
        train: bool = False,
        layout: str = "3d",
        mean: tuple[float, ...] = KINETICS_MEAN,
        std: tuple[float, ...] = KINETICS_STD,
        flip: bool = True,
        label_flip: dict[int, int] | None = None,
        scale: tuple[float, float] = (0.5, 1.0),
        rotation: float = 0.0,
        flow: bool = False,
    ) -> None:
        if layout not in ("3d", "2d"):
            raise ConfigError(None, f"ClipTransform layout must be '3d' or '2d', got {layout!r}")
        if flow and rotation:
            raise ConfigError(None, "ClipTransform: rotation of flow fields is not supported")
        self.size = (size, size) if isinstance(size, int) else tuple(size)
        self.train, self.layout, self.flip, self.label_flip = train, layout, flip, dict(label_flip or {})
        self.mean, self.std, self.scale, self.rotation, self.flow = mean, std, scale, rotation, flow

    def __call__(self, frames: np.ndarray, label: int | None = None) -> tuple[torch.Tensor, int | None]:
        """Transform one clip (and its label, which a flip may mirror)."""
        # imported here, not at the top: every verb that reads `flip_label_map` or the constants would pay
        # torchvision's ~2 s import (torch._dynamo, through torchvision.ops)
        import torchvision.transforms.v2.functional as TF
        from torchvision.transforms import RandomResizedCrop

        single = frames.ndim == 3
        x = torch.from_numpy(np.ascontiguousarray(frames[None] if single else frames)).permute(0, 3, 1, 2)
        x = x.float() if self.flow else x.float() / 255.0
        h0, w0 = x.shape[-2:]
        if self.train:
            i, j, h, w = RandomResizedCrop.get_params(x, self.scale, (3 / 4, 4 / 3))
            x = TF.resized_crop(x, i, j, h, w, list(self.size), antialias=True)
            sx, sy = self.size[1] / w, self.size[0] / h
            if self.flip and torch.rand(()) < 0.5:
                x = TF.horizontal_flip(x)
                if self.flow:
                    x[:, 0] = -x[:, 0]
                if label is not None:
                    label = self.label_flip.get(label, label)
            if self.rotation:
                x = TF.rotate(x, float(torch.empty(()).uniform_(-self.rotation, self.rotation)))
        else:
            short = min(self.size) * (256 / 224)  # the usual resize-then-centre-crop margin
            r = short / min(h0, w0)
            x = TF.resize(x, [max(self.size[0], round(h0 * r)), max(self.size[1], round(w0 * r))], antialias=True)
            sx, sy = x.shape[-1] / w0, x.shape[-2] / h0
            x = TF.center_crop(x, list(self.size))
        if self.flow:
            x[:, 0] *= sx
            x[:, 1] *= sy
        else:
            x = TF.normalize(x, list(self.mean), list(self.std))
        if self.layout == "3d" and not single:
            return x.permute(1, 0, 2, 3).contiguous(), label
        return (x[0] if single else x), label


def to_tensor(frames: np.ndarray, layout: str = "3d", mean=KINETICS_MEAN, std=KINETICS_STD) -> torch.Tensor:
    """Normalise uint8 frames without resizing: (C,T,H,W) for layout "3d", (T,3,H,W) for "2d"."""
    import torchvision.transforms.v2.functional as TF

    x = torch.from_numpy(np.ascontiguousarray(frames)).float().div_(255.0)
    x = TF.normalize(x.movedim(-1, -3), list(mean), list(std))
    return x.movedim(0, 1).contiguous() if layout == "3d" and x.dim() == 4 else x
