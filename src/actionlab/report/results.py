"""The results.json schema: validation, loading and atomic writing."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from actionlab.atomic import write_json
from actionlab.errors import ConfigError

_NUMBERS = (
    "top1",
    "top5",
    "top10",
    "mean_class_acc",
    "single_frame_top1",
    "single_frame_top5",
    "single_frame_top10",
    "train_seconds",
    "wall_seconds",
    "infer_clips_per_s",
    "model_clips_per_s",
    "extract_seconds_per_video",
    "params",
    "model_mb",
    "num_train",
    "num_val",
    "num_videos",
    "train_top1",
    "val_top1",
    "final_train_loss",
    "epochs_run",
    "best_epoch",
)
_OBJECTS = ("failed", "skipped", "significance", "provenance")  # optional top-level objects


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def epoch_rows(history: Any) -> list[dict] | None:
    """Per-epoch dicts from a history list or a trainer's {"epochs": [...]} dict; None when malformed."""
    if isinstance(history, dict):
        history = history.get("epochs")
    if isinstance(history, list) and all(isinstance(h, dict) for h in history):
        return history
    return None


def _check_method(i: int, method: Any, num_classes: int, where: str | None) -> None:
    if not isinstance(method, dict):
        raise ConfigError(where, f"methods[{i}] must be an object")
    if not isinstance(method.get("name"), str):
        raise ConfigError(where, f"methods[{i}] is missing the key 'name'")
    name = method["name"]
    if method.get("method") is not None and not isinstance(method["method"], str):
        raise ConfigError(where, f"method {name!r}: 'method' must be the preset's name")
    if "top1" not in method:
        raise ConfigError(where, f"method {name!r} is missing the key 'top1'")
    for key in _NUMBERS:
        if method.get(key) is not None and not _is_number(method[key]):
            raise ConfigError(where, f"method {name!r}: '{key}' must be a number, not {method[key]!r}")
    for key in ("confusion", "single_frame_confusion"):
        confusion = method.get(key)
        if confusion is None:
            continue
        ok = isinstance(confusion, list) and len(confusion) == num_classes
        ok = ok and all(isinstance(row, list) and len(row) == num_classes for row in confusion)
        if not ok:
            raise ConfigError(where, f"method {name!r}: '{key}' must be {num_classes} x {num_classes}")
    per_class = method.get("per_class")
    if per_class is not None and not isinstance(per_class, dict):
        raise ConfigError(where, f"method {name!r}: 'per_class' must be an object of class -> counts")
    if method.get("history") is not None and epoch_rows(method["history"]) is None:
        raise ConfigError(where, f"method {name!r}: 'history' must be a list of per-epoch objects")


def validate_results(results: Any, path: str | Path | None = None) -> dict:
    """Check a results.json dict; raise ConfigError naming the missing or malformed key."""
    if not isinstance(results, dict):
        raise ConfigError(path, "results must be a JSON object with 'dataset' and 'methods'")
    dataset = results.get("dataset")
    if not isinstance(dataset, dict):
        raise ConfigError(path, "missing the key 'dataset'")
    for key in ("name", "classes"):
        if key not in dataset:
            raise ConfigError(path, f"missing the key 'dataset.{key}'")
    if not isinstance(dataset["classes"], list) or not all(isinstance(c, str) for c in dataset["classes"]):
        raise ConfigError(path, "'dataset.classes' must be a list of class names")
    methods = results.get("methods")
    if not isinstance(methods, list):
        raise ConfigError(path, "missing the key 'methods' (a list)")
    if not isinstance(results.get("failed", {}), dict):
        raise ConfigError(path, "'failed' must be an object of method -> reason")
    for key in _OBJECTS[1:]:
        if results.get(key) is not None and not isinstance(results[key], dict):
            raise ConfigError(path, f"'{key}' must be an object")
    for i, method in enumerate(methods):
        _check_method(i, method, len(dataset["classes"]), None if path is None else str(path))
    names = [m["name"] for m in methods]
    if len(set(names)) < len(names):  # entries are keyed by their label ("name"); the report looks them up by it
        raise ConfigError(path, f"method names repeat: {', '.join(sorted({n for n in names if names.count(n) > 1}))}")
    return results


def load_results(path: str | Path) -> dict:
    """Read and validate a results.json file."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(path, "results file not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(path, f"not a readable JSON file ({exc})") from None
    return validate_results(data, path)


def _clean(value: Any) -> Any:
    """JSON cannot hold NaN/inf or numpy scalars; map them to null / Python numbers."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if hasattr(value, "tolist"):
        return _clean(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_results_json(path: str | Path, results: dict) -> Path:
    """Validate and write results.json atomically (temp file + os.replace)."""
    path = Path(path)
    data = validate_results(_clean(results), path)
    return write_json(path, data, default=None)
