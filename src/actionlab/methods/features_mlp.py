"""features-mlp: pooled stored features (sift-bow default, cnn2d:*, cnn3d:*) -> two-layer MLP head."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from actionlab.errors import ActionlabError, CheckpointError, DatasetError
from actionlab.metrics.predictions import write_predictions_csv
from actionlab.methods.base import Method, Predictions, RunResult, register_method, write_json_atomic
from actionlab.methods.fitting import fit_arrays
from actionlab.methods.netmethod import create
from actionlab.methods.scoring import basic_metrics

DEFAULTS: dict[str, Any] = {"family": "sift-bow", "extractor_options": {"k": 128, "num_frames": 8, "size": 96},
                            "epochs": 30, "batch_size": 32, "lr": 3e-3, "seed": 0, "resume": False}


class FeaturesMLP(Method):
    """Extract into a feature store (training-split fit and normalisation), then train mlp-head."""

    name = "features-mlp"
    description = "pooled stored features (config family=sift-bow|cnn2d:...|cnn3d:...) -> MLP with BatchNorm"
    temporal = False

    def _extractor(self, cfg: dict[str, Any], run_dir: Path):
        from actionlab.features import create_extractor

        ex = create_extractor(cfg["family"], **cfg.get("extractor_options", {}))
        state = run_dir / "extractor_state.npz"
        if ex.needs_fit and state.is_file():
            with np.load(state) as z:
                ex.load_state(dict(z))
        return ex

    def train(self, dataset: Any, run_dir: str | Path, config: dict[str, Any] | None = None) -> RunResult:
        """Extract (resumable), fit the head on pooled train features, evaluate on test."""
        from actionlab.features import FeatureStore, extract

        cfg = {**DEFAULTS, **(config or {})}
        if cfg["family"] != "sift-bow" and "extractor_options" not in (config or {}):
            cfg["extractor_options"] = {}
        run_dir = Path(run_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
        ex = self._extractor(cfg, run_dir)
        extract(dataset, ex, run_dir / "store", workers=int(cfg.get("workers", 2)))
        store = FeatureStore.open(run_dir / "store", dataset.name, ex)
        if ex.needs_fit:
            np.savez(run_dir / "extractor_state.npz", **store.load_state())
        x, y, _ = _pooled(store, dataset.train)
        if len(x) == 0:
            raise DatasetError(run_dir, "no training video has features")
        mean, std = x.mean(0), x.std(0) + 1e-6  # training split only
        t0 = time.perf_counter()
        model = self.build(len(dataset.classes), x.shape[1], cfg)
        model.mean.copy_(torch.from_numpy(mean)), model.std.copy_(torch.from_numpy(std))
        history = fit_arrays(model, lambda items, rng: (torch.from_numpy(items),), (x, y), None, cfg, run_dir)
        seconds = time.perf_counter() - t0
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(run_dir / "model.safetensors"))
        public = {k: v for k, v in cfg.items() if k != "resume"}
        write_json_atomic(run_dir / "config.json", {"method": self.name, "classes": list(dataset.classes),
                                                    "in_features": int(x.shape[1]), **public})
        write_json_atomic(run_dir / "history.json", history)
        xs, ys, test_kept = _pooled(store, dataset.test)
        t1 = time.perf_counter()
        scores = _scores(model, xs)
        metrics = basic_metrics(scores, ys, list(dataset.classes))
        if len(ys):
            write_predictions_csv(run_dir / "predictions.csv", [s.path for s in test_kept], ys, scores,
                                  list(dataset.classes))
        metrics.update(train_seconds=seconds, infer_clips_per_s=len(xs) / max(time.perf_counter() - t1, 1e-9),
                       params=sum(p.numel() for p in model.parameters()), skipped=store.skipped,
                       model_mb=(run_dir / "model.safetensors").stat().st_size / 2**20)
        write_json_atomic(run_dir / "results.json", metrics)
        return RunResult(run_dir, self.name, list(dataset.classes), history, seconds, metrics)

    def build(self, num_classes: int, in_features: int, cfg: dict[str, Any]) -> nn.Module:
        """mlp-head behind a fixed standardisation layer."""
        return Standardised(create("mlp-head", num_classes=num_classes, in_features=in_features))

    def predict(self, run_dir: str | Path, paths: Sequence[str | Path]) -> Predictions:
        """Transform each path with the run's fitted extractor, then score."""
        run_dir = Path(run_dir)
        try:
            cfg = json.loads((run_dir / "config.json").read_text())
            model = self.build(len(cfg["classes"]), int(cfg["in_features"]), cfg)
            model.load_state_dict(load_file(str(run_dir / "model.safetensors")))
        except (OSError, KeyError, ValueError, RuntimeError) as err:
            raise CheckpointError(run_dir, f"not a usable run of {self.name}: {err}") from err
        ex = self._extractor(cfg, run_dir)
        out = Predictions(list(cfg["classes"]))
        for p in paths:
            try:
                v = np.asarray(ex.transform(p).values, dtype=np.float32)
            except (ActionlabError, OSError, ValueError) as err:
                out.errors[str(p)] = getattr(err, "reason", str(err))
                continue
            out.scores[str(p)] = _scores(model, v.reshape(-1, v.shape[-1]).mean(0, keepdims=True))[0]
        return out


class Standardised(nn.Module):
    """(x - train mean) / train std, then the head; the stats travel inside model.safetensors."""

    def __init__(self, head: nn.Module) -> None:
        super().__init__()
        self.head = head
        d = _first_linear(head).in_features
        self.register_buffer("mean", torch.zeros(d))
        self.register_buffer("std", torch.ones(d))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits for raw pooled features."""
        return self.head((x - self.mean) / self.std)


def _first_linear(module: nn.Module) -> nn.Linear:
    return next(m for m in module.modules() if isinstance(m, nn.Linear))


def _pooled(store: Any, samples: Sequence[Any]) -> tuple[np.ndarray, np.ndarray, list[Any]]:
    xs, ys, kept = [], [], []
    for s in samples:
        try:
            v = np.asarray(store.get(s, normalize=False).values, dtype=np.float32)
        except (ActionlabError, OSError, KeyError):
            continue  # skipped at extraction; listed in the store
        xs.append(v.reshape(-1, v.shape[-1]).mean(0))
        ys.append(s.label)
        kept.append(s)
    return (np.stack(xs) if xs else np.zeros((0, 0), np.float32)), np.array(ys, dtype=np.int64), kept


@torch.no_grad()
def _scores(model: nn.Module, x: np.ndarray) -> np.ndarray:
    model.eval()
    return torch.softmax(model(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))), 1).numpy()


FEATURES_MLP = register_method(FeaturesMLP())
