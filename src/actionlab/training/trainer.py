"""`Trainer(config).fit(model, train_data, val_data, run_dir)`: epochs, best checkpoint, history, resume.

Under torchrun the same fit trains a DistributedDataParallel replica per process (training.distributed): each
rank takes its share of every one-process batch (same global batch, same seeded shuffle), the epoch's numbers
are summed over ranks, and rank 0 alone writes the run folder and the tracker's files.

Our loop, not Lightning's or Accelerate's: their checkpoints are pickled objects (our resume state is read with
weights_only=True), and the parts that make our runs right are ours either way (per-epoch resampling of
VideoItems, frozen modules kept in eval, the bf16 Conv3d guard, sharding one process's batches across ranks).
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Sized
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import cast

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from actionlab.errors import CheckpointError, ConfigError
from actionlab.models.checkpoint import atomic_write_bytes, atomic_write_json, save_checkpoint
from actionlab.training import distributed
from actionlab.training.bf16 import guard_conv3d
from actionlab.training.config import TrainConfig, build_optimizer, build_scheduler
from actionlab.training.progress import Bar, line
from actionlab.training.syncbn import sync_batchnorm_cpu
from actionlab.training.tracking import Tracker, make_tracker
from actionlab.training.workers import batches, loader_options

STOP_REASONS = ("completed", "early_stopping", "time_budget")


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
    """All epochs so far, the best epoch (by config.monitor) and why training stopped (None while it runs)."""

    epochs: list[EpochStats] = field(default_factory=list)
    best_epoch: int | None = None
    stop_reason: str | None = None  # one of STOP_REASONS once fit returns

    @property
    def stopped_early(self) -> bool:
        """Early stopping ended the run."""
        return self.stop_reason == "early_stopping"

    def to_dict(self) -> dict:
        """JSON-ready dict (stopped_early kept for readers of older runs)."""
        return dict(asdict(self), stopped_early=self.stopped_early)

    @classmethod
    def from_dict(cls, d: dict) -> History:
        """Inverse of to_dict; a history written before stop_reason existed reads from stopped_early."""
        reason = d.get("stop_reason") or ("early_stopping" if d.get("stopped_early") else None)
        return cls([EpochStats(**e) for e in d["epochs"]], d.get("best_epoch"), reason)


def resolve_device(name: str) -> torch.device:
    """ "auto" -> cuda when available, else cpu (under torchrun "cuda" is the rank's own GPU)."""
    return torch.device("cuda" if name == "auto" and torch.cuda.is_available() else ("cpu" if name == "auto" else name))


def to_device(x, device: torch.device, channels_last: bool = False):
    """Move a tensor or a tuple/list of tensors to `device` (channels-last for 4D/5D float inputs if asked).

    non_blocking overlaps the copy with compute only from pinned memory (the loaders pin on CUDA)."""
    if isinstance(x, (tuple, list)):
        return type(x)(to_device(v, device, channels_last) for v in x)
    x = x.to(device, non_blocking=True)
    if channels_last and x.is_floating_point() and x.dim() in (4, 5):
        x = x.contiguous(memory_format=torch.channels_last if x.dim() == 4 else torch.channels_last_3d)
    return x


def call_model(model: nn.Module, inputs) -> torch.Tensor:
    """model(x), or model(*inputs) when a dataset yields a tuple such as (sequence, length)."""
    return model(*inputs) if isinstance(inputs, (tuple, list)) else model(inputs)


def autocast_dtype(cfg: TrainConfig) -> torch.dtype | None:
    """The autocast dtype of the run's precision (None: fp32)."""
    return torch.bfloat16 if cfg.bf16 else (torch.float16 if cfg.fp16 else None)


def _seed_epoch(seed: int, epoch: int) -> None:
    # Reseeding from (seed, epoch) makes a resumed run draw the same numbers as an uninterrupted one.
    s = seed * 100_003 + epoch
    torch.manual_seed(s)
    np.random.seed(s % 2**32)
    random.seed(s)


@dataclass
class _Sums:
    """Running loss*n, correct and seen of a pass, on the device (read only when shown: no per-step sync)."""

    t: torch.Tensor

    def add(self, loss: torch.Tensor, logits: torch.Tensor, labels: torch.Tensor) -> None:
        n = len(labels)
        self.t[0] += loss.detach().double() * n
        self.t[1] += (logits.argmax(1) == labels).sum()
        self.t[2] += n

    def text(self) -> str:
        total, correct, seen = self.t.tolist()
        return f"loss {total / max(seen, 1):.3f} acc {correct / max(seen, 1):.3f}"


class Trainer:
    """Fits any model on Datasets of (input, label); see TrainConfig for the options."""

    def __init__(self, config: TrainConfig | None = None) -> None:
        self.config = config or TrainConfig()

    def fit(
        self,
        model: nn.Module,
        train_data: Dataset,
        val_data: Dataset | None,
        run_dir: str | Path,
        *,
        collate_fn=None,
        resume: bool = False,
        extra_config: dict | None = None,
        save_fn: Callable[[nn.Module, dict], None] | None = None,
        param_groups: list[dict] | None = None,
        on_epoch_start: Callable[[int], None] | None = None,
        tracker: Tracker | None = None,
    ) -> History:
        """Train, keep the best checkpoint (run_dir/model.safetensors + config.json), history.json, last_state.pt.

        `save_fn(model, info)` replaces the default best-checkpoint writer (models.save_checkpoint) for models that
        are not built by create_model, such as a method's composite network. `param_groups` ({"params",
        "lr_mult"} dicts) give parts of the model their own learning-rate multiplier; parameters frozen now
        (requires_grad False) are in the optimiser too, so `on_epoch_start(epoch)` may unfreeze them. A dataset
        with `set_epoch` is told each epoch before its batches are drawn (new random clips every epoch).
        `tracker` (training.tracking) gets every epoch's numbers; without one, config.tracker makes one here.
        """
        cfg, run_dir, w = self.config, Path(run_dir), distributed.world()
        run_dir.mkdir(parents=True, exist_ok=True)
        device = resolve_device(cfg.device)
        _place(model, cfg, device, w)
        groups = param_groups or [{"params": list(model.parameters()), "lr_mult": 1.0}]
        optimizer = build_optimizer([{"params": g["params"], "lr": cfg.lr * g["lr_mult"]} for g in groups], cfg)
        scheduler = build_scheduler(optimizer, cfg)
        history, best, bad_epochs, start = History(), None, 0, 0
        if resume and (run_dir / "last_state.pt").is_file():
            history, best, bad_epochs, start = self._restore(run_dir, model, optimizer, scheduler)
        ckpt_config = dict(extra_config or {}, train=cfg.to_dict())
        train_loader, sampler, val_loader = _loaders(train_data, val_data, cfg, collate_fn, device, w)
        loss_fn = nn.CrossEntropyLoss(label_smoothing=cfg.label_smoothing)
        own = tracker is None
        if tracker is None:
            tracker = make_tracker(cfg.tracker, run_dir, write=w.main)
        scaler = torch.amp.GradScaler("cuda", enabled=cfg.fp16)
        net = _Replica(model, w, device)
        for epoch in range(start, cfg.epochs):
            if _stop(history, cfg):
                break
            history.stop_reason = None
            _seed_epoch(cfg.seed, epoch)
            sampler.set_epoch(epoch)
            if hasattr(train_data, "set_epoch"):
                train_data.set_epoch(epoch)
            if on_epoch_start is not None:
                on_epoch_start(epoch)
            t0, lr = time.perf_counter(), optimizer.param_groups[0]["lr"]
            tr_loss, tr_acc = self._run_epoch(net.get(), train_loader, loss_fn, device, (optimizer, scaler), epoch)
            va_loss, va_acc = (
                (None, None) if val_loader is None else self._run_epoch(model, val_loader, loss_fn, device, None, epoch)
            )
            scheduler.step()
            # rank 0's clock for every rank: the time budget must stop all ranks after the same epoch
            elapsed = time.perf_counter() - t0
            seconds = distributed.share(lambda: elapsed)  # noqa: B023 (called at once)
            stats = EpochStats(epoch, tr_loss, tr_acc, va_loss, va_acc, lr, seconds)
            best, bad_epochs = self._record(
                stats, history, best, bad_epochs, run_dir, model, ckpt_config, save_fn, w.main
            )
            tracker.log_epoch(epoch, asdict(stats))
            if w.main:
                atomic_write_json(run_dir / "history.json", history.to_dict())
                self._save_state(run_dir, model, optimizer, scheduler, epoch, history, best, bad_epochs)
            if cfg.progress and w.main:
                line(epoch_line(stats, cfg.epochs))
        history.stop_reason = history.stop_reason or _stop(history, cfg) or "completed"
        if w.main:
            atomic_write_json(run_dir / "history.json", history.to_dict())
        if own:
            tracker.close()
        return history

    def _record(
        self,
        stats: EpochStats,
        history: History,
        best: float | None,
        bad_epochs: int,
        run_dir: Path,
        model: nn.Module,
        ckpt_config: dict,
        save_fn=None,
        write: bool = True,
    ) -> tuple[float, int]:
        """Append the epoch, save the best checkpoint (when `write`: rank 0), count epochs without val-loss gain."""
        history.epochs.append(stats)
        score = _score(stats, self.config.monitor)
        if best is None or score < best:
            best, history.best_epoch = score, stats.epoch
            info = dict(ckpt_config, best_epoch=stats.epoch, best_stats=asdict(stats))
            if write and save_fn is None:
                save_checkpoint(run_dir, model, info)
            elif write:
                save_fn(model, info)
        losses = _es_losses(history)
        bad_epochs = 0 if len(losses) == 1 or losses[-1] < min(losses[:-1]) else bad_epochs + 1
        if self.config.early_stopping is not None and bad_epochs >= self.config.early_stopping:
            history.stop_reason = "early_stopping"
        return best, bad_epochs

    def _run_epoch(
        self,
        model: nn.Module,
        loader: DataLoader,
        loss_fn: nn.Module,
        device: torch.device,
        step: tuple | None,
        epoch: int,
    ) -> tuple[float, float]:
        """One pass; trains when `step` (optimizer, grad scaler) is given, else evaluates. (mean loss, accuracy)
        over every rank's samples."""
        cfg, train = self.config, step is not None
        model.train(train)
        for m in model.modules():  # frozen parts (models.weights.freeze) keep their BatchNorm statistics
            if getattr(m, "frozen", False):
                m.eval()
        sums, dtype = _Sums(torch.zeros(3, dtype=torch.float64, device=device)), autocast_dtype(cfg)
        bar = Bar(
            len(loader),
            f"epoch {epoch + 1}/{cfg.epochs} {'train' if train else 'val'}",
            cfg.progress and distributed.world().main,
        )
        with torch.set_grad_enabled(train):
            for inputs, labels in batches(loader):
                # every item of the batch failed to read; under DDP all ranks skip the step together
                if (distributed.all_min(len(labels), device) if train else len(labels)) == 0:
                    continue
                inputs, labels = to_device(inputs, device, cfg.channels_last), labels.to(device, non_blocking=True)
                with torch.autocast(device.type, dtype=dtype or torch.bfloat16, enabled=dtype is not None):
                    logits = call_model(model, inputs)
                loss = loss_fn(logits.float(), labels)
                if step is not None:  # training
                    self._step(model, loss, *step)
                sums.add(loss, logits, labels)
                bar.step(sums.text)
        bar.close()
        total, correct, seen = distributed.all_sum(sums.t.tolist(), device)
        return total / max(seen, 1), correct / max(seen, 1)

    def _step(
        self, model: nn.Module, loss: torch.Tensor, optimizer: torch.optim.Optimizer, scaler: torch.amp.GradScaler
    ) -> None:
        """Backward and update; fp16 scales the loss (a disabled scaler is the plain fp32/bf16 step)."""
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        if self.config.grad_clip is not None:
            scaler.unscale_(optimizer)
            nn.utils.clip_grad_norm_(model.parameters(), self.config.grad_clip)
        scaler.step(optimizer)
        scaler.update()

    def _save_state(self, run_dir: Path, model, optimizer, scheduler, epoch, history, best, bad_epochs) -> None:
        import io

        state = {
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "epoch": epoch,
            "history": json.dumps(history.to_dict()),
            "best": best,
            "bad_epochs": bad_epochs,
            "torch_rng": torch.get_rng_state(),
        }
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
            best, bad_epochs, start = state["best"], int(state["bad_epochs"]), int(state["epoch"]) + 1
        except Exception as exc:  # a stale or foreign state file: say so instead of a deep traceback
            why = str(exc).splitlines()[0][:120] if str(exc) else ""
            raise CheckpointError(
                path, f"cannot resume from this state ({type(exc).__name__}: {why}); delete it to start over"
            ) from None
        return history, best, bad_epochs, start


def epoch_line(stats: EpochStats, epochs: int) -> str:
    """ "epoch 2/5: train loss 0.512 acc 0.812 | val loss 0.601 acc 0.780 | lr 1.0e-03 | 12.3 s"."""
    val = "" if stats.val_loss is None else f" | val loss {stats.val_loss:.3f} acc {stats.val_acc:.3f}"
    return (
        f"epoch {stats.epoch + 1}/{epochs}: train loss {stats.train_loss:.3f} acc {stats.train_acc:.3f}{val}"
        f" | lr {stats.lr:.1e} | {stats.seconds:.1f} s"
    )


def _stop(history: History, cfg: TrainConfig) -> str | None:
    """Why no further epoch starts: early stopping, or the time budget spent (resumed epochs count)."""
    if history.stopped_early:
        return "early_stopping"
    if (
        cfg.time_budget is not None
        and sum(e.seconds for e in history.epochs) >= cfg.time_budget
        and len(history.epochs) < cfg.epochs
    ):
        return "time_budget"
    return None


def _place(model: nn.Module, cfg: TrainConfig, device: torch.device, w: distributed.World) -> None:
    """The model on its device, in its memory format, with BatchNorm synchronised across GPUs."""
    if cfg.fp16 and device.type != "cuda":
        raise ConfigError(None, f"precision fp16 needs a CUDA device (this run is on {device.type}); use bf16 or fp32")
    model.to(device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # clip shapes are fixed: the fastest kernels are picked once
    if cfg.bf16 and device.type == "cpu":
        guard_conv3d(model)
    if cfg.channels_last:
        _channels_last(model)
    if w.active and device.type == "cuda":
        _sync_batchnorm(model)
    elif w.active:
        sync_batchnorm_cpu(model)


def _channels_last(model: nn.Module) -> None:
    # Module.to(memory_format=channels_last) fails on the 5D weights of 3D convolutions: those get channels_last_3d
    for p in list(model.parameters()) + list(model.buffers()):
        if p.dim() in (4, 5):
            p.data = p.data.contiguous(memory_format=torch.channels_last if p.dim() == 4 else torch.channels_last_3d)


def _sync_batchnorm(model: nn.Module) -> None:
    """BatchNorm statistics over the global batch, not each GPU's share (torch's SyncBatchNorm is CUDA-only: CPU
    processes use training.syncbn). In place; frozen BatchNorms stay frozen."""
    frozen = {n for n, m in model.named_modules() if getattr(m, "frozen", False)}
    for name, child in list(model.named_children()):
        if isinstance(child, nn.modules.batchnorm._BatchNorm):
            setattr(model, name, nn.SyncBatchNorm.convert_sync_batchnorm(child))
        else:
            nn.SyncBatchNorm.convert_sync_batchnorm(child)  # replaces the BatchNorms below it in place
    for n, m in model.named_modules():
        if n in frozen:
            m.frozen = True


class _Replica:
    """What the training step calls: the model itself, or under torchrun its DistributedDataParallel wrapper,
    rebuilt when the set of trainable parameters changes (DDP only reduces the gradients of the parameters that
    trained when it was built: an unfrozen backbone would otherwise drift apart between ranks)."""

    def __init__(self, model: nn.Module, w: distributed.World, device: torch.device) -> None:
        self.model, self.w, self.device = model, w, device
        self.net: nn.Module | None = None
        self.trainable: tuple[bool, ...] | None = None

    def get(self) -> nn.Module:
        """The module to train this epoch."""
        if not self.w.active:
            return self.model
        trainable = tuple(p.requires_grad for p in self.model.parameters())
        if self.net is None or trainable != self.trainable:
            from torch.nn.parallel import DistributedDataParallel

            from actionlab.models.joint import JointHeads

            ids = [torch.cuda.current_device()] if self.device.type == "cuda" else None
            # a joint batch goes through one dataset's head: the others get no gradient that step
            self.net = DistributedDataParallel(
                self.model, device_ids=ids, find_unused_parameters=isinstance(self.model, JointHeads)
            )
            self.trainable = trainable
        return self.net


def _loaders(
    train_data: Dataset,
    val_data: Dataset | None,
    cfg: TrainConfig,
    collate_fn,
    device: torch.device,
    w: distributed.World,
) -> tuple[DataLoader, distributed.EpochBatches, DataLoader | None]:
    """(training loader, its batch sampler (set_epoch), validation loader or None), sharded across ranks.

    Persistent workers: starting them costs seconds per epoch; a dataset's set_epoch reaches them through shared
    memory (methods.inputs.VideoItems does). Pinned memory on CUDA makes the non_blocking copies asynchronous."""
    loading = loader_options(cfg.num_workers, device, collate_fn, w.local_size)
    loading["persistent_workers"] = loading["num_workers"] > 0
    make = getattr(train_data, "batch_sampler", None)
    inner = make(cfg.batch_size, True) if callable(make) else None  # the dataset's own batches (joint training)
    sampler = distributed.EpochBatches(len(cast(Sized, train_data)), cfg.batch_size, True, cfg.seed, w, inner)
    train_loader = DataLoader(train_data, batch_sampler=sampler, **loading)
    if val_data is None or len(cast(Sized, val_data)) == 0:  # map-style datasets have a length
        return train_loader, sampler, None
    make = getattr(val_data, "batch_sampler", None)
    inner = make(cfg.batch_size, False) if callable(make) else None
    val_batches = distributed.EpochBatches(len(cast(Sized, val_data)), cfg.batch_size, False, cfg.seed, w, inner)
    return train_loader, sampler, DataLoader(val_data, batch_sampler=val_batches, **loading)


def _score(stats: EpochStats, monitor: str) -> float:
    """Lower is better. Without validation data the last epoch is kept: training loss would favour overfitting
    and, under a decaying schedule, the last epoch is the converged one."""
    if stats.val_loss is None:
        return -float(stats.epoch)
    # validation gives val_loss and val_acc together
    return stats.val_loss if monitor == "val_loss" else -cast(float, stats.val_acc)


def _es_losses(history: History) -> list[float]:
    return [e.val_loss if e.val_loss is not None else e.train_loss for e in history.epochs]
