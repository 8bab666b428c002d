"""The option groups every preset is built from: training, transfer, and decoded-frame input.

A preset's Options class inherits the groups it uses and adds its own fields, so `--set KEY=VALUE`, config
files and the Python API all name the same flat keys, and `actionlab methods NAME` lists them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TypeVar

from actionlab.errors import ConfigError
from actionlab.options import Options, opt
from actionlab.training.config import OPTIMIZERS, SCHEDULES
from actionlab.training.tracking import TRACKERS

T = TypeVar("T", bound="TrainOptions")

FREEZE_RE = re.compile(r"^(none|backbone|all-but-last:[1-9][0-9]*)$")
# min_steps raises epochs to at most this multiple of the default: a tiny set is not trained for hundreds of epochs
AUTO_EPOCHS_CAP = 3
MIN_STEPS_HELP = (
    "with epochs not given: more epochs on a small training set, for at least this many optimisation steps "
    f"(at most {AUTO_EPOCHS_CAP}x epochs; 0: off; config.json records the epochs chosen, and 0)"
)
# options that only mean something under one schedule: (option, schedules that use it)
SCHEDULE_OPTIONS = {
    "restart_period": ("cosine-restarts",),
    "gamma": ("exponential", "step"),
    "step_size": ("step",),
    "cycle_epochs": ("triangular2",),
}


@dataclass(frozen=True)
class TrainOptions(Options):
    """How the network is fitted: optimiser, schedule, stopping, precision, seed."""

    epochs: int = opt(20, "training epochs (the schedule spans them)", low=1)
    min_steps: int = opt(0, MIN_STEPS_HELP, low=0)
    batch_size: int = opt(16, "samples per optimisation step", low=1)
    lr: float = opt(1e-3, "peak learning rate", low=1e-12)
    optimizer: str = opt("adamw", "optimiser", choices=OPTIMIZERS)
    weight_decay: float = opt(1e-4, "weight decay", low=0)
    schedule: str = opt("cosine", "per-epoch learning-rate schedule", choices=SCHEDULES)
    restart_period: int = opt(10, "cosine-restarts: epochs of the first cycle (T_0)", low=1)
    gamma: float = opt(
        0.9, "exponential/step: decay factor per epoch (per step_size epochs for step)", low=1e-6, high=1.0
    )
    step_size: int = opt(10, "step: epochs between decays", low=1)
    cycle_epochs: int = opt(2, "triangular2: epochs from the lowest to the highest learning rate", low=1)
    warmup: int = opt(0, "linear warm-up epochs before the schedule", low=0)
    early_stopping: int | None = opt(None, "stop after this many epochs without a validation-loss gain", low=1)
    label_smoothing: float = opt(0.05, "cross-entropy label smoothing", low=0, high=0.99)
    precision: str = opt(
        "fp32",
        "training arithmetic (bf16: autocast, ~1.5x per step on CPUs with native bf16; "
        "fp16: autocast with loss scaling, CUDA only)",
        choices=("fp32", "bf16", "fp16"),
    )
    seed: int = opt(0, "seed of every random choice: splits, initial weights, sampling, augmentation", low=0)
    val_fraction: float = opt(
        0.0, "fraction of train held out for validation (stratified, group-aware)", low=0, high=0.9
    )
    workers: int = opt(2, "DataLoader processes that decode while the network trains (0: in-process)", low=0)
    device: str = opt("auto", "auto (cuda when present), cpu, cuda or cuda:N")
    tracker: str = opt(
        "tensorboard",
        "where per-epoch numbers, config and hparams are logged: RUN/tensorboard, "
        "a local MLflow store RUN/mlruns, or nothing",
        choices=TRACKERS,
    )
    time_budget: float | None = opt(None, "seconds of training after which no new epoch starts", low=0.01)

    def check(self) -> None:
        """Schedule-specific options only with their schedule; warm-up shorter than training."""
        super().check()
        for name, schedules in SCHEDULE_OPTIONS.items():
            if self.given(name) and self.schedule not in schedules:
                raise ConfigError(
                    None, f"{name} applies to schedule {' or '.join(schedules)} only, not {self.schedule!r}"
                )
        if self.warmup >= self.epochs:
            raise ConfigError(None, f"warmup ({self.warmup}) must be shorter than epochs ({self.epochs})")
        if self.given("min_steps") and self.min_steps and self.given("epochs"):
            raise ConfigError(None, "min_steps applies only when epochs is not given (it chooses the epochs)")
        if not re.fullmatch(r"auto|cpu|cuda(:[0-9]+)?", self.device):
            raise ConfigError(None, f"device must be auto, cpu, cuda or cuda:N, not {self.device!r}")

    def for_training_set(self: T, n_train: int) -> tuple[T, str | None]:
        """These options with the epochs a training set of `n_train` samples gets (epochs not given: at least
        min_steps optimisation steps, at most AUTO_EPOCHS_CAP x epochs), min_steps then 0 as it has been applied;
        and the line saying so when it raised them."""
        if self.given("epochs") or not self.min_steps:
            return self, None
        per_epoch = max(1, n_train // self.batch_size)  # training drops the last partial batch
        epochs = min(AUTO_EPOCHS_CAP * self.epochs, max(self.epochs, -(-self.min_steps // per_epoch)))
        resolved = self.replace(epochs=epochs, min_steps=0)
        if epochs == self.epochs:
            return resolved, None
        short = "" if epochs * per_epoch >= self.min_steps else f", capped at {AUTO_EPOCHS_CAP}x"
        why = (
            f"{epochs} epochs instead of {self.epochs}: {n_train} training samples make {per_epoch} steps of "
            f"{self.batch_size} per epoch, and min_steps={self.min_steps}{short} (set epochs to choose)"
        )
        return resolved, why


@dataclass(frozen=True)
class TransferOptions(Options):
    """Where the weights start and which of them train."""

    init: str | None = opt(None, "starting weights: a run folder, a weight file, imagenet or kinetics400")
    freeze: str = opt("none", "none, backbone (all but the classifier), or all-but-last:K (K last stages + head)")
    unfreeze_epoch: int | None = opt(None, "epoch (1-based) from which frozen parts train too", low=1)
    unfrozen_lr: float = opt(
        0.1, "learning-rate multiplier of the parts that were frozen, once unfrozen", low=0, high=1
    )

    def check(self) -> None:
        """A valid freeze spec; unfreezing needs something frozen."""
        super().check()
        if not FREEZE_RE.match(self.freeze):
            raise ConfigError(None, f"freeze must be none, backbone or all-but-last:K, not {self.freeze!r}")
        if self.unfreeze_epoch is not None and self.freeze == "none":
            raise ConfigError(None, "unfreeze_epoch needs freeze=backbone or all-but-last:K")
        if self.given("unfrozen_lr") and self.unfreeze_epoch is None:
            raise ConfigError(None, "unfrozen_lr applies only with unfreeze_epoch")


@dataclass(frozen=True)
class FrameOptions(Options):
    """Decoded RGB input: how many frames, at what size, with which training augmentation."""

    frames: int = opt(16, "frames per clip (1 = the middle frame at test)", low=1)
    size: int = opt(64, "frames are resized to size x size pixels", low=16)
    flip: bool = opt(True, "random horizontal flip in training (left/right class names swap with it)")
    rotation: float = opt(0.0, "random rotation in training, up to this many degrees", low=0, high=180)
    crop_scale: float = opt(
        1.0, "random resized crop in training: smallest area fraction (1 = no crop)", low=0.05, high=1.0
    )
    shift: int = opt(4, "random translation in training, up to this many pixels", low=0)
    color: bool = opt(True, "colour augmentation in training (channel shuffle, grey, gain, negative)")
