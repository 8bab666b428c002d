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
from actionlab.methods.inputs import VideoItems, collate_test, readable
from actionlab.methods.runs import RunConfig
from actionlab.metrics import evaluate_scores, write_predictions_csv
from actionlab.options import Options
from actionlab.training.trainer import call_model, resolve_device, to_device


@torch.no_grad()
def score_samples(preset: Any, model: nn.Module, o: Options, samples: Sequence[Sample], classes: list[str],
                  run_dir: Path, extra: dict[str, Any], progress: bool = True
                  ) -> tuple[dict[str, np.ndarray], list[Sample], dict[str, str], float]:
    """(scores per view (N, C), the samples scored, {path: reason} for the others, seconds of inference)."""
    ok, errors = readable(list(samples), "check test", progress, preset.check_sample(o, run_dir, extra))
    reader = preset.reader(o, classes, False, run_dir, extra)
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


def evaluate_run(preset: Any, model: nn.Module, o: Options, samples: Sequence[Sample], classes: list[str],
                 run_dir: Path, extra: dict[str, Any], progress: bool = True,
                 skipped: dict[str, str] | None = None, csv_name: str = "predictions.csv") -> dict[str, Any]:
    """Metrics of every view on `samples`, predictions CSV, skipped files; timing under the key "timing"."""
    views, kept, errors, seconds = score_samples(preset, model, o, samples, classes, run_dir, extra, progress)
    labels = np.array([s.label for s in kept], dtype=np.int64)
    metrics: dict[str, Any] = {"num_videos": int(len(kept))}
    if len(kept):
        metrics.update(evaluate_scores(views["video"], labels, classes).to_dict())
        for view, sc in views.items():
            if view != "video":
                m = evaluate_scores(sc, labels, classes)
                metrics.update({f"{view}_top1": m.top1, f"{view}_top5": m.top5, f"{view}_top10": m.top10,
                                f"{view}_mean_class_acc": m.mean_class_acc, f"{view}_confusion": m.confusion})
        write_predictions_csv(run_dir / csv_name, [s.path for s in kept], labels, views["video"], classes)
    metrics["skipped"] = {**(skipped or {}), **errors}
    metrics["params"] = int(sum(p.numel() for p in model.parameters()))
    metrics["model_mb"] = (run_dir / "model.safetensors").stat().st_size / 2**20
    metrics["timing"] = {"infer_clips_per_s": len(kept) / seconds if seconds > 0 else 0.0}
    return metrics


def load_run(run_dir: str | Path) -> tuple[Any, nn.Module, Options, RunConfig]:
    """(preset, model with the run's weights in eval mode, options, recorded config) from the folder alone."""
    from actionlab.methods import get_method

    run_dir = Path(run_dir)
    rc = RunConfig.read(run_dir)
    preset = get_method(rc.method)
    o = preset.Options.build(rc.options, where=f"{run_dir}/config.json")
    model = preset.build(o, len(rc.classes), rc.extra)
    try:
        model.load_state_dict(load_file(str(run_dir / "model.safetensors")))
    except (OSError, RuntimeError) as err:
        raise CheckpointError(run_dir / "model.safetensors", f"does not fit its config.json "
                                                             f"({str(err).splitlines()[0][:160]})") from None
    return preset, model.eval(), o, rc


def predict_run(run_dir: Path, paths: Sequence[str | Path]) -> Predictions:
    """Video-level scores of `paths` with the run in run_dir; unreadable files get a reason."""
    preset, model, o, rc = load_run(run_dir)
    samples = [Sample(Path(p), 0) for p in paths]
    views, kept, errors, _ = score_samples(preset, model, o, samples, rc.classes, run_dir, rc.extra, False)
    scores = {str(s.path): views["video"][i] for i, s in enumerate(kept)}
    return Predictions(rc.classes, scores=scores, errors=errors)
