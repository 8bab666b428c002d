"""What a compare reads from each finished run folder for results.json, beyond the run's own results.json.

- `training_facts(run_dir)`: train/val top-1 of the kept epoch, final train loss, epochs run, best epoch and why
  training stopped, from history.json (older histories lack `stop_reason`: it is derived from `stopped_early`).
- `reused_runs(run_dir)`: the runs inside this run's folder (two-stream's streams, features-lstm's frame CNN)
  with their training seconds and where they came from, so cost columns add up.
- `video_correctness(run_dir)`: {test video path: 1 if top-1 right else 0} from predictions.csv.
- `significance(methods, correct)`: bootstrap CIs, McNemar's tests against the best method and the conclusion.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from actionlab.metrics.significance import bootstrap_ci, conclusion, paired_tests

OVERFIT_GAP = 0.25  # train top-1 above test top-1 by more than this is flagged as overfitting
STOP_REASONS = ("completed", "early_stopping", "time_budget")


@dataclass(frozen=True)
class TrainingFacts:
    """The history facts of a run; None where history.json does not say."""

    train_top1: float | None = None  # training accuracy of the kept epoch (measured during it, augmented)
    val_top1: float | None = None  # validation accuracy of the kept epoch
    final_train_loss: float | None = None  # the last epoch's
    epochs_run: int | None = None
    best_epoch: int | None = None  # 1-based: the epoch whose weights were kept
    stop_reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return asdict(self)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text()) if path.is_file() else None
    except (OSError, ValueError):
        return None


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def training_facts(run_dir: str | Path) -> TrainingFacts:
    """Facts of run_dir/history.json; an absent or malformed history gives None fields, never an error."""
    raw = _read_json(Path(run_dir) / "history.json")
    raw = {"epochs": raw} if isinstance(raw, list) else raw
    if not isinstance(raw, dict) or not isinstance(raw.get("epochs"), list):
        return TrainingFacts()
    epochs = [e for e in raw["epochs"] if isinstance(e, dict)]
    if not epochs:
        return TrainingFacts(epochs_run=0)
    best = raw.get("best_epoch")
    best = int(best) if isinstance(best, int) and 1 <= best <= len(epochs) else len(epochs)
    kept = epochs[best - 1]
    reason = raw.get("stop_reason")
    if reason not in STOP_REASONS:
        reason = "early_stopping" if raw.get("stopped_early") else "completed"
    return TrainingFacts(
        _number(kept.get("train_acc")),
        _number(kept.get("val_acc")),
        _number(epochs[-1].get("train_loss")),
        len(epochs),
        best,
        reason,
    )


@dataclass(frozen=True)
class ReusedRun:
    """A run inside another's folder: its sub-folder, preset, where it came from and its training seconds."""

    name: str
    method: str
    source: str
    train_seconds: float | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return asdict(self)


def _sources(config: Mapping[str, Any]) -> dict[str, str]:
    """Sub-folder -> origin as the parent's config.json "extra" records it (two-stream, features-lstm)."""
    extra = config.get("extra") or {}
    out = {role: str(rec.get("source")) for role, rec in (extra.get("streams") or {}).items() if isinstance(rec, dict)}
    cnn = extra.get("frame_cnn")
    if isinstance(cnn, dict) and cnn.get("run"):
        origin = str(cnn.get("from") or "trained")
        out[str(cnn["run"])] = "trained here" if origin == "trained" else origin
    return out


def reused_runs(run_dir: str | Path) -> list[ReusedRun]:
    """The runs in sub-folders of run_dir (each with config.json), with training seconds from their timing.json."""
    run_dir = Path(run_dir)
    sources = _sources(_read_json(run_dir / "config.json") or {})
    out = []
    for sub in sorted(p.parent for p in run_dir.glob("*/config.json")):
        config = _read_json(sub / "config.json") or {}
        timing = _read_json(sub / "timing.json") or {}
        out.append(
            ReusedRun(
                sub.name,
                str(config.get("method", "?")),
                sources.get(sub.name, "trained here"),
                _number(timing.get("train_seconds")),
            )
        )
    return out


def video_correctness(run_dir: str | Path) -> dict[str, int]:
    """{path: 1/0} of run_dir/predictions.csv (top-1 right or not); {} when absent."""
    path = Path(run_dir) / "predictions.csv"
    if not path.is_file():
        return {}
    with open(path, newline="", encoding="utf-8") as fh:
        return {row["path"]: int(row["correct"] == "1") for row in csv.DictReader(fh) if row.get("correct") != ""}


def significance(methods: Sequence[Mapping[str, Any]], correct: Mapping[str, Mapping[str, int]]) -> dict[str, Any]:
    """{"best", "intervals", "tests", "conclusion"}: CIs of every method with per-video results, McNemar vs best."""
    scored = {m["name"]: correct[m["name"]] for m in methods if correct.get(m["name"])}
    if not scored:
        return {}
    intervals = {name: bootstrap_ci(list(c.values())) for name, c in scored.items()}
    best = max(intervals, key=lambda n: (intervals[n].top1, -list(intervals).index(n)))
    tests = paired_tests(scored, best)
    return {
        "best": best,
        "intervals": {n: asdict(i) for n, i in intervals.items()},
        "tests": [{**asdict(t), "distinguishable": t.distinguishable} for t in tests],
        "conclusion": conclusion(intervals, tests),
    }
