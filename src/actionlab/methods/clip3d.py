"""clip3d: a small residual (2+1)D CNN on the decoded clip (torchvision r3d_18 / r2plus1d_18 on request)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from actionlab.methods.base import register_method
from actionlab.methods.frame_cnn import appearance, shift
from actionlab.methods.netmethod import NetMethod, create, to_float


class Clip3D(NetMethod):
    """r2plus1d-small on (3, T, H, W) clips."""

    name = "clip3d"
    description = "residual (2+1)D CNN on 16-frame clips (config model=r3d_18|r2plus1d_18 for torchvision's)"
    temporal = True

    def build(self, num_classes: int, cfg: dict[str, Any]) -> nn.Module:
        arch = cfg.get("model", "r2plus1d-small")
        if arch == "r2plus1d-small":
            return create(arch, num_classes=num_classes, width=int(cfg.get("width", 16)))
        return create(arch, num_classes=num_classes)

    def batch(self, clips: np.ndarray, rng: np.random.Generator | None) -> tuple[torch.Tensor, ...]:
        x = to_float(clips).permute(0, 4, 1, 2, 3)  # (B, 3, T, H, W)
        if rng is not None:
            x = shift(appearance(x, rng).transpose(1, 2), rng).transpose(1, 2)
        return (x.contiguous(),)


CLIP3D = register_method(Clip3D())
