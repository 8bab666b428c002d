"""The one training pipeline behind every preset: split -> check files -> build -> init/freeze -> fit -> evaluate.

Training streams its inputs (methods.inputs.VideoItems in DataLoader workers); config.json records every option
as used, the dataset and its split, and the starting weights, so `evaluate` and `train --config` rebuild the run.
Under torchrun every process runs this pipeline: rank 0 checks the files (the others take its list), trains its
share of each batch like the others, and alone writes the run folder; evaluation is sharded and gathered.
"""

from __future__ import annotations

import dataclasses
import io
import json
import sys
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn

from actionlab.atomic import write_bytes
from actionlab.data import stratified_split
from actionlab.errors import ConfigError, DatasetError
from actionlab.methods.base import RunResult, write_json_atomic
from actionlab.methods.evaluation import evaluate_run, joint_parts, make_reader
from actionlab.methods.inputs import VideoItems, collate_views, readable
from actionlab.methods.options import TrainOptions, TransferOptions
from actionlab.methods.preset import Preset, RunContext
from actionlab.methods.runs import CONFIG, DatasetRecord, RunConfig, run_lock
from actionlab.models.checkpoint import load_torch_weights, save_safetensors
from actionlab.models.joint import JointHeads
from actionlab.training import TrainConfig, Trainer, distributed
from actionlab.training.tracking import Tracker, make_tracker
from actionlab.training.workers import loader_workers, start_workers_early

AUTO_VAL_FRACTION = 0.1
# files a fresh (not resumed) run removes first, so nothing of an earlier run in the folder is mistaken for it
RUN_FILES = (
    "last_state.pt",
    "best_state.pt",
    "history.json",
    "results.json",
    "timing.json",
    "eval.json",
    "predictions.csv",
    "model.safetensors",
    CONFIG,
)


def schedule_params(o: TrainOptions) -> dict[str, Any]:
    """The torch scheduler arguments of the chosen schedule (the options that schedule declares)."""
    params: dict[str, dict[str, Any]] = {
        "cosine-restarts": {"T_0": o.restart_period},
        "exponential": {"gamma": o.gamma},
        "step": {"step_size": o.step_size, "gamma": o.gamma},
        "triangular2": {"step_size_up": o.cycle_epochs},
    }
    return params.get(o.schedule, {})


def train_config(o: TrainOptions, context: RunContext, batch: int | None = None) -> TrainConfig:
    """The Trainer's configuration from a preset's options (`batch`: samples per step, default batch_size)."""
    return TrainConfig(
        epochs=o.epochs,
        batch_size=batch or o.batch_size,
        optimizer=o.optimizer,
        lr=o.lr,
        weight_decay=o.weight_decay,
        schedule=o.schedule,
        schedule_params=schedule_params(o),
        warmup_epochs=o.warmup,
        early_stopping=o.early_stopping,
        seed=o.seed,
        bf16=o.precision == "bf16",
        fp16=o.precision == "fp16",
        num_workers=o.workers,
        label_smoothing=o.label_smoothing,
        device=o.device,
        progress=context.progress,
        tracker=o.tracker,
        time_budget=o.time_budget,
    )


def training_split(dataset: Any, o: TrainOptions) -> tuple[list[Any], list[Any], str, float]:
    """(train, val, where val came from, fraction held out): the dataset's own val, val_fraction, or automatic.

    Early stopping needs a validation split: without one, AUTO_VAL_FRACTION of train is held out and said so.
    """
    if dataset.val:
        return list(dataset.train), list(dataset.val), "dataset", 0.0
    fraction, source = o.val_fraction, "val_fraction"
    if fraction == 0 and o.early_stopping is not None:
        fraction, source = AUTO_VAL_FRACTION, "early_stopping"
        print(
            f"early stopping: no validation split given, holding out {fraction:.0%} of train (stratified, "
            f"seed {o.seed}); set val_fraction to choose",
            file=sys.stderr,
        )
    if fraction == 0:
        return list(dataset.train), [], "none", 0.0
    train, val = stratified_split(list(dataset.train), fraction, o.seed)
    if not val:
        raise ConfigError(
            None,
            f"a validation fraction of {fraction} holds out no video of this training set "
            f"({len(train)} videos); set a larger val_fraction",
        )
    return train, val, source, fraction


def _clear(run_dir: Path) -> None:
    for name in RUN_FILES:
        (run_dir / name).unlink(missing_ok=True)


def _keep_best(path: Path):
    def save(model: nn.Module, _info: dict) -> None:
        buf = io.BytesIO()
        torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, buf)
        write_bytes(path, buf.getvalue())

    return save


def build_model(
    preset: Preset[Any],
    o: TrainOptions,
    classes: list[str],
    run_dir: Path,
    extra: dict[str, Any],
    parts: list[dict[str, Any]],
) -> tuple[nn.Module, str | None, list, list]:
    """(model, init report line, optimiser param groups, frozen params): built, initialised, made joint
    (one head per dataset) when `parts` has several datasets, then frozen as the options say."""
    from actionlab.methods import transfer

    model = preset.build(o, len(classes), extra)
    preset.start(model, o, run_dir, extra)
    line, loaded = None, None
    if isinstance(o, TransferOptions) and o.init:  # presets without TransferOptions start from scratch
        report = transfer.init_weights(model, o.init, classes=classes)
        line, loaded = report.line(), report.loaded
        print(f"{preset.name}: {line}", file=sys.stderr)
    if parts:
        model = JointHeads(model, [len(p["classes"]) for p in parts])
        loaded = None if loaded is None else [f"body.{k}" for k in loaded]
    transfer_o = o if isinstance(o, TransferOptions) else None
    frozen = transfer.freeze(model, transfer_o.freeze, loaded) if transfer_o and transfer_o.freeze != "none" else []
    groups = transfer.param_groups(model, frozen, transfer_o.unfrozen_lr if transfer_o else 1.0)
    return model, line, groups, frozen


def train_run(preset: Preset[Any], dataset: Any, run_dir: Path, o: TrainOptions, context: RunContext) -> RunResult:
    """Train `preset` with options `o` into run_dir; see the module docstring."""
    w = _world(preset, o)
    context = dataclasses.replace(context, progress=context.progress and w.main)
    with distributed.main_only(run_lock(run_dir)):
        if not context.resume and w.main:
            _clear(run_dir)
        start_workers_early(loader_workers(o.workers, w.local_size))  # the fork server loads while we probe
        classes = list(dataset.classes)
        train, val, val_source, fraction = training_split(dataset, o)
        # prepare() sees the split this run uses (extraction fits on train only), never computes its own
        extra = preset.prepare(o, dataclasses.replace(dataset, train=train, val=val), run_dir, context)
        train, val, skipped = _readable(preset, o, run_dir, extra, train, val, context.progress)
        o, more_epochs = o.for_training_set(len(train))
        if more_epochs and w.main:
            print(f"{context.label or preset.name}: {more_epochs}", file=sys.stderr)
        parts = joint_parts(dataset)
        torch.manual_seed(o.seed)
        model, init_line, groups, frozen = build_model(preset, o, classes, run_dir, extra, parts)
        record = _record(dataset, o, context, len(train), len(val), val_source, fraction)
        label = context.label or preset.name
        rc = RunConfig(
            preset.name,
            classes,
            o.to_dict(),
            record,
            label,
            init_line,
            datasets=parts,
            extra=extra,
        )
        items = VideoItems(train, make_reader(preset, o, classes, True, run_dir, extra, parts), train=True, seed=o.seed)
        val_items = (
            VideoItems(val, make_reader(preset, o, classes, False, run_dir, extra, parts), train=False) if val else None
        )
        tracker = make_tracker(o.tracker, run_dir, label, write=w.main)
        try:
            tracker.log_config(rc.to_dict())
            t0 = time.perf_counter()
            history = _fit(
                model, items, val_items, o, context, run_dir, groups, frozen, preset.loader_batch(o), tracker
            )
            train_seconds = time.perf_counter() - t0
            if w.main:
                save_run(run_dir, model, rc)
            distributed.barrier()
            metrics = evaluate_run(preset, model, o, dataset.test, rc, run_dir, context.progress, skipped)
            timing = {"train_seconds": train_seconds, **metrics.pop("timing")}
            if w.main:
                write_json_atomic(run_dir / "results.json", metrics)
                write_json_atomic(run_dir / "timing.json", timing)
                tracker.log_final({"method": preset.name, **o.to_dict()}, final_metrics(metrics, run_dir))
        finally:
            tracker.close()
        return RunResult(run_dir, preset.name, classes, history, train_seconds, {**metrics, **timing})


def _world(preset: Preset[Any], o: TrainOptions) -> distributed.World:
    """Join torchrun's process group when launched by it; presets with a preparation stage train in one process."""
    w = distributed.setup(o.device)
    if w.active and type(preset).prepare is not Preset.prepare:
        raise ConfigError(
            None,
            f"{preset.name} does not train under torchrun yet: its preparation stage (feature "
            "extraction or stream training) writes shared files; run it as one process",
        )
    return w


def _readable(
    preset: Preset[Any], o: TrainOptions, run_dir: Path, extra: dict[str, Any], train: list, val: list, progress: bool
) -> tuple[list, list, dict[str, str]]:
    """(readable train, readable val, {path: reason} of the others), checked on rank 0 and shared."""
    check = preset.check_sample(o, run_dir, extra)

    def both() -> tuple[list, list, dict[str, str]]:
        ok_train, skipped = readable(train, "check train", progress, check)
        ok_val, skipped_val = readable(val, "check val", progress, check)
        return ok_train, ok_val, {**skipped, **skipped_val}

    ok_train, ok_val, skipped = distributed.share(both)
    if not ok_train:
        first = next(iter(skipped.items()), ("", "no samples"))
        raise DatasetError(run_dir, f"no readable training video (first: {first[0]}: {first[1]})")
    return ok_train, ok_val, skipped


def final_metrics(metrics: dict[str, Any], run_dir: Path) -> dict[str, float]:
    """The numbers logged beside the hyper-parameters: test top-1/5, the kept epoch's train/val accuracy, the
    last train loss, epochs run, best epoch (from the history.json rank 0 just wrote)."""
    out: dict[str, Any] = {"test_top1": metrics.get("top1"), "test_top5": metrics.get("top5")}
    try:
        history = json.loads((run_dir / "history.json").read_text())
    except (OSError, ValueError):  # ranks other than 0 log nothing and need not read it
        history = {"epochs": []}
    rows, best = history["epochs"], history.get("best_epoch")
    kept = next((r for r in rows if r["epoch"] == best), rows[-1] if rows else None)
    if kept is not None:
        out.update(
            train_acc=kept["train_acc"],
            val_acc=kept["val_acc"],
            train_loss=rows[-1]["train_loss"],
            epochs_run=len(rows),
            best_epoch=best,
        )
    return {k: float(v) for k, v in out.items() if v is not None}


def _fit(
    model: nn.Module,
    items: VideoItems,
    val_items: VideoItems | None,
    o: TrainOptions,
    context: RunContext,
    run_dir: Path,
    groups: list,
    frozen: list,
    batch: int,
    tracker: Tracker,
) -> list[dict[str, Any]]:
    """Trainer.fit, then the best epoch's weights loaded (on every rank); per-epoch rows (1-based epochs)."""
    from actionlab.methods import transfer

    def on_epoch(epoch: int) -> None:
        # something is frozen only under TransferOptions
        if frozen and isinstance(o, TransferOptions) and o.unfreeze_epoch is not None and epoch + 1 >= o.unfreeze_epoch:
            transfer.unfreeze(model, frozen)

    best = run_dir / "best_state.pt"
    history = Trainer(train_config(o, context, batch)).fit(
        model,
        items,
        val_items,
        run_dir,
        collate_fn=collate_views,
        resume=context.resume,
        save_fn=_keep_best(best),
        param_groups=groups,
        on_epoch_start=on_epoch,
        tracker=tracker,
    )
    main = distributed.world().main
    if main and best.is_file():
        model.load_state_dict(load_torch_weights(best))
    model.cpu().eval()
    distributed.broadcast_state(model)  # only rank 0 kept the best epoch on disk
    rows = [dict(dataclasses.asdict(e), epoch=e.epoch + 1) for e in history.epochs]
    kept = None if history.best_epoch is None else history.best_epoch + 1
    if main:
        write_json_atomic(
            run_dir / "history.json",
            {
                "epochs": rows,
                "best_epoch": kept,
                "stop_reason": history.stop_reason,
                "stopped_early": history.stopped_early,
                "selected_by": "val_loss" if val_items else "last epoch",
            },
        )
    return rows


def _record(
    dataset: Any, o: TrainOptions, context: RunContext, n_train: int, n_val: int, val_source: str, fraction: float
) -> DatasetRecord:
    base = context.dataset_record or DatasetRecord(specs=[getattr(dataset, "name", "dataset")])
    return dataclasses.replace(
        base,
        seed=o.seed,
        val_fraction=fraction,
        num_train=n_train,
        num_val=n_val,
        num_test=len(dataset.test),
        val_source=val_source,
    )


def save_run(run_dir: Path, model: nn.Module, rc: RunConfig) -> None:
    """model.safetensors and config.json, each written atomically."""
    save_safetensors(run_dir / "model.safetensors", model.state_dict())  # atomic, the umask's mode
    write_json_atomic(run_dir / CONFIG, rc.to_dict())
