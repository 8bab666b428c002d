"""frame-cnn: a small 2D ResNet on single frames (random frame in training, late fusion over frames at test)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from actionlab.methods.base import register_method
from actionlab.methods.fitting import fit_arrays
from actionlab.methods.netmethod import NetMethod, create, to_float


def shift(x: torch.Tensor, rng: np.random.Generator, pad: int = 4) -> torch.Tensor:
    """Random translation by up to `pad` pixels (last two dims); no flip, which would swap left/right actions."""
    h, w = x.shape[-2:]
    padded = nn.functional.pad(x, (pad, pad, pad, pad), mode="replicate") if x.dim() == 4 else \
        nn.functional.pad(x.flatten(0, 1), (pad, pad, pad, pad), mode="replicate").unflatten(0, x.shape[:2])
    dy, dx = rng.integers(0, 2 * pad + 1, 2)
    return padded[..., dy:dy + h, dx:dx + w]


def appearance(x: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    """Colour augmentation on normalised (B, 3, ...) input: channel shuffle, grey, gain/offset, negative.

    From-scratch CNNs on small action sets otherwise memorise each clip's colours and background instead of the
    body's pose (frame-cnn's held-out accuracy went from ~10 % to ~55 % with it on the synthetic set).
    """
    x = x[:, rng.permutation(3)]
    if rng.random() < 0.3:
        x = x.mean(1, keepdim=True).expand_as(x)
    x = x * float(rng.uniform(0.6, 1.4)) + float(rng.uniform(-0.5, 0.5))
    return -x if rng.random() < 0.5 else x


class FrameCNN(NetMethod):
    """resnet-small on single frames."""

    name = "frame-cnn"
    description = "2D ResNet on single frames (every decoded frame trains); middle frame and late fusion of all frames at test"
    temporal = False

    def build(self, num_classes: int, cfg: dict[str, Any]) -> nn.Module:
        return create("resnet-small", num_classes=num_classes, width=int(cfg.get("width", 16)))

    def batch(self, clips: np.ndarray, rng: np.random.Generator | None) -> tuple[torch.Tensor, ...]:
        """The middle frame of each clip (training goes through fit_frames instead)."""
        return (to_float(clips[:, clips.shape[1] // 2]).permute(0, 3, 1, 2),)

    def fit_model(self, model: nn.Module, train: tuple[np.ndarray, np.ndarray],
                  val: tuple[np.ndarray, np.ndarray] | None, cfg: dict[str, Any], run_dir: Path) -> list[dict[str, Any]]:
        """Train on every decoded frame of every clip (an epoch sees each frame once, with its video's label)."""
        return self.fit_frames(model, frames_of(*train), None if val is None else frames_of(*val), cfg, run_dir)

    def fit_frames(self, model: nn.Module, train: tuple[np.ndarray, np.ndarray],
                   val: tuple[np.ndarray, np.ndarray] | None, cfg: dict[str, Any], run_dir: Path) -> list[dict[str, Any]]:
        """Fit the 2D CNN on single uint8 frames (N, H, W, 3) with their labels."""

        def make_inputs(frames: np.ndarray, rng: np.random.Generator | None) -> tuple[torch.Tensor, ...]:
            x = to_float(frames).permute(0, 3, 1, 2)
            return (x if rng is None else shift(appearance(x, rng), rng),)

        return fit_arrays(model, make_inputs, train, val, cfg, run_dir)

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


def frames_of(clips: np.ndarray | list[np.ndarray], labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All frames of uint8 clips (or variable-length sequences) with each frame labelled by its video."""
    frames = np.concatenate(list(clips)) if len(clips) else np.zeros((0, 1, 1, 3), np.uint8)
    return frames, np.repeat(labels, [len(c) for c in clips])


FRAME_CNN = register_method(FrameCNN())
