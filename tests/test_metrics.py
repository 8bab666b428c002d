"""Metrics against hand-computed cases and scikit-learn."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from sklearn.metrics import f1_score, top_k_accuracy_score

from actionlab.errors import ConfigError
from actionlab.metrics import (
    aggregate_scores,
    class_gains,
    evaluate_scores,
    frame_vs_video,
    hardest_easiest,
    write_predictions_csv,
)

CLASSES = ["a", "b", "c"]


def _onehot(pred: list[int], num_classes: int = 3) -> np.ndarray:
    scores = np.full((len(pred), num_classes), 0.1)
    scores[np.arange(len(pred)), pred] = 0.9
    return scores


def test_hand_computed_three_classes() -> None:
    labels = [0, 0, 1, 1, 2, 2]
    pred = [0, 1, 1, 1, 0, 2]
    m = evaluate_scores(_onehot(pred), labels, CLASSES)
    assert m.top1 == pytest.approx(4 / 6)
    assert m.confusion == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    assert m.mean_class_acc == pytest.approx((0.5 + 1.0 + 0.5) / 3)
    assert m.per_class["a"] == {
        "tp": 1,
        "fp": 1,
        "fn": 1,
        "tn": 3,
        "precision": 0.5,
        "recall": 0.5,
        "f1": 0.5,
        "support": 2,
    }
    assert m.per_class["b"]["precision"] == pytest.approx(2 / 3)
    assert m.per_class["b"]["recall"] == 1.0
    assert m.per_class["c"]["fp"] == 0 and m.per_class["c"]["precision"] == 1.0
    assert m.top5 == 1.0 and m.top10 == 1.0  # k capped at C
    json.dumps(m.to_dict())


def test_matches_sklearn_on_random_scores() -> None:
    rng = np.random.default_rng(0)
    n, c = 200, 12
    classes = [f"k{i}" for i in range(c)]
    labels = rng.integers(0, c, n)
    scores = rng.normal(size=(n, c)) + 2.0 * np.eye(c)[labels] * rng.random((n, 1))
    m = evaluate_scores(scores, labels, classes)
    assert m.top5 == pytest.approx(top_k_accuracy_score(labels, scores, k=5, labels=np.arange(c)))
    assert m.top10 == pytest.approx(top_k_accuracy_score(labels, scores, k=10, labels=np.arange(c)))
    assert m.top1 <= m.top5 <= m.top10 < 1.0
    f1 = f1_score(labels, scores.argmax(1), average=None, labels=np.arange(c), zero_division=0)
    assert [m.per_class[k]["f1"] for k in classes] == pytest.approx(list(f1))
    for counts in m.per_class.values():
        assert counts["tp"] + counts["fp"] + counts["tn"] + counts["fn"] == n
    assert np.asarray(m.confusion).sum() == n


def test_two_classes_and_bad_input() -> None:
    m = evaluate_scores(np.array([[0.2, 0.8], [0.6, 0.4]]), [1, 1], ["x", "y"])
    assert m.top1 == 0.5 and m.top5 == 1.0
    assert m.mean_class_acc == 0.5  # class x is absent and does not count
    with pytest.raises(ConfigError, match="columns"):
        evaluate_scores(np.zeros((2, 4)), [0, 1], CLASSES)
    with pytest.raises(ConfigError, match="labels"):
        evaluate_scores(np.zeros((2, 3)), [0, 3], CLASSES)
    with pytest.raises(ConfigError, match="NaN"):
        evaluate_scores(np.full((1, 3), np.nan), [0], CLASSES)


def test_aggregation_mean_max_and_video_level() -> None:
    scores = np.array([[0.9, 0.1, 0.0], [0.0, 0.6, 0.4], [0.2, 0.7, 0.1], [0.0, 0.0, 1.0]])
    pooled, ids = aggregate_scores(scores, ["v1", "v1", "v1", "v2"])
    assert ids == ["v1", "v2"]
    np.testing.assert_allclose(pooled[0], [1.1 / 3, 1.4 / 3, 0.5 / 3])
    maxed, _ = aggregate_scores(scores, ["v1", "v1", "v1", "v2"], how="max")
    np.testing.assert_allclose(maxed[0], [0.9, 0.7, 0.4])
    frame, video = frame_vs_video(scores, [1, 1, 1, 2], ["v1", "v1", "v1", "v2"], CLASSES)
    assert frame.top1 == 0.75 and video.top1 == 1.0 and video.num_samples == 2
    with pytest.raises(ConfigError, match="mean"):
        aggregate_scores(scores, ["v"] * 4, how="median")


def test_class_gains_and_hardest() -> None:
    labels = [0, 0, 1, 1, 2, 2]
    a = evaluate_scores(_onehot([0, 0, 0, 0, 2, 2]), labels, CLASSES)
    b = evaluate_scores(_onehot([0, 0, 1, 1, 1, 2]), labels, CLASSES)
    gains, losses = class_gains(a, b, CLASSES, k=1)
    assert gains == [("b", 1.0)] and losses == [("c", -0.5)]
    gains_d, _ = class_gains(a.to_dict(), b.to_dict(), CLASSES, k=3, measure="f1")
    assert gains_d[0][0] == "b"
    hardest, easiest = hardest_easiest(a, k=1)
    assert hardest[0][0] == "b" and easiest[0][0] == "c"


def test_predictions_csv_is_atomic_and_ranked(tmp_path) -> None:
    out = tmp_path / "sub" / "predictions.csv"
    scores = np.array([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2]])
    write_predictions_csv(out, ["x.mp4", "y.mp4"], [1, 2], scores, CLASSES, top=2)
    rows = list(csv.DictReader(out.open()))
    assert rows[0]["pred1"] == "b" and rows[0]["pred2"] == "c" and rows[0]["correct"] == "1"
    assert rows[1]["label"] == "c" and rows[1]["correct"] == "0" and float(rows[1]["score1"]) == 0.5
    assert [p.name for p in out.parent.iterdir()] == ["predictions.csv"]


def test_encoded_videos_to_metrics_predictions_and_report(tmp_path) -> None:
    """Decode real encoded clips, score their frames, pool per video, evaluate and report."""
    from actionlab.report import load_results, write_report, write_results_json
    from actionlab.video import read_frames
    from media import write_video

    classes = ["red", "green", "blue"]
    paths, labels = [], []
    for label in range(3):
        for k in range(2):
            frames = np.full((8, 32, 48, 3), 40, np.uint8)
            frames[:, 8:24, 8 + 2 * k : 24 + 2 * k, label] = 220
            frames[1, :20, :30, (label + 1) % 3] = 250  # one misleading frame per video
            paths.append(write_video(tmp_path / f"{classes[label]}{k}.mp4", frames))
            labels.append(label)
    rows, row_ids, row_labels = [], [], []
    for vid, (path, label) in enumerate(zip(paths, labels)):
        decoded = read_frames(path, [0, 1, 4, 7]).astype(np.float64)
        rows.append(decoded.mean(axis=(1, 2)) / 255)  # frame "score" per class = mean channel brightness
        row_ids += [vid] * 4
        row_labels += [label] * 4
    frame, video = frame_vs_video(np.concatenate(rows), row_labels, row_ids, classes)
    assert frame.top1 == pytest.approx(0.75) and video.top1 == 1.0  # pooling outvotes the bad frame
    pooled, _ = aggregate_scores(np.concatenate(rows), row_ids)
    csv_path = write_predictions_csv(tmp_path / "run" / "predictions.csv", paths, labels, pooled, classes)
    assert sum(r["correct"] == "1" for r in csv.DictReader(csv_path.open())) == 6
    results = {
        "dataset": {"name": "colours", "classes": classes, "num_train": 0, "num_test": 6},
        "methods": [{"name": "frame-mean", **frame.to_dict()}, {"name": "video-mean", **video.to_dict()}],
    }
    write_results_json(tmp_path / "run" / "results.json", results)
    page = write_report(
        tmp_path / "run" / "results.json", tmp_path / "run" / "report.html", baseline="frame-mean"
    ).read_text()
    assert "Where video-mean gains over frame-mean" in page and "colours" in page
    assert load_results(tmp_path / "run" / "results.json")["methods"][1]["top1"] == 1.0
