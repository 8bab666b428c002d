"""NetMethod: the shared train/evaluate/predict path for methods that learn from the decoded clip cache."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from actionlab.errors import CheckpointError, ConfigError, DatasetError
from actionlab.metrics.predictions import write_predictions_csv
from actionlab.methods.base import Method, Predictions, RunResult, write_json_atomic
from actionlab.methods.clips import decode_many
from actionlab.methods.fitting import fit_arrays
from actionlab.methods.scoring import basic_metrics

DEFAULTS: dict[str, Any] = {"epochs": 8, "batch_size": 16, "lr": 3e-3, "num_frames": 16, "size": 64, "seed": 0,
                            "resume": False, "val_fraction": 0.0}
MEAN, STD = 0.45, 0.225


def to_float(frames: np.ndarray) -> torch.Tensor:
    """uint8 (..., H, W, 3) -> normalised float tensor, channels still last."""
    return (torch.from_numpy(np.ascontiguousarray(frames)).float() / 255.0 - MEAN) / STD


def create(name: str, **kwargs: Any) -> nn.Module:
    """models.create_model, importing the builder modules so the registry is filled."""
    import actionlab.models.cnn2d, actionlab.models.cnn3d, actionlab.models.heads  # noqa: F401,E401 (register)
    from actionlab.models.registry import create_model

    return create_model(name, **kwargs)


class NetMethod(Method):
    """Subclasses define build(), batch(), and scores(); this class handles data, files and evaluation."""

    def build(self, num_classes: int, cfg: dict[str, Any]) -> nn.Module:
        """A fresh network for this method."""
        raise NotImplementedError

    def batch(self, clips: np.ndarray, rng: np.random.Generator | None) -> tuple[torch.Tensor, ...]:
        """Model inputs for uint8 clips (B, T, H, W, 3); rng set = training augmentation."""
        raise NotImplementedError

    def scores(self, model: nn.Module, clips: np.ndarray, cfg: dict[str, Any]) -> dict[str, np.ndarray]:
        """Softmax scores (N, C) under key "video" (and optional extra views such as "single_frame")."""
        probs = [torch.softmax(model(*self.batch(clips[s:s + 32], None)), 1) for s in range(0, len(clips), 32)]
        return {"video": torch.cat(probs).numpy() if probs else np.zeros((0, 0))}

    # ---- shared machinery -------------------------------------------------------------------------------
    def train(self, dataset: Any, run_dir: str | Path, config: dict[str, Any] | None = None) -> RunResult:
        """Decode, fit, save model.safetensors + config.json, evaluate the test split into results.json."""
        cfg = {**DEFAULTS, **(config or {})}
        run_dir = Path(run_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
        classes = list(dataset.classes)
        train_samples, val_samples = training_split(dataset, cfg)
        clips, labels, skipped = self._load(train_samples, cfg, "decode train")
        if len(clips) == 0:
            raise DatasetError(run_dir, "no readable training videos")
        val = None
        if val_samples:
            vclips, vlabels, vskipped = self._load(val_samples, cfg, "decode val")
            val, skipped = (vclips, vlabels), {**skipped, **vskipped}
        t0 = time.perf_counter()
        torch.manual_seed(int(cfg["seed"]))
        model = self.build(len(classes), cfg)
        history = self.fit_model(model, (clips, labels), val, cfg, run_dir)
        train_seconds = time.perf_counter() - t0
        self.save(model, run_dir, classes, cfg)
        result = RunResult(run_dir, self.name, classes, history, train_seconds)
        write_json_atomic(run_dir / "history.json", history)
        result.metrics = self.evaluate(run_dir, dataset.test, classes, skipped)
        result.metrics["train_seconds"] = train_seconds
        write_json_atomic(run_dir / "results.json", result.metrics)
        return result

    def fit_model(self, model: nn.Module, train: tuple[np.ndarray, np.ndarray],
                  val: tuple[np.ndarray, np.ndarray] | None, cfg: dict[str, Any],
                  run_dir: Path) -> list[dict[str, Any]]:
        """Fit on (arrays, labels) with the shared Trainer; returns per-epoch stats, best weights loaded."""
        return fit_arrays(model, self.batch, train, val, cfg, run_dir)

    def inputs(self, paths: Sequence[str | Path], cfg: dict[str, Any], desc: str) -> tuple[np.ndarray, list[int],
                                                                                          dict[str, str]]:
        """uint8 model inputs stacked per readable path, their positions in `paths`, reasons for the rest."""
        return decode_many(paths, int(cfg["num_frames"]), int(cfg["size"]), desc)

    def _load(self, samples: Sequence[Any], cfg: dict[str, Any], desc: str):
        clips, kept, errors = self.inputs([s.path for s in samples], cfg, desc)
        labels = np.array([samples[i].label for i in kept], dtype=np.int64)
        return clips, labels, errors

    def save(self, model: nn.Module, run_dir: Path, classes: list[str], cfg: dict[str, Any]) -> None:
        """Weights as safetensors and everything needed to rebuild the model as config.json."""
        tmp = run_dir / "model.safetensors.tmp"
        save_file({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}, str(tmp))
        tmp.replace(run_dir / "model.safetensors")
        public = {k: v for k, v in cfg.items() if k != "resume"}
        write_json_atomic(run_dir / "config.json", {"method": self.name, "classes": classes, **public})

    def load(self, run_dir: str | Path) -> tuple[nn.Module, dict[str, Any]]:
        """Rebuild the model from run_dir alone; CheckpointError when the run is incomplete."""
        run_dir = Path(run_dir)
        try:
            cfg = json.loads((run_dir / "config.json").read_text())
            model = self.build(len(cfg["classes"]), cfg)
            model.load_state_dict(load_file(str(run_dir / "model.safetensors")))
        except (OSError, KeyError, ValueError, RuntimeError) as err:
            raise CheckpointError(run_dir, f"not a usable run of {self.name}: {err}") from err
        if cfg.get("method") != self.name:
            raise ConfigError(run_dir, f"run was trained with {cfg.get('method')!r}, not {self.name!r}")
        model.eval()
        return model, cfg

    @torch.no_grad()
    def evaluate(self, run_dir: str | Path, samples: Sequence[Any], classes: list[str],
                 skipped: dict[str, str] | None = None) -> dict[str, Any]:
        """Metrics on `samples` plus a predictions.csv; unreadable videos are listed, not fatal."""
        model, cfg = self.load(run_dir)
        clips, labels, errors = self._load(samples, cfg, "decode test")
        t0 = time.perf_counter()
        views = self.scores(model, clips, cfg) if len(clips) else {"video": np.zeros((0, len(classes)))}
        seconds = time.perf_counter() - t0
        metrics = basic_metrics(views["video"], labels, classes)
        for view, sc in views.items():
            if view != "video" and len(labels):
                metrics[f"{view}_top1"] = float((sc.argmax(1) == labels).mean())
        metrics["infer_clips_per_s"] = len(clips) / seconds if seconds > 0 else 0.0
        metrics["skipped"] = {**(skipped or {}), **errors}
        metrics["params"] = sum(p.numel() for p in model.parameters())
        metrics["model_mb"] = (Path(run_dir) / "model.safetensors").stat().st_size / 2**20
        kept = [s for s in samples if str(s.path) not in errors]
        write_predictions_csv(Path(run_dir) / "predictions.csv", [s.path for s in kept], labels, views["video"], classes)
        return metrics

    @torch.no_grad()
    def predict(self, run_dir: str | Path, paths: Sequence[str | Path]) -> Predictions:
        """Video-level scores per readable path; per-path reasons for the others."""
        model, cfg = self.load(run_dir)
        clips, kept, errors = self.inputs(paths, cfg, "decode")
        out = Predictions(list(cfg["classes"]), errors=errors)
        if len(clips):
            video = self.scores(model, clips, cfg)["video"]
            out.scores = {str(paths[i]): video[j] for j, i in enumerate(kept)}
        return out


def training_split(dataset: Any, cfg: dict[str, Any]) -> tuple[list[Any], list[Any]]:
    """(train, val) samples: the dataset's own val split, else `val_fraction` of train held out (stratified)."""
    from actionlab.data import stratified_split

    if getattr(dataset, "val", None):
        return list(dataset.train), list(dataset.val)
    return stratified_split(list(dataset.train), float(cfg.get("val_fraction", 0.0)), int(cfg["seed"]))
