"""Evaluation of class scores: accuracy, confusion, per-class counts, aggregation and comparisons.

Public API (what `methods/`, `compare` and `report/` call):

- `evaluate_scores(scores (N, C), labels (N,), classes) -> Metrics`: top-1/5/10 (k capped at C), mean class
  accuracy, confusion matrix (rows = true class), per-class tp/fp/tn/fn/precision/recall/f1/support;
  `Metrics.to_dict()` gives the JSON form used in `results.json`.
- `aggregate_scores(scores, video_ids, how="mean"|"max") -> (video_scores, unique_ids)`: multi-clip or
  frame -> video averaging.
- `frame_vs_video(scores, labels, video_ids, classes) -> (frame Metrics, video Metrics)`.
- `class_gains(a, b, classes, k=10, measure="recall") -> (gains, losses)`: the classes where `b` beats `a`
  most and least.
- `hardest_easiest(metrics, k=5, measure="f1") -> (hardest, easiest)` (disjoint, like class_gains).
- `per_class_recall(confusion, classes)`, `confused_pairs(confusion, classes, k)`: from a confusion matrix.
- `significance`: `bootstrap_ci`, `mcnemar`, `paired_tests`, `conclusion` (CIs and paired tests of top-1).
- `write_predictions_csv(path, paths, labels, scores, classes, top=5)`: atomic CSV of top-k predictions.
"""

from actionlab.metrics.compare import class_gains, confused_pairs, hardest_easiest, per_class_recall
from actionlab.metrics.predictions import write_predictions_csv
from actionlab.metrics.scores import Metrics, aggregate_scores, evaluate_scores, frame_vs_video

__all__ = [
    "Metrics",
    "aggregate_scores",
    "class_gains",
    "confused_pairs",
    "evaluate_scores",
    "frame_vs_video",
    "hardest_easiest",
    "per_class_recall",
    "write_predictions_csv",
]
