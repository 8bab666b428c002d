"""Training any actionlab model on any Dataset of (input, label) pairs.

    from actionlab.training import TrainConfig, Trainer, predict_scores
    cfg = TrainConfig(epochs=10, batch_size=8, optimizer="adamw", lr=1e-3, schedule="cosine-restarts",
                      schedule_params={"T_0": 5}, early_stopping=3, seed=0, bf16=False)
    history = Trainer(cfg).fit(model, train_ds, val_ds, run_dir, resume=True,
                               extra_config={"classes": classes})   # stored in run_dir/config.json
    model, config = actionlab.models.load_run_model(run_dir)           # the best epoch (config.monitor)
    scores = predict_scores(model, test_ds, batch_size=32)             # (N, C) softmax, numpy

Inputs may be tuples (e.g. (sequence, length) for rnn-head, (rgb, flow) for two-stream): the model is
called as model(*inputs). run_dir gets model.safetensors + config.json (best epoch), history.json
(per-epoch train/val loss and accuracy, lr, seconds) and last_state.pt (resume state, weights_only-safe).
A resumed run continues at the next epoch and ends identical to an uninterrupted one (RNGs are reseeded
from (seed, epoch)); for identical runs also seed torch before building the model. Schedules step per epoch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# name -> submodule, imported on first use: `actionlab.training.config` (the option choices) must stay
# importable without torch, and importing a submodule runs this file first.
_LAZY = {
    "TrainConfig": "config",
    "build_optimizer": "config",
    "build_scheduler": "config",
    "predict_scores": "predict",
    "EpochStats": "trainer",
    "History": "trainer",
    "Trainer": "trainer",
}

if TYPE_CHECKING:
    from actionlab.training.config import TrainConfig, build_optimizer, build_scheduler
    from actionlab.training.predict import predict_scores
    from actionlab.training.trainer import EpochStats, History, Trainer

__all__ = ["EpochStats", "History", "TrainConfig", "Trainer", "build_optimizer", "build_scheduler", "predict_scores"]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    globals()[name] = value
    return value
