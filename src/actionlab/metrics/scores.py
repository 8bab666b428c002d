"""Classification metrics from a score matrix, computed with scikit-learn."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from actionlab.errors import ConfigError


@dataclass
class Metrics:
    """Scores of one method on one split; `confusion[i][j]` counts true class i predicted as j."""

    top1: float
    top5: float
    top10: float
    mean_class_acc: float
    confusion: list[list[int]]
    per_class: dict[str, dict[str, float]] = field(default_factory=dict)
    num_samples: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form used in results.json."""
        return asdict(self)


def _check(scores: np.ndarray, labels: np.ndarray, classes: Sequence[str]) -> None:
    if scores.ndim != 2 or scores.shape[0] != labels.shape[0]:
        raise ConfigError(None, f"scores must be (N, C) with N = len(labels); got {scores.shape} and {labels.shape}")
    if scores.shape[1] != len(classes):
        raise ConfigError(None, f"scores have {scores.shape[1]} columns but {len(classes)} classes were given")
    if scores.shape[0] == 0:
        raise ConfigError(None, "no samples to evaluate")
    if labels.min() < 0 or labels.max() >= len(classes):
        raise ConfigError(None, f"labels must lie in [0, {len(classes) - 1}]")
    if not np.isfinite(scores).all():
        raise ConfigError(None, "scores contain NaN or infinite values")


def _topk(scores: np.ndarray, labels: np.ndarray, k: int) -> float:
    num_classes = scores.shape[1]
    k = min(k, num_classes)
    if k >= num_classes:
        return 1.0
    if num_classes == 2:  # sklearn treats 2 columns as a binary problem wanting 1-D scores
        return float(np.mean(scores.argmax(1) == labels))
    from sklearn.metrics import top_k_accuracy_score  # imported late: sklearn costs ~1.7 s of a verb's start

    return float(top_k_accuracy_score(labels, scores, k=k, labels=np.arange(num_classes)))


def _per_class(cm: np.ndarray, labels: np.ndarray, pred: np.ndarray, classes: Sequence[str]) -> dict:
    idx = np.arange(len(classes))
    from sklearn.metrics import precision_recall_fscore_support

    precision, recall, f1, support = precision_recall_fscore_support(labels, pred, labels=idx, zero_division=0)
    total = int(cm.sum())
    out: dict[str, dict[str, float]] = {}
    for i, name in enumerate(classes):
        tp = int(cm[i, i])
        fn = int(cm[i].sum() - tp)
        fp = int(cm[:, i].sum() - tp)
        out[name] = {
            "tp": tp,
            "fp": fp,
            "fn": fn,
            "tn": total - tp - fp - fn,
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(support[i]),
        }
    return out


def evaluate_scores(scores: np.ndarray, labels: np.ndarray, classes: Sequence[str]) -> Metrics:
    """Top-1/5/10, mean class accuracy, confusion and per-class counts of (N, C) scores against labels."""
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    _check(scores, labels, classes)
    pred = scores.argmax(axis=1)
    from sklearn.metrics import confusion_matrix

    cm = confusion_matrix(labels, pred, labels=np.arange(len(classes)))
    per_class = _per_class(cm, labels, pred, classes)
    present = cm.sum(axis=1) > 0  # classes absent from the split do not dilute the mean
    recalls = np.diag(cm)[present] / cm.sum(axis=1)[present]
    return Metrics(
        top1=float(np.mean(pred == labels)),
        top5=_topk(scores, labels, 5),
        top10=_topk(scores, labels, 10),
        mean_class_acc=float(recalls.mean()),
        confusion=cm.astype(int).tolist(),
        per_class=per_class,
        num_samples=int(labels.shape[0]),
    )


def aggregate_scores(scores: np.ndarray, video_ids: Sequence[Any], how: str = "mean") -> tuple[np.ndarray, list[Any]]:
    """Pool per-clip (or per-frame) scores into one row per video, in order of first appearance."""
    if how not in ("mean", "max"):
        raise ConfigError(None, f"aggregation must be 'mean' or 'max', not {how!r}")
    scores = np.asarray(scores, dtype=np.float64)
    ids = list(video_ids)
    if scores.ndim != 2 or scores.shape[0] != len(ids):
        raise ConfigError(None, f"scores {scores.shape} do not match {len(ids)} video ids")
    order: dict[Any, list[int]] = {}
    for row, vid in enumerate(ids):
        order.setdefault(vid, []).append(row)
    pool = np.mean if how == "mean" else np.max
    pooled = np.stack([pool(scores[rows], axis=0) for rows in order.values()]) if order else scores[:0]
    return pooled, list(order)


def frame_vs_video(
    scores: np.ndarray, labels: np.ndarray, video_ids: Sequence[Any], classes: Sequence[str], how: str = "mean"
) -> tuple[Metrics, Metrics]:
    """Single-frame (per-row) metrics and video-level metrics after pooling rows of the same video."""
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    frame = evaluate_scores(scores, labels, classes)
    pooled, ids = aggregate_scores(scores, video_ids, how)
    first: dict[Any, int] = {}  # video id -> its first row
    for row, vid in enumerate(video_ids):
        if vid in first and labels[first[vid]] != labels[row]:
            raise ConfigError(None, f"video {vid!r} has rows with different labels")
        first.setdefault(vid, row)
    video_labels = np.array([labels[first[v]] for v in ids])
    return frame, evaluate_scores(pooled, video_labels, classes)
