"""Test-split numbers a run reports right after training (top-1/5, mean class accuracy, confusion)."""

from __future__ import annotations

from typing import Any

import numpy as np


def basic_metrics(scores: np.ndarray, labels: np.ndarray, classes: list[str]) -> dict[str, Any]:
    """Top-1, top-5, mean class accuracy, confusion and per-class counts; metrics.evaluate_scores when present."""
    try:
        from actionlab.metrics import evaluate_scores  # the metrics package owns the full set
        if len(labels):
            m = evaluate_scores(scores, labels, classes)
            return {**(m.to_dict() if hasattr(m, "to_dict") else dict(vars(m))), "num_videos": int(len(labels))}
    except ImportError:
        pass
    n, c = len(labels), len(classes)
    if n == 0:
        return {"top1": 0.0, "top5": 0.0, "mean_class_acc": 0.0, "confusion": [[0] * c for _ in range(c)],
                "per_class": {}, "num_videos": 0}
    pred = scores.argmax(1)
    top5 = np.argsort(-scores, 1)[:, :5]
    conf = np.zeros((c, c), dtype=np.int64)
    np.add.at(conf, (labels, pred), 1)
    per_class, recalls = {}, []
    for k, name in enumerate(classes):
        tp = int(conf[k, k])
        fn = int(conf[k].sum() - tp)
        fp = int(conf[:, k].sum() - tp)
        tn = int(n - tp - fn - fp)
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        if tp + fn:
            recalls.append(rec)
        per_class[name] = {"precision": prec, "recall": rec, "f1": f1, "tp": tp, "fp": fp, "tn": tn, "fn": fn}
    return {"top1": float((pred == labels).mean()), "top5": float((top5 == labels[:, None]).any(1).mean()),
            "mean_class_acc": float(np.mean(recalls)) if recalls else 0.0, "confusion": conf.tolist(),
            "per_class": per_class, "num_videos": int(n)}
