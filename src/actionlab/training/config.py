"""`TrainConfig`: every training option in one validated dataclass; optimizer and LR-schedule builders.

torch is imported inside the builders only: the option declarations (methods/options.py) read OPTIMIZERS and
SCHEDULES from here, and `actionlab train --help` must not pay for importing torch.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

from actionlab.errors import ConfigError

if TYPE_CHECKING:
    import torch

OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULES = ("constant", "cosine", "cosine-restarts", "exponential", "triangular2", "step")


@dataclass
class TrainConfig:
    """Options for Trainer.fit. Schedules step once per epoch; `schedule_params` go to the torch scheduler.

    schedule_params: cosine {T_max=epochs - warmup_epochs, eta_min=0}; cosine-restarts {T_0=10, T_mult=1,
    eta_min=0}; exponential {gamma=0.9}; step {step_size=10, gamma=0.1}; triangular2 {base_lr=lr/10, max_lr=lr,
    step_size_up=2} (in epochs).
    """

    epochs: int = 10
    batch_size: int = 16
    optimizer: str = "adamw"
    lr: float = 1e-3
    weight_decay: float = 1e-4
    momentum: float = 0.9
    schedule: str = "constant"
    schedule_params: dict = field(default_factory=dict)
    warmup_epochs: int = 0
    early_stopping: int | None = None  # patience in epochs without a val-loss improvement
    monitor: str = "val_loss"  # which metric picks the best checkpoint: val_loss (min) or val_acc (max)
    seed: int = 0
    bf16: bool = False
    channels_last: bool = False
    num_workers: int = 0
    grad_clip: float | None = None
    label_smoothing: float = 0.0
    device: str = "auto"
    progress: bool = True
    tracker: str = "tensorboard"  # training.tracking.TRACKERS: tensorboard | mlflow | none
    time_budget: float | None = None  # seconds of training after which no new epoch starts
    fp16: bool = False  # float16 autocast with loss scaling (CUDA only; bf16 needs no scaling)

    def __post_init__(self) -> None:
        checks = [
            (self.epochs >= 1, "epochs must be >= 1"),
            (self.batch_size >= 1, "batch_size must be >= 1"),
            (self.optimizer in OPTIMIZERS, f"optimizer must be one of {OPTIMIZERS}"),
            (self.lr > 0, "lr must be > 0"),
            (self.weight_decay >= 0 and self.momentum >= 0, "weight_decay and momentum must be >= 0"),
            (self.schedule in SCHEDULES, f"schedule must be one of {SCHEDULES}"),
            (isinstance(self.schedule_params, dict), "schedule_params must be a dict"),
            (self.warmup_epochs >= 0, "warmup_epochs must be >= 0"),
            (self.early_stopping is None or self.early_stopping >= 1, "early_stopping patience must be >= 1"),
            (self.monitor in ("val_loss", "val_acc"), "monitor must be 'val_loss' or 'val_acc'"),
            (self.num_workers >= 0, "num_workers must be >= 0"),
            (self.grad_clip is None or self.grad_clip > 0, "grad_clip must be > 0"),
            (0 <= self.label_smoothing < 1, "label_smoothing must be in [0, 1)"),
            (self.device in ("auto", "cpu", "cuda") or self.device.startswith("cuda:"), "device: auto|cpu|cuda[:N]"),
            (self.tracker in ("tensorboard", "mlflow", "none"), "tracker must be tensorboard, mlflow or none"),
            (self.time_budget is None or self.time_budget > 0, "time_budget must be > 0 seconds"),
            (not (self.bf16 and self.fp16), "bf16 and fp16 exclude each other"),
        ]
        for ok, reason in checks:
            if not ok:
                raise ConfigError(None, f"TrainConfig: {reason}")

    def to_dict(self) -> dict:
        """Plain dict for config.json."""
        return asdict(self)


def build_optimizer(params, config: TrainConfig) -> torch.optim.Optimizer:
    """Adam / AdamW / SGD(momentum, nesterov off) over `params`."""
    import torch

    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)
    cls = torch.optim.Adam if config.optimizer == "adam" else torch.optim.AdamW
    return cls(params, lr=config.lr, weight_decay=config.weight_decay)


def build_scheduler(optimizer: torch.optim.Optimizer, config: TrainConfig) -> torch.optim.lr_scheduler.LRScheduler:
    """The per-epoch LR schedule, preceded by a linear warmup when warmup_epochs > 0."""
    import torch

    p, sched = dict(config.schedule_params), torch.optim.lr_scheduler
    try:
        main: sched.LRScheduler
        if config.schedule == "constant":
            main = sched.ConstantLR(optimizer, factor=1.0, total_iters=0)
        elif config.schedule == "cosine":
            main = sched.CosineAnnealingLR(
                optimizer, T_max=p.pop("T_max", max(1, config.epochs - config.warmup_epochs)), **p
            )
        elif config.schedule == "cosine-restarts":
            main = sched.CosineAnnealingWarmRestarts(optimizer, T_0=p.pop("T_0", 10), **p)
        elif config.schedule == "exponential":
            main = sched.ExponentialLR(optimizer, gamma=p.pop("gamma", 0.9), **p)
        elif config.schedule == "step":
            main = sched.StepLR(optimizer, step_size=p.pop("step_size", 10), gamma=p.pop("gamma", 0.1), **p)
        else:
            peaks = [g["lr"] for g in optimizer.param_groups]  # per group: lr multipliers keep their ratio
            main = sched.CyclicLR(
                optimizer,
                base_lr=p.pop("base_lr", [lr / 10 for lr in peaks]),
                max_lr=p.pop("max_lr", peaks),
                step_size_up=p.pop("step_size_up", 2),
                mode="triangular2",
                cycle_momentum=False,
                **p,
            )
    except (TypeError, ValueError) as exc:
        raise ConfigError(None, f"TrainConfig schedule {config.schedule!r}: {exc}") from exc
    if config.warmup_epochs == 0:
        return main
    warm = sched.LinearLR(optimizer, start_factor=1.0 / (config.warmup_epochs + 1), total_iters=config.warmup_epochs)
    return sched.SequentialLR(optimizer, [warm, main], milestones=[config.warmup_epochs])
