"""features-lstm: the two-stage chain frame CNN -> per-frame features -> LSTM/GRU over variable-length sequences.

Workflow C of the mission: the frame CNN is trained on single frames (or reused from a `frame-cnn` run of the same
compare); its per-frame features are normalised with training-split statistics; the recurrent head trains on a
fixed-length window per video (mirror-padded when the video is shorter, a random window when longer) and the test
averages several windows spread over the video.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn

from actionlab.methods.base import register_method
from actionlab.methods.clips import decode_all, decode_sequence
from actionlab.methods.fitting import fit_arrays
from actionlab.methods.frame_cnn import FRAME_CNN, frames_of
from actionlab.methods.netmethod import NetMethod, create, to_float
from actionlab.sampling.padding import pad_indices

LSTM_DEFAULTS: dict[str, Any] = {"seq_step": 2, "seq_max": 48, "window": 16, "test_windows": 3, "hidden": 128,
                                 "cell": "lstm"}


class Chain(nn.Module):
    """Frame CNN + train-split feature normalisation + recurrent head over the frame sequence."""

    def __init__(self, cnn: nn.Module, rnn: nn.Module) -> None:
        super().__init__()
        self.cnn, self.rnn = cnn, rnn
        self.register_buffer("mean", torch.zeros(cnn.num_features))
        self.register_buffer("std", torch.ones(cnn.num_features))

    @torch.no_grad()
    def frame_features(self, frames: np.ndarray, batch: int = 64) -> torch.Tensor:
        """Normalised features (T, D) of uint8 frames (T, H, W, 3), in eval mode."""
        self.cnn.eval()
        x = to_float(frames).permute(0, 3, 1, 2)
        feats = torch.cat([self.cnn.forward_features(x[s:s + batch]) for s in range(0, len(x), batch)])
        return (feats - self.mean) / self.std

    def forward(self, feats: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Logits from normalised feature sequences (B, T, D)."""
        return self.rnn(feats, lengths)


def window(num_frames: int, length: int, start: int) -> np.ndarray:
    """`length` frame positions from `start`, mirror-padded (backwards, then forwards) past the video's end."""
    return pad_indices(np.arange(start, start + length), num_frames, "mirror")


def window_starts(num_frames: int, length: int, count: int) -> list[int]:
    """`count` window starts spread evenly over the video (one at 0 when it is no longer than a window)."""
    if num_frames <= length:
        return [0]
    return sorted({int(round(s)) for s in np.linspace(0, num_frames - length, count)})


class FeaturesLSTM(NetMethod):
    """Stage 1 trains (or reuses) the frame CNN; stage 2 trains an LSTM/GRU over its frozen per-frame features."""

    name = "features-lstm"
    description = ("two-stage chain: frame CNN, then an LSTM (cell=gru for a GRU) over its normalised frame features; "
                   "mirror-padded training windows, several test windows averaged")
    temporal = True

    def build(self, num_classes: int, cfg: dict[str, Any]) -> nn.Module:
        cfg = {**LSTM_DEFAULTS, **cfg}
        cnn = FRAME_CNN.build(num_classes, cfg)
        rnn = create("rnn-head", num_classes=num_classes, in_features=cnn.num_features, hidden=int(cfg["hidden"]),
                     cell=str(cfg["cell"]))
        return Chain(cnn, rnn)

    def inputs(self, paths: Sequence[str | Path], cfg: dict[str, Any], desc: str):
        """Variable-length frame sequences: every seq_step-th frame, at most seq_max of them."""
        cfg = {**LSTM_DEFAULTS, **cfg}
        return decode_all(paths, lambda p: decode_sequence(p, int(cfg["seq_step"]), int(cfg["seq_max"]),
                                                           int(cfg["size"])), desc)

    def fit_model(self, model: nn.Module, train: tuple[Any, np.ndarray], val: tuple[Any, np.ndarray] | None,
                  cfg: dict[str, Any], run_dir: Path) -> list[dict[str, Any]]:
        cfg = {**LSTM_DEFAULTS, **cfg}
        stage1 = self._frame_cnn(model, train, val, cfg, run_dir)
        seqs, labels = train
        feats = [model.frame_features(s) for s in seqs]  # unnormalised so far: mean 0, std 1 buffers
        flat = torch.cat(feats)
        model.mean.copy_(flat.mean(0))
        model.std.copy_(flat.std(0).clamp(min=1e-3))
        feats = [(f - model.mean) / model.std for f in feats]
        vfeats = None if val is None else ([model.frame_features(s) for s in val[0]], val[1])
        length = int(cfg["window"])

        def make_inputs(items: list[torch.Tensor], rng: np.random.Generator | None) -> tuple[torch.Tensor, ...]:
            f = items[0]
            start = int(rng.integers(0, max(1, len(f) - length + 1))) if rng is not None else \
                max(0, (len(f) - length) // 2)
            return (f[window(len(f), length, start)][None],)

        rnn_cfg = {**cfg, "epochs": int(cfg.get("rnn_epochs", cfg["epochs"])), "lr": float(cfg.get("rnn_lr", 3e-3))}
        stage2 = fit_arrays(model.rnn, make_inputs, (feats, labels), vfeats, rnn_cfg, run_dir / "lstm")
        return [dict(h, stage="frame-cnn") for h in stage1] + [dict(h, stage="lstm") for h in stage2]

    def _frame_cnn(self, model: Chain, train: tuple[Any, np.ndarray], val: tuple[Any, np.ndarray] | None,
                   cfg: dict[str, Any], run_dir: Path) -> list[dict[str, Any]]:
        """Reuse the compare's frame-cnn run when it matches; otherwise train the CNN on random single frames."""
        prior = cfg.get("prior_runs", {}).get(FRAME_CNN.name)
        if prior is not None:
            cnn, pcfg = FRAME_CNN.load(prior)
            if int(pcfg["size"]) == int(cfg["size"]) and pcfg.get("width") == cfg.get("width"):
                model.cnn.load_state_dict(cnn.state_dict())
                print(f"features-lstm: reusing the frame CNN of {prior}", file=sys.stderr)
                return []

        vframes = None if val is None else frames_of(*val)
        return FRAME_CNN.fit_frames(model.cnn, frames_of(*train), vframes, cfg, run_dir / "frame-cnn")

    @torch.no_grad()
    def scores(self, model: nn.Module, seqs: Any, cfg: dict[str, Any]) -> dict[str, np.ndarray]:
        """Video scores = softmax averaged over test windows; single_frame = the CNN's own middle-frame scores."""
        cfg = {**LSTM_DEFAULTS, **cfg}
        model.eval()
        length, count = int(cfg["window"]), int(cfg["test_windows"])
        video, single = [], []
        for seq in seqs:
            feats = model.frame_features(seq)
            wins = torch.stack([feats[window(len(feats), length, s)] for s in window_starts(len(feats), length, count)])
            video.append(torch.softmax(model(wins), 1).mean(0))
            mid = feats[len(feats) // 2] * model.std + model.mean  # the CNN head wants raw features
            single.append(torch.softmax(model.cnn.forward_head(mid[None]), 1)[0])
        if not video:
            return {"video": np.zeros((0, 0)), "single_frame": np.zeros((0, 0))}
        return {"video": torch.stack(video).numpy(), "single_frame": torch.stack(single).numpy()}


FEATURES_LSTM = register_method(FeaturesLSTM())
