"""Scoring samples with a trained run: the deterministic test reader, views averaged, metrics per view."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from actionlab.atomic import atomic_write
from actionlab.data.dataset import Sample
from actionlab.errors import CheckpointError
from actionlab.methods.base import Predictions
from actionlab.methods.inputs import JointReader, VideoItems, collate_test, readable
from actionlab.methods.options import TrainOptions
from actionlab.methods.runs import RunConfig
from actionlab.metrics import evaluate_scores, write_predictions_csv
from actionlab.models.checkpoint import load_safetensors
from actionlab.models.joint import JointHeads
from actionlab.training import distributed
from actionlab.training.trainer import call_model, resolve_device, to_device
from actionlab.training.workers import batches, loader_options

if TYPE_CHECKING:  # preset.py's Preset.train imports the pipeline, which imports this module
    from actionlab.methods.preset import Preset

EMBEDDINGS = "embeddings.npz"  # penultimate features of the test videos, for the compare report's t-SNE


def joint_parts(dataset: Any) -> list[dict[str, Any]]:
    """[{name, classes}] per dataset of a joint dataset (several --dataset), else []."""
    parts = list(getattr(dataset, "parts", None) or [])
    return [{"name": p.name, "classes": list(p.classes)} for p in parts] if len(parts) > 1 else []


def make_reader(
    preset: Any,
    o: TrainOptions,
    classes: list[str],
    train: bool,
    run_dir: Path,
    extra: dict[str, Any],
    parts: list[dict[str, Any]],
) -> Any:
    """The preset's reader; for a joint run wrapped to add each sample's dataset id."""
    reader = preset.reader(o, classes, train, run_dir, extra)
    if not parts:
        return reader
    offsets = [sum(len(p["classes"]) for p in parts[:i]) for i in range(len(parts))]
    return JointReader(reader, tuple(offsets))


@torch.no_grad()
def score_samples(
    preset: Any,
    model: nn.Module,
    o: TrainOptions,
    samples: Sequence[Sample],
    classes: list[str],
    run_dir: Path,
    extra: dict[str, Any],
    progress: bool = True,
    reader: Any = None,
) -> tuple[dict[str, np.ndarray], list[Sample], dict[str, str], float]:
    """(scores per view (N, C), the samples scored, {path: reason} for the others, seconds of inference)."""
    ok, errors = readable(list(samples), "check test", progress, preset.check_sample(o, run_dir, extra))
    reader = reader or preset.reader(o, classes, False, run_dir, extra)
    device = resolve_device(o.device)
    model.to(device).eval()
    loader = DataLoader(
        VideoItems(ok, reader, train=False),
        o.batch_size,
        **loader_options(o.workers, device, collate_test, distributed.world().local_size),
    )
    probs, kept, seconds, start = [], [], 0.0, 0
    for x, _, read in batches(loader):
        batch = ok[start : start + len(read)]
        start += len(read)
        for s, r in zip(batch, read.tolist()):
            if not r:
                errors[str(s.path)] = "could not be read"
        if x is None:
            continue
        kept += [s for s, r in zip(batch, read.tolist()) if r]
        t0 = time.perf_counter()
        probs.append(_view_probs(model, to_device(x, device)))
        seconds += time.perf_counter() - t0
    model.cpu()
    if not probs:
        return {"video": np.zeros((0, len(classes)), np.float32)}, [], errors, seconds
    return preset.views(o, np.concatenate(probs)), kept, errors, seconds


def _view_probs(model: nn.Module, x: Any) -> np.ndarray:
    """Softmax per view: (B, V, ...) inputs -> (B, V, C)."""
    first = x[0] if isinstance(x, tuple) else x
    b, v = first.shape[:2]
    flat = tuple(p.flatten(0, 1) for p in x) if isinstance(x, tuple) else x.flatten(0, 1)
    logits = call_model(model, flat)
    return torch.softmax(logits.float(), 1).reshape(b, v, -1).cpu().numpy()


def evaluate_run(
    preset: Any,
    model: nn.Module,
    o: TrainOptions,
    samples: Sequence[Sample],
    rc: RunConfig,
    run_dir: Path,
    progress: bool = True,
    skipped: dict[str, str] | None = None,
    csv_name: str = "predictions.csv",
) -> dict[str, Any]:
    """Metrics of every view on `samples`, predictions CSV, skipped files; timing under the key "timing".

    A joint run is scored per dataset through that dataset's head ("per_dataset"); the headline numbers are
    over all test videos, each scored in its own dataset's label space (a block-diagonal confusion).
    Under torchrun each rank scores its share; rank 0 writes and every rank returns rank 0's metrics.
    """
    scored = _score_all(preset, model, o, samples, rc, run_dir, progress)
    return distributed.share(lambda: _summarise(preset, model, o, rc, run_dir, skipped, csv_name, *scored))


def _score_all(
    preset: Any,
    model: nn.Module,
    o: TrainOptions,
    samples: Sequence[Sample],
    rc: RunConfig,
    run_dir: Path,
    progress: bool,
) -> tuple:
    """(views, kept, errors, seconds, per_dataset, head-input rows) of every sample. Under torchrun each rank
    scores samples[rank::size] (no padding: each video once) and the shares are gathered in one-process order."""
    w = distributed.world()
    mine = distributed.shard(list(range(len(samples))), w)
    part = [samples[i] for i in mine]
    rows: list[np.ndarray] | None = None
    if rc.datasets:
        views, kept, errors, seconds, per_dataset = _score_joint(preset, model, o, part, rc, run_dir, progress)
    else:
        with head_inputs(model) as rows:
            views, kept, errors, seconds = score_samples(
                preset, model, o, part, rc.classes, run_dir, rc.extra, progress
            )
        per_dataset = None
    if not w.active:
        return views, kept, errors, seconds, per_dataset, rows
    position = {id(s): i for i, s in zip(mine, part)}
    shares = distributed.gather(
        ([position[id(s)] for s in kept], kept, views, errors, seconds, _per_video(rows, len(kept)))
    )
    return _merge(shares, rc)


def _per_video(rows: list[np.ndarray] | None, n: int) -> np.ndarray | None:
    """Head inputs as (videos, views, features), or None when they are not one row per view of each video."""
    feats = np.concatenate([r.reshape(len(r), -1) for r in rows]) if rows else None
    if feats is None or not n or len(feats) % n:
        return None
    return feats.reshape(n, len(feats) // n, -1)


def _merge(shares: list[tuple], rc: RunConfig) -> tuple:
    """The gathered shares as one process would have scored them: ordered by (dataset of a joint run, index)."""
    entries = [
        (s.dataset if rc.datasets else 0, i, r, k)
        for r, sh in enumerate(shares)
        for k, (i, s) in enumerate(zip(sh[0], sh[1]))
    ]
    entries.sort(key=lambda e: (e[0], e[1]))
    kept = [shares[r][1][k] for _, _, r, k in entries]
    names = {name for sh in shares if sh[1] for name in sh[2]} or {"video"}
    views = {
        name: np.stack([shares[r][2][name][k] for _, _, r, k in entries])
        if entries
        else np.zeros((0, len(rc.classes)), np.float32)
        for name in names
    }
    errors = {p: why for sh in shares for p, why in sh[3].items()}
    seconds = max(sh[4] for sh in shares)  # the shares ran at the same time
    feats = [sh[5] for sh in shares if sh[1]]
    rows = (
        None
        if not feats or any(f is None for f in feats)
        else [np.concatenate([shares[r][5][k] for _, _, r, k in entries])]
    )
    per_dataset = _per_dataset(views, kept, rc) if rc.datasets else None
    return views, kept, errors, seconds, per_dataset, rows


def _per_dataset(views: dict[str, np.ndarray], kept: list[Sample], rc: RunConfig) -> dict[str, Any]:
    """view_metrics of each dataset of a joint run over its own head's columns of the joint scores."""
    offsets, out = _offsets(rc), {}
    for d, part in enumerate(rc.datasets):
        sel = [i for i, s in enumerate(kept) if s.dataset == d]
        cols = slice(offsets[d], offsets[d] + len(part["classes"]))
        out[part["name"]] = view_metrics(
            {n: sc[sel, cols] for n, sc in views.items()},
            np.array([kept[i].label for i in sel], np.int64),
            part["classes"],
        )
    return out


def _summarise(
    preset: Any,
    model: nn.Module,
    o: TrainOptions,
    rc: RunConfig,
    run_dir: Path,
    skipped: dict[str, str] | None,
    csv_name: str,
    views: dict[str, np.ndarray],
    kept: list[Sample],
    errors: dict[str, str],
    seconds: float,
    per_dataset: dict[str, Any] | None,
    rows: list[np.ndarray] | None,
) -> dict[str, Any]:
    """Metrics, predictions CSV and embeddings of the scored samples (rank 0 under torchrun)."""
    offsets = _offsets(rc)
    labels = np.array([offsets[s.dataset] + s.label for s in kept], dtype=np.int64)
    if csv_name == "predictions.csv":  # the run's own test set (not `evaluate` on another one)
        save_embeddings(run_dir, preset, o, None if rc.datasets else rows, kept, labels)
    metrics = view_metrics(views, labels, rc.classes)
    if per_dataset is not None:
        metrics["per_dataset"] = per_dataset
    if len(kept):
        write_predictions_csv(run_dir / csv_name, [s.path for s in kept], labels, views["video"], rc.classes)
    metrics["skipped"] = {**(skipped or {}), **errors}
    metrics["params"] = int(sum(p.numel() for p in model.parameters()))
    metrics["model_mb"] = (run_dir / "model.safetensors").stat().st_size / 2**20
    metrics["timing"] = {"infer_clips_per_s": len(kept) / seconds if seconds > 0 else 0.0}
    return metrics


@contextmanager
def head_inputs(model: nn.Module) -> Iterator[list[np.ndarray]]:
    """Collect the input of `model.head` (the penultimate features) of every forward pass, one array a batch."""
    rows: list[np.ndarray] = []
    head = getattr(model, "head", None)
    if not isinstance(head, nn.Module):
        yield rows
        return
    handle = head.register_forward_pre_hook(lambda _m, args: rows.append(args[0].detach().float().cpu().numpy()))
    try:
        yield rows
    finally:
        handle.remove()


def save_embeddings(
    run_dir: Path, preset: Any, o: TrainOptions, rows: list[np.ndarray] | None, kept: list[Sample], labels: np.ndarray
) -> None:
    """run_dir/embeddings.npz: one penultimate feature vector per test video (its views pooled as the "video"
    view pools scores), with labels and paths; removed when none could be taken (a joint run: several heads)."""
    path = run_dir / EMBEDDINGS
    path.unlink(missing_ok=True)
    feats = np.concatenate([r.reshape(len(r), -1) for r in rows]) if rows else None
    if feats is None or not kept or len(feats) % len(kept):  # not one row per view of each video scored
        return
    video = preset.views(o, feats.reshape(len(kept), len(feats) // len(kept), -1))["video"]
    paths = np.array([str(s.path) for s in kept])
    # atomic_write: a full disk is one line (WriteError) with no temp file left, not a traceback
    atomic_write(path, lambda tmp: np.savez(tmp, features=video.astype(np.float32), labels=labels, paths=paths))


def view_metrics(views: dict[str, np.ndarray], labels: np.ndarray, classes: list[str]) -> dict[str, Any]:
    """evaluate_scores of the video view, and top-1/5/10, mean class accuracy, confusion of every other view."""
    metrics: dict[str, Any] = {"num_videos": int(len(labels))}
    if not len(labels):
        return metrics
    metrics.update(evaluate_scores(views["video"], labels, classes).to_dict())
    for view, sc in views.items():
        if view != "video":
            m = evaluate_scores(sc, labels, classes)
            metrics.update(
                {
                    f"{view}_top1": m.top1,
                    f"{view}_top5": m.top5,
                    f"{view}_top10": m.top10,
                    f"{view}_mean_class_acc": m.mean_class_acc,
                    f"{view}_confusion": m.confusion,
                }
            )
    return metrics


def _offsets(rc: RunConfig) -> list[int]:
    sizes = [len(d["classes"]) for d in rc.datasets] or [len(rc.classes)]
    return [sum(sizes[:i]) for i in range(len(sizes))]


def _score_joint(
    preset: Any,
    model: nn.Module,
    o: TrainOptions,
    samples: Sequence[Sample],
    rc: RunConfig,
    run_dir: Path,
    progress: bool,
):
    """Each dataset's test samples through its own head; scores placed in the joint label space."""
    offsets, total = _offsets(rc), len(rc.classes)
    reader = make_reader(preset, o, rc.classes, False, run_dir, rc.extra, rc.datasets)
    views: dict[str, list[np.ndarray]] = {}
    kept: list[Sample] = []
    errors: dict[str, str] = {}
    seconds, per_dataset = 0.0, {}
    for d, part in enumerate(rc.datasets):
        sub = [s for s in samples if s.dataset == d]
        v, k, e, sec = score_samples(preset, model, o, sub, rc.classes, run_dir, rc.extra, progress, reader)
        kept, seconds = kept + k, seconds + sec
        errors.update(e)
        per_dataset[part["name"]] = view_metrics(v, np.array([s.label for s in k], np.int64), part["classes"])
        for name, sc in v.items():
            full = np.zeros((len(k), total), np.float32)
            full[:, offsets[d] : offsets[d] + sc.shape[1]] = sc
            views.setdefault(name, []).append(full)
    return {n: np.concatenate(p) for n, p in views.items()}, kept, errors, seconds, per_dataset


def load_run(run_dir: str | Path) -> tuple[Preset[Any], nn.Module, TrainOptions, RunConfig]:
    """(preset, model with the run's weights in eval mode, options, recorded config) from the folder alone."""
    from actionlab.methods import get_method

    run_dir = Path(run_dir)
    rc = RunConfig.read(run_dir)
    preset = get_method(rc.method)
    o = preset.Options.restore(rc.options, where=f"{run_dir}/config.json")
    model = preset.build(o, len(rc.classes), rc.extra)
    if rc.datasets:
        model = JointHeads(model, [len(d["classes"]) for d in rc.datasets])
    try:
        model.load_state_dict(load_safetensors(run_dir / "model.safetensors"))
    except (OSError, RuntimeError) as err:
        raise CheckpointError(
            run_dir / "model.safetensors", f"does not fit its config.json ({str(err).splitlines()[0][:160]})"
        ) from None
    return preset, model.eval(), o, rc


class AllHeads(nn.Module):
    """A joint run on a video of unknown dataset: every head's softmax, each weighted 1/#heads, as log-probs
    over the joint label space (so the scores name the dataset of each label and sum to 1)."""

    def __init__(self, joint: JointHeads) -> None:
        super().__init__()
        self.joint = joint

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        probs = self.joint.head_probs(*inputs[:-1])
        return torch.log(torch.cat(probs, 1) / len(probs) + 1e-12)


def predict_run(run_dir: Path, paths: Sequence[str | Path], device: str | None = None) -> Predictions:
    """Video-level scores of `paths` with the run in run_dir (on `device`, default the run's own); unreadable
    files get a reason."""
    preset, model, o, rc = load_run(run_dir)
    if device is not None:
        o = o.replace(device=device)
    samples = [Sample(Path(p), 0) for p in paths]
    reader = make_reader(preset, o, rc.classes, False, run_dir, rc.extra, rc.datasets)
    if rc.datasets:
        model = AllHeads(cast(JointHeads, model))  # load_run wraps joint runs in JointHeads
    views, kept, errors, _ = score_samples(preset, model, o, samples, rc.classes, run_dir, rc.extra, False, reader)
    scores = {str(s.path): views["video"][i] for i, s in enumerate(kept)}
    return Predictions(rc.classes, scores=scores, errors=errors)
