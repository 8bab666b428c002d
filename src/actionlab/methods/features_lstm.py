"""features-lstm: the two-stage chain frame-cnn -> per-frame CNN features -> LSTM/GRU, trained as one method."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from actionlab.methods.base import register_method
from actionlab.methods.frame_cnn import FRAME_CNN
from actionlab.methods.loop import fit
from actionlab.methods.netmethod import NetMethod, create, to_float


class Chain(nn.Module):
    """Frozen frame CNN + train-split feature normalisation + recurrent head over the frame sequence."""

    def __init__(self, cnn: nn.Module, rnn: nn.Module) -> None:
        super().__init__()
        self.cnn, self.rnn = cnn, rnn
        self.register_buffer("mean", torch.zeros(cnn.num_features))
        self.register_buffer("std", torch.ones(cnn.num_features))

    def sequence(self, frames: torch.Tensor) -> torch.Tensor:
        """(B, T, 3, H, W) -> normalised per-frame features (B, T, D)."""
        b, t = frames.shape[:2]
        return (self.cnn.forward_features(frames.flatten(0, 1)).unflatten(0, (b, t)) - self.mean) / self.std

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        """Logits from a batch of frame sequences."""
        return self.rnn(self.sequence(frames))


class FeaturesLSTM(NetMethod):
    """Stage 1 trains frame-cnn; stage 2 trains an LSTM over its frozen per-frame features."""

    name = "features-lstm"
    description = "two-stage chain: frame-cnn, then an LSTM (config cell=gru for a GRU) over its frame features"
    temporal = True

    def build(self, num_classes: int, cfg: dict[str, Any]) -> nn.Module:
        cnn = FRAME_CNN.build(num_classes, cfg)
        rnn = create("rnn-head", num_classes=num_classes, in_features=cnn.num_features,
                     hidden=int(cfg.get("hidden", 128)), cell=str(cfg.get("cell", "lstm")))
        return Chain(cnn, rnn)

    def batch(self, clips: np.ndarray, rng: np.random.Generator | None) -> tuple[torch.Tensor, ...]:
        return (to_float(clips).permute(0, 1, 4, 2, 3),)

    def fit_model(self, model: nn.Module, clips: np.ndarray, labels: np.ndarray, cfg: dict[str, Any],
                  run_dir: Path) -> list[dict[str, float]]:
        (run_dir / "stage1").mkdir(exist_ok=True)
        stage1 = FRAME_CNN.fit_model(model.cnn, clips, labels, cfg, run_dir / "stage1")
        with torch.no_grad():
            feats = FRAME_CNN.frame_features(model.cnn, clips)
        model.mean.copy_(feats.mean((0, 1)))
        model.std.copy_(feats.std((0, 1)).clamp(min=1e-3))
        feats = (feats - model.mean) / model.std
        for p in model.cnn.parameters():
            p.requires_grad_(False)
        lab = torch.from_numpy(labels)
        t = feats.shape[1]
        win = max(2, int(cfg.get("window", t * 3 // 4)))

        def make_batch(idx: np.ndarray, rng: np.random.Generator | None):
            # a random window in training; the full sequence is what the test sees (multi-window averaging)
            start = int(rng.integers(0, t - win + 1)) if rng is not None else 0
            return (feats[idx, start:start + win],), lab[idx]

        stage2 = fit(model.rnn, make_batch, len(feats), epochs=int(cfg.get("rnn_epochs", 2 * int(cfg["epochs"]))),
                     batch_size=int(cfg["batch_size"]), lr=float(cfg.get("rnn_lr", 3e-3)), seed=int(cfg["seed"]),
                     state_path=run_dir / "train_state_rnn.pt", resume=bool(cfg["resume"]), desc="lstm")
        return [dict(h, stage="frame-cnn") for h in stage1] + [dict(h, stage="lstm") for h in stage2]


FEATURES_LSTM = register_method(FeaturesLSTM())
