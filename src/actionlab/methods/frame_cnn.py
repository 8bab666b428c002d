"""frame-cnn: a small 2D ResNet on single frames (random frame in training, late fusion over frames at test)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from actionlab.methods.base import register_method
from actionlab.methods.netmethod import NetMethod, create, to_float


def shift(x: torch.Tensor, rng: np.random.Generator, pad: int = 4) -> torch.Tensor:
    """Random translation by up to `pad` pixels (last two dims); no flip, which would swap left/right actions."""
    h, w = x.shape[-2:]
    padded = nn.functional.pad(x, (pad, pad, pad, pad), mode="replicate") if x.dim() == 4 else \
        nn.functional.pad(x.flatten(0, 1), (pad, pad, pad, pad), mode="replicate").unflatten(0, x.shape[:2])
    dy, dx = rng.integers(0, 2 * pad + 1, 2)
    return padded[..., dy:dy + h, dx:dx + w]


class FrameCNN(NetMethod):
    """resnet-small on single frames."""

    name = "frame-cnn"
    description = "2D ResNet on single frames; random frame to train, middle frame and averaged frames to test"
    temporal = False

    def build(self, num_classes: int, cfg: dict[str, Any]) -> nn.Module:
        return create("resnet-small", num_classes=num_classes, width=int(cfg.get("width", 16)))

    def batch(self, clips: np.ndarray, rng: np.random.Generator | None) -> tuple[torch.Tensor, ...]:
        if rng is None:
            frames = clips[:, clips.shape[1] // 2]
            return (to_float(frames).permute(0, 3, 1, 2),)
        pick = rng.integers(0, clips.shape[1], len(clips))
        frames = to_float(clips[np.arange(len(clips)), pick]).permute(0, 3, 1, 2)
        return (shift(frames, rng),)

    def frame_features(self, model: nn.Module, clips: np.ndarray) -> torch.Tensor:
        """Per-frame pooled features (N, T, D) in eval mode."""
        model.eval()
        n, t = clips.shape[:2]
        feats = [model.forward_features(to_float(clips[s:s + 8].reshape(-1, *clips.shape[2:])).permute(0, 3, 1, 2))
                 for s in range(0, n, 8)]
        return torch.cat(feats).reshape(n, t, -1)

    def scores(self, model: nn.Module, clips: np.ndarray, cfg: dict[str, Any]) -> dict[str, np.ndarray]:
        feats = self.frame_features(model, clips)
        probs = torch.softmax(model.forward_head(feats), -1)  # (N, T, C)
        mid = clips.shape[1] // 2
        return {"video": probs.mean(1).numpy(), "single_frame": probs[:, mid].numpy()}


FRAME_CNN = register_method(FrameCNN())
