"""`Trainer(config).fit(model, train_data, val_data, run_dir)`: epochs, best checkpoint, history, resume."""

from __future__ import annotations

import json
import random
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from actionlab.errors import CheckpointError
from actionlab.models.checkpoint import atomic_write_bytes, atomic_write_json, save_checkpoint
from actionlab.training.bf16 import guard_conv3d
from actionlab.training.config import TrainConfig, build_optimizer, build_scheduler


@dataclass
class EpochStats:
    """One epoch's numbers as written to history.json (val_* are None without validation data)."""

    epoch: int
    train_loss: float
    train_acc: float
    val_loss: float | None
    val_acc: float | None
    lr: float
    seconds: float


@dataclass
class History:
    """All epochs so far, the best epoch (by config.monitor) and whether early stopping ended the run."""

    epochs: list[EpochStats] = field(default_factory=list)
    best_epoch: int | None = None
    stopped_early: bool = False

    def to_dict(self) -> dict:
        """JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "History":
        """Inverse of to_dict."""
        return cls([EpochStats(**e) for e in d["epochs"]], d.get("best_epoch"), d.get("stopped_early", False))


def resolve_device(name: str) -> torch.device:
    """"auto" -> cuda when available, else cpu."""
    return torch.device("cuda" if name == "auto" and torch.cuda.is_available() else ("cpu" if name == "auto" else name))


def to_device(x, device: torch.device, channels_last: bool = False):
    """Move a tensor or a tuple/list of tensors to `device` (channels-last for 4D/5D float inputs if asked)."""
    if isinstance(x, (tuple, list)):
        return type(x)(to_device(v, device, channels_last) for v in x)
    x = x.to(device, non_blocking=True)
    if channels_last and x.is_floating_point() and x.dim() in (4, 5):
        x = x.contiguous(memory_format=torch.channels_last if x.dim() == 4 else torch.channels_last_3d)
    return x


def call_model(model: nn.Module, inputs) -> torch.Tensor:
    """model(x), or model(*inputs) when a dataset yields a tuple such as (sequence, length)."""
    return model(*inputs) if isinstance(inputs, (tuple, list)) else model(inputs)


def _seed_epoch(seed: int, epoch: int) -> None:
    # Reseeding from (seed, epoch) makes a resumed run draw the same numbers as an uninterrupted one.
    s = seed * 100_003 + epoch
    torch.manual_seed(s)
    np.random.seed(s % 2**32)
    random.seed(s)


class Trainer:
    """Fits any model on Datasets of (input, label); see TrainConfig for the options."""

    def __init__(self, config: TrainConfig | None = None) -> None:
        self.config = config or TrainConfig()

    def fit(self, model: nn.Module, train_data: Dataset, val_data: Dataset | None, run_dir: str | Path, *,
            collate_fn=None, resume: bool = False, extra_config: dict | None = None,
            save_fn: Callable[[nn.Module, dict], None] | None = None,
            param_groups: list[dict] | None = None,
            on_epoch_start: Callable[[int], None] | None = None) -> History:
        """Train, keep the best checkpoint (run_dir/model.safetensors + config.json), history.json, last_state.pt.

        `save_fn(model, info)` replaces the default best-checkpoint writer (models.save_checkpoint) for models that
        are not built by create_model, such as a method's composite network. `param_groups` ({"params",
        "lr_mult"} dicts) give parts of the model their own learning-rate multiplier; parameters frozen now
        (requires_grad False) are in the optimiser too, so `on_epoch_start(epoch)` may unfreeze them. A dataset
        with `set_epoch` is told each epoch before its batches are drawn (new random clips every epoch).
        """
        cfg, run_dir = self.config, Path(run_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
        device = resolve_device(cfg.device)
        model.to(device)
        if cfg.bf16 and device.type == "cpu":
            guard_conv3d(model)
        if cfg.channels_last:
            model.to(memory_format=torch.channels_last)
        groups = param_groups or [{"params": list(model.parameters()), "lr_mult": 1.0}]
        optimizer = build_optimizer([{"params": g["params"], "lr": cfg.lr * g["lr_mult"]} for g in groups], cfg)
        scheduler = build_scheduler(optimizer, cfg)
        history, best, bad_epochs, start = History(), None, 0, 0
        if resume and (run_dir / "last_state.pt").is_file():
            history, best, bad_epochs, start = self._restore(run_dir, model, optimizer, scheduler)
        ckpt_config = dict(extra_config or {}, train=cfg.to_dict())
        loader_gen = torch.Generator()
        # persistent workers: starting them costs seconds per epoch; a dataset's set_epoch must reach them
        # through shared memory (methods.inputs.VideoItems does)
        loading = {"num_workers": cfg.num_workers, "collate_fn": collate_fn, "pin_memory": device.type == "cuda",
                   "persistent_workers": cfg.num_workers > 0}
        train_loader = _loader(train_data, cfg.batch_size, True, loader_gen, loading)
        val_loader = None if val_data is None or len(val_data) == 0 else \
            _loader(val_data, cfg.batch_size, False, None, loading)
        loss_fn = nn.CrossEntropyLoss(label_smoothing=cfg.label_smoothing)
        writer = _tensorboard(run_dir) if cfg.tensorboard else None
        for epoch in range(start, cfg.epochs):
            if history.stopped_early:
                break
            _seed_epoch(cfg.seed, epoch)
            loader_gen.manual_seed(cfg.seed * 100_003 + epoch)
            if hasattr(train_data, "set_epoch"):
                train_data.set_epoch(epoch)
            if on_epoch_start is not None:
                on_epoch_start(epoch)
            t0, lr = time.perf_counter(), optimizer.param_groups[0]["lr"]
            tr_loss, tr_acc = self._run_epoch(model, train_loader, loss_fn, device, optimizer, epoch)
            va_loss, va_acc = (None, None) if val_loader is None else \
                self._run_epoch(model, val_loader, loss_fn, device, None, epoch)
            scheduler.step()
            stats = EpochStats(epoch, tr_loss, tr_acc, va_loss, va_acc, lr, time.perf_counter() - t0)
            best, bad_epochs = self._record(stats, history, best, bad_epochs, run_dir, model, ckpt_config, writer,
                                            save_fn)
            atomic_write_json(run_dir / "history.json", history.to_dict())
            self._save_state(run_dir, model, optimizer, scheduler, epoch, history, best, bad_epochs)
        if writer is not None:
            writer.close()
        return history

    def _record(self, stats: EpochStats, history: History, best: float | None, bad_epochs: int, run_dir: Path,
                model: nn.Module, ckpt_config: dict, writer, save_fn=None) -> tuple[float, int]:
        """Append the epoch, save the best checkpoint, count epochs without val-loss gain, log scalars."""
        history.epochs.append(stats)
        score = _score(stats, self.config.monitor)
        if best is None or score < best:
            best, history.best_epoch = score, stats.epoch
            info = dict(ckpt_config, best_epoch=stats.epoch, best_stats=asdict(stats))
            if save_fn is None:
                save_checkpoint(run_dir, model, info)
            else:
                save_fn(model, info)
        losses = _es_losses(history)
        bad_epochs = 0 if len(losses) == 1 or losses[-1] < min(losses[:-1]) else bad_epochs + 1
        if self.config.early_stopping is not None and bad_epochs >= self.config.early_stopping:
            history.stopped_early = True
        if writer is not None:
            for k, v in asdict(stats).items():
                if k != "epoch" and v is not None:
                    writer.add_scalar(k, v, stats.epoch)
        return best, bad_epochs

    def _run_epoch(self, model: nn.Module, loader: DataLoader, loss_fn: nn.Module, device: torch.device,
                   optimizer: torch.optim.Optimizer | None, epoch: int) -> tuple[float, float]:
        """One pass; trains when `optimizer` is given, else evaluates. Returns (mean loss, accuracy)."""
        cfg, train = self.config, optimizer is not None
        model.train(train)
        for m in model.modules():  # frozen parts (models.weights.freeze) keep their BatchNorm statistics
            if getattr(m, "frozen", False):
                m.eval()
        total, correct, seen = 0.0, 0, 0
        desc = f"epoch {epoch + 1}/{cfg.epochs} {'train' if train else 'val'}"
        bar = tqdm(loader, desc=desc, file=sys.stderr, disable=not cfg.progress, leave=False)
        with torch.set_grad_enabled(train):
            for inputs, labels in bar:
                if len(labels) == 0:  # every item of the batch failed to read
                    continue
                inputs, labels = to_device(inputs, device, cfg.channels_last), labels.to(device)
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=cfg.bf16):
                    logits = call_model(model, inputs)
                loss = loss_fn(logits.float(), labels)
                if train:
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    if cfg.grad_clip is not None:
                        nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
                    optimizer.step()
                total += loss.item() * len(labels)
                correct += int((logits.argmax(1) == labels).sum())
                seen += len(labels)
        return total / max(seen, 1), correct / max(seen, 1)

    def _save_state(self, run_dir: Path, model, optimizer, scheduler, epoch, history, best, bad_epochs) -> None:
        import io

        state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                 "epoch": epoch, "history": json.dumps(history.to_dict()), "best": best, "bad_epochs": bad_epochs,
                 "torch_rng": torch.get_rng_state()}
        buf = io.BytesIO()
        torch.save(state, buf)
        atomic_write_bytes(run_dir / "last_state.pt", buf.getvalue())

    def _restore(self, run_dir: Path, model, optimizer, scheduler) -> tuple[History, float | None, int, int]:
        path = run_dir / "last_state.pt"
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            scheduler.load_state_dict(state["scheduler"])
            torch.set_rng_state(state["torch_rng"])
            history = History.from_dict(json.loads(state["history"]))
        except Exception as exc:  # a stale or foreign state file: say so instead of a deep traceback
            raise CheckpointError(path, f"cannot resume from this state ({type(exc).__name__}: {str(exc)[:120]});"
                                  " delete it to start over") from exc
        return history, state["best"], state["bad_epochs"], state["epoch"] + 1


def _loader(data: Dataset, batch_size: int, train: bool, generator, loading: dict) -> DataLoader:
    """Shuffled batches (training) or in order; a dataset may define its own batches (joint training)."""
    make = getattr(data, "batch_sampler", None)
    batches = make(batch_size, train) if callable(make) else None
    if batches is not None:
        return DataLoader(data, batch_sampler=batches, **loading)
    return DataLoader(data, batch_size, shuffle=train, generator=generator,
                      drop_last=train and len(data) > batch_size, **loading)


def _score(stats: EpochStats, monitor: str) -> float:
    """Lower is better. Without validation data the last epoch is kept: training loss would favour overfitting
    and, under a decaying schedule, the last epoch is the converged one."""
    if stats.val_loss is None:
        return -float(stats.epoch)
    return stats.val_loss if monitor == "val_loss" else -stats.val_acc


def _es_losses(history: History) -> list[float]:
    return [e.val_loss if e.val_loss is not None else e.train_loss for e in history.epochs]


def _tensorboard(run_dir: Path):
    """A SummaryWriter when tensorboard is installed, else None (silently)."""
    try:
        from torch.utils.tensorboard import SummaryWriter

        return SummaryWriter(str(run_dir / "tensorboard"))
    except Exception:  # tensorboard is optional
        return None
