"""Scoring samples with a trained run: the deterministic test reader, views averaged, metrics per view."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from safetensors.torch import load_file
from torch import nn
from torch.utils.data import DataLoader

from actionlab.data.dataset import Sample
from actionlab.errors import CheckpointError
from actionlab.methods.base import Predictions
from actionlab.methods.inputs import JointReader, VideoItems, collate_test, readable
from actionlab.methods.runs import RunConfig
from actionlab.models.joint import JointHeads
from actionlab.metrics import evaluate_scores, write_predictions_csv
from actionlab.options import Options
from actionlab.training.trainer import call_model, resolve_device, to_device


def joint_parts(dataset: Any) -> list[dict[str, Any]]:
    """[{name, classes}] per dataset of a joint dataset (several --dataset), else []."""
    parts = list(getattr(dataset, "parts", None) or [])
    return [{"name": p.name, "classes": list(p.classes)} for p in parts] if len(parts) > 1 else []


def make_reader(preset: Any, o: Options, classes: list[str], train: bool, run_dir: Path, extra: dict[str, Any],
                parts: list[dict[str, Any]]) -> Any:
    """The preset's reader; for a joint run wrapped to add each sample's dataset id."""
    reader = preset.reader(o, classes, train, run_dir, extra)
    if not parts:
        return reader
    offsets = [sum(len(p["classes"]) for p in parts[:i]) for i in range(len(parts))]
    return JointReader(reader, tuple(offsets))


@torch.no_grad()
def score_samples(preset: Any, model: nn.Module, o: Options, samples: Sequence[Sample], classes: list[str],
                  run_dir: Path, extra: dict[str, Any], progress: bool = True, reader: Any = None
                  ) -> tuple[dict[str, np.ndarray], list[Sample], dict[str, str], float]:
    """(scores per view (N, C), the samples scored, {path: reason} for the others, seconds of inference)."""
    ok, errors = readable(list(samples), "check test", progress, preset.check_sample(o, run_dir, extra))
    reader = reader or preset.reader(o, classes, False, run_dir, extra)
    device = resolve_device(o.device)
    model.to(device).eval()
    loader = DataLoader(VideoItems(ok, reader, train=False), o.batch_size, num_workers=o.workers,
                        collate_fn=collate_test, pin_memory=device.type == "cuda")
    probs, kept, seconds, start = [], [], 0.0, 0
    for x, _, read in loader:
        batch = ok[start:start + len(read)]
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


def evaluate_run(preset: Any, model: nn.Module, o: Options, samples: Sequence[Sample], rc: RunConfig,
                 run_dir: Path, progress: bool = True, skipped: dict[str, str] | None = None,
                 csv_name: str = "predictions.csv") -> dict[str, Any]:
    """Metrics of every view on `samples`, predictions CSV, skipped files; timing under the key "timing".

    A joint run is scored per dataset through that dataset's head ("per_dataset"); the headline numbers are
    over all test videos, each scored in its own dataset's label space (a block-diagonal confusion).
    """
    if rc.datasets:
        views, kept, errors, seconds, per_dataset = _score_joint(preset, model, o, samples, rc, run_dir, progress)
    else:
        views, kept, errors, seconds = score_samples(preset, model, o, samples, rc.classes, run_dir, rc.extra,
                                                     progress)
        per_dataset = None
    offsets = _offsets(rc)
    labels = np.array([offsets[s.dataset] + s.label for s in kept], dtype=np.int64)
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


def view_metrics(views: dict[str, np.ndarray], labels: np.ndarray, classes: list[str]) -> dict[str, Any]:
    """evaluate_scores of the video view, and top-1/5/10, mean class accuracy, confusion of every other view."""
    metrics: dict[str, Any] = {"num_videos": int(len(labels))}
    if not len(labels):
        return metrics
    metrics.update(evaluate_scores(views["video"], labels, classes).to_dict())
    for view, sc in views.items():
        if view != "video":
            m = evaluate_scores(sc, labels, classes)
            metrics.update({f"{view}_top1": m.top1, f"{view}_top5": m.top5, f"{view}_top10": m.top10,
                            f"{view}_mean_class_acc": m.mean_class_acc, f"{view}_confusion": m.confusion})
    return metrics


def _offsets(rc: RunConfig) -> list[int]:
    sizes = [len(d["classes"]) for d in rc.datasets] or [len(rc.classes)]
    return [sum(sizes[:i]) for i in range(len(sizes))]


def _score_joint(preset: Any, model: nn.Module, o: Options, samples: Sequence[Sample], rc: RunConfig,
                 run_dir: Path, progress: bool):
    """Each dataset's test samples through its own head; scores placed in the joint label space."""
    offsets, total = _offsets(rc), len(rc.classes)
    reader = make_reader(preset, o, rc.classes, False, run_dir, rc.extra, rc.datasets)
    views: dict[str, list[np.ndarray]] = {}
    kept, errors, seconds, per_dataset = [], {}, 0.0, {}
    for d, part in enumerate(rc.datasets):
        sub = [s for s in samples if s.dataset == d]
        v, k, e, sec = score_samples(preset, model, o, sub, rc.classes, run_dir, rc.extra, progress, reader)
        kept, seconds = kept + k, seconds + sec
        errors.update(e)
        per_dataset[part["name"]] = view_metrics(v, np.array([s.label for s in k], np.int64), part["classes"])
        for name, sc in v.items():
            full = np.zeros((len(k), total), np.float32)
            full[:, offsets[d]:offsets[d] + sc.shape[1]] = sc
            views.setdefault(name, []).append(full)
    return {n: np.concatenate(p) for n, p in views.items()}, kept, errors, seconds, per_dataset


def load_run(run_dir: str | Path) -> tuple[Any, nn.Module, Options, RunConfig]:
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
        model.load_state_dict(load_file(str(run_dir / "model.safetensors")))
    except (OSError, RuntimeError) as err:
        raise CheckpointError(run_dir / "model.safetensors", f"does not fit its config.json "
                                                             f"({str(err).splitlines()[0][:160]})") from None
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


def predict_run(run_dir: Path, paths: Sequence[str | Path]) -> Predictions:
    """Video-level scores of `paths` with the run in run_dir; unreadable files get a reason."""
    preset, model, o, rc = load_run(run_dir)
    samples = [Sample(Path(p), 0) for p in paths]
    reader = make_reader(preset, o, rc.classes, False, run_dir, rc.extra, rc.datasets)
    if rc.datasets:
        model = AllHeads(model)
    views, kept, errors, _ = score_samples(preset, model, o, samples, rc.classes, run_dir, rc.extra, False, reader)
    scores = {str(s.path): views["video"][i] for i, s in enumerate(kept)}
    return Predictions(rc.classes, scores=scores, errors=errors)
