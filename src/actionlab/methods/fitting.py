"""How methods train: in-memory arrays fed to training.Trainer, with the method's own batching and augmentation."""

from __future__ import annotations

import io
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from actionlab.models.checkpoint import atomic_write_bytes
from actionlab.training import TrainConfig, Trainer

# Method defaults differ from TrainConfig's generic ones: short from-scratch runs on CPU want a higher LR with a
# warmup and a cosine decay, and a little label smoothing.
METHOD_TRAIN_DEFAULTS: dict[str, Any] = {"lr": 3e-3, "schedule": "cosine", "warmup_epochs": 2, "label_smoothing": 0.05,
                                         "tensorboard": True}
MakeInputs = Callable[[np.ndarray, "np.random.Generator | None"], tuple[torch.Tensor, ...]]


def train_config(cfg: dict[str, Any], **overrides: Any) -> TrainConfig:
    """TrainConfig from a method config: every key named like a TrainConfig field is passed on.

    bf16 autocast stays opt-in (`bf16: true`): benchmarks/train_step.py measures about 1.5x per training step here.
    clip3d used to diverge to NaN in bf16; the cause was oneDNN's bf16 Conv3d gradient, which training.bf16 routes
    around.
    """
    names = {f.name for f in fields(TrainConfig)}
    merged = {**METHOD_TRAIN_DEFAULTS, **{k: v for k, v in cfg.items() if k in names}, **overrides}
    merged["bf16"] = bool(merged.get("bf16") or False)
    merged["warmup_epochs"] = min(int(merged["warmup_epochs"]), max(0, int(merged.get("epochs", 10)) - 1))
    return TrainConfig(**merged)


class ArrayItems(Dataset):
    """Items i of in-memory arrays, turned into model inputs by `make_inputs` (augmented when `train`)."""

    def __init__(self, arrays: np.ndarray | torch.Tensor, labels: np.ndarray, make_inputs: MakeInputs,
                 train: bool) -> None:
        self.arrays, self.labels, self.make_inputs, self.train = arrays, labels, make_inputs, train

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[tuple[torch.Tensor, ...], int]:
        # numpy's global state is reseeded per epoch by the Trainer, so augmentation is reproducible and resumable
        rng = np.random.default_rng(np.random.randint(2**31)) if self.train else None
        return self.make_inputs(self.arrays[i:i + 1], rng), int(self.labels[i])


def collate_items(items: list[tuple[tuple[torch.Tensor, ...], int]]) -> tuple[tuple[torch.Tensor, ...], torch.Tensor]:
    """Concatenate per-item input tuples (each with a batch dimension of 1) into one batch."""
    inputs = tuple(torch.cat(parts) for parts in zip(*(item[0] for item in items)))
    return inputs, torch.tensor([item[1] for item in items], dtype=torch.int64)


def fit_arrays(model: nn.Module, make_inputs: MakeInputs, train: tuple[Any, np.ndarray],
               val: tuple[Any, np.ndarray] | None, cfg: dict[str, Any], run_dir: Path,
               **overrides: Any) -> list[dict[str, Any]]:
    """Fit with the Trainer (schedule, early stopping, resume) and return with the best epoch's weights loaded."""
    run_dir.mkdir(parents=True, exist_ok=True)
    best = run_dir / "best_state.pt"

    def keep_best(m: nn.Module, _info: dict) -> None:
        # a plain state dict: the method writes its own model.safetensors + config.json once training ends
        buf = io.BytesIO()
        torch.save({k: v.detach().cpu() for k, v in m.state_dict().items()}, buf)
        atomic_write_bytes(best, buf.getvalue())

    train_ds = ArrayItems(*train, make_inputs, train=True)
    val_ds = ArrayItems(*val, make_inputs, train=False) if val is not None and len(val[1]) else None
    history = Trainer(train_config(cfg, **overrides)).fit(model, train_ds, val_ds, run_dir, collate_fn=collate_items,
                                                          resume=bool(cfg.get("resume", False)), save_fn=keep_best)
    if best.is_file():
        model.load_state_dict(torch.load(best, map_location="cpu", weights_only=True))
    model.cpu().eval()
    return [dict(asdict(e), epoch=e.epoch + 1) for e in history.epochs]  # 1-based for people and plots
