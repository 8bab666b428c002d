"""Per-class comparisons: which classes one method improves over another, and which are hardest."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

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
    """(gains, losses): up to k classes where b's measure minus a's is largest, and where it is smallest."""
    pa, pb = _per_class(metrics_a), _per_class(metrics_b)
    diffs = [(c, _value(pb, c, measure) - _value(pa, c, measure)) for c in classes]
    diffs.sort(key=lambda item: (-item[1], item[0]))
    gains = diffs[:k]
    losses = sorted(diffs, key=lambda item: (item[1], item[0]))[:k]
    return gains, losses


def hardest_easiest(
    metrics: Metrics | Mapping[str, Any], k: int = 5, measure: str = "f1"
) -> tuple[list[tuple[str, float]], list[tuple[str, float]]]:
    """(hardest, easiest): the k classes with the lowest and the highest measure."""
    per_class = _per_class(metrics)
    values = [(c, _value(per_class, c, measure)) for c in per_class]
    hardest = sorted(values, key=lambda item: (item[1], item[0]))[:k]
    easiest = sorted(values, key=lambda item: (-item[1], item[0]))[:k]
    return hardest, easiest
