"""Per-class comparisons: which classes one method improves over another, and which are hardest."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from actionlab.errors import ConfigError
from actionlab.metrics.scores import Metrics

_MEASURES = ("recall", "precision", "f1")


def _per_class(metrics: Metrics | Mapping[str, Any]) -> Mapping[str, Mapping[str, float]]:
    return metrics.per_class if isinstance(metrics, Metrics) else metrics["per_class"]


def _value(per_class: Mapping[str, Mapping[str, float]], name: str, measure: str) -> float:
    if measure not in _MEASURES:
        raise ConfigError(None, f"measure must be one of {', '.join(_MEASURES)}, not {measure!r}")
    return float(per_class.get(name, {}).get(measure, 0.0))


def class_gains(
    metrics_a: Metrics | Mapping[str, Any],
    metrics_b: Metrics | Mapping[str, Any],
    classes: Sequence[str],
    k: int = 10,
    measure: str = "recall",
) -> tuple[list[tuple[str, float]], list[tuple[str, float]]]:
    """(gains, losses), disjoint: up to k classes where b's measure minus a's is largest and positive, and up to
    k of the other classes where it is smallest (the classes b gains least on or loses)."""
    pa, pb = _per_class(metrics_a), _per_class(metrics_b)
    diffs = [(c, _value(pb, c, measure) - _value(pa, c, measure)) for c in classes]
    diffs.sort(key=lambda item: (-item[1], item[0]))
    gains = [d for d in diffs if d[1] > 0][:k]
    rest = [d for d in diffs if d not in gains]
    losses = sorted(rest, key=lambda item: (item[1], item[0]))[:k]
    return gains, losses


def hardest_easiest(
    metrics: Metrics | Mapping[str, Any], k: int = 5, measure: str = "f1"
) -> tuple[list[tuple[str, float]], list[tuple[str, float]]]:
    """(hardest, easiest), disjoint: the k classes with the lowest measure and up to k others with the highest."""
    per_class = _per_class(metrics)
    values = [(c, _value(per_class, c, measure)) for c in per_class]
    hardest = sorted(values, key=lambda item: (item[1], item[0]))[: min(k, len(values) // 2)]
    rest = [v for v in values if v not in hardest]
    easiest = sorted(rest, key=lambda item: (-item[1], item[0]))[:k]
    return hardest, easiest


def per_class_recall(confusion: Sequence[Sequence[int]], classes: Sequence[str]) -> dict[str, dict[str, float]]:
    """{class: {"recall": ...}} from a confusion matrix (rows = true class), e.g. of the single-frame view."""
    out = {}
    for i, name in enumerate(classes):
        row = confusion[i]
        total = sum(row)
        out[name] = {"recall": row[i] / total if total else 0.0, "support": total}
    return out


def confused_pairs(
    confusion: Sequence[Sequence[int]], classes: Sequence[str], k: int = 10
) -> list[tuple[str, str, int, float]]:
    """Up to k (true, predicted, count, share of the true class) off-diagonal cells, most frequent first."""
    cells = [
        (classes[i], classes[j], int(v), v / max(sum(row), 1))
        for i, row in enumerate(confusion)
        for j, v in enumerate(row)
        if i != j and v > 0
    ]
    return sorted(cells, key=lambda c: (-c[2], -c[3], c[0], c[1]))[:k]
