"""What a compare reads from run folders: history facts (old and new histories), reused runs, McNemar's test."""

from __future__ import annotations

import json

import pytest

from actionlab.metrics.significance import bootstrap_ci, mcnemar, paired_tests
from actionlab.report.collect import reused_runs, training_facts, video_correctness


def _epochs(n: int) -> list[dict]:
    return [
        {
            "epoch": e + 1,
            "train_loss": 2.0 - 0.1 * e,
            "train_acc": 0.2 + 0.1 * e,
            "val_loss": 1.0,
            "val_acc": 0.1 * e,
            "lr": 0.01,
            "seconds": 1.0,
        }
        for e in range(n)
    ]


@pytest.mark.parametrize(
    ("history", "expected"),
    [
        ({"epochs": _epochs(5), "best_epoch": 2, "stopped_early": True}, (0.3, 0.1, 1.6, 5, 2, "early_stopping")),
        ({"epochs": _epochs(3), "best_epoch": 3, "stop_reason": "time_budget"}, (0.4, 0.2, 1.8, 3, 3, "time_budget")),
        ({"epochs": _epochs(2), "best_epoch": None, "stopped_early": False}, (0.3, 0.1, 1.9, 2, 2, "completed")),
        (_epochs(1), (0.2, 0.0, 2.0, 1, 1, "completed")),  # a bare list of epochs
    ],
)
def test_training_facts_read_old_and_new_histories(tmp_path, history, expected) -> None:
    (tmp_path / "history.json").write_text(json.dumps(history))
    f = training_facts(tmp_path)
    got = (f.train_top1, f.val_top1, f.final_train_loss, f.epochs_run, f.best_epoch, f.stop_reason)
    assert got == pytest.approx(expected)


def test_training_facts_of_missing_or_malformed_history_are_empty(tmp_path) -> None:
    assert training_facts(tmp_path).epochs_run is None
    (tmp_path / "history.json").write_text("{broken")
    assert training_facts(tmp_path).to_dict() == dict.fromkeys(training_facts(tmp_path).to_dict())


def test_reused_runs_name_their_origin_and_seconds(tmp_path) -> None:
    extra = {"streams": {"rgb": {"source": "compare run 'a'"}, "flow": {"source": "trained here"}}}
    (tmp_path / "config.json").write_text(json.dumps({"method": "two-stream", "extra": extra}))
    for name, method, seconds in (("rgb", "clip3d", 12.5), ("flow", "flow2p1d", 40.0)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "config.json").write_text(json.dumps({"method": method}))
        (tmp_path / name / "timing.json").write_text(json.dumps({"train_seconds": seconds}))
    runs = {r.name: r for r in reused_runs(tmp_path)}
    assert (runs["rgb"].method, runs["rgb"].source, runs["rgb"].train_seconds) == ("clip3d", "compare run 'a'", 12.5)
    assert (runs["flow"].source, runs["flow"].train_seconds) == ("trained here", 40.0)


def test_correctness_reads_predictions_csv(tmp_path) -> None:
    (tmp_path / "predictions.csv").write_text("path,label,correct,pred1,score1\na.mp4,x,1,x,0.9\nb.mp4,y,0,x,0.6\n")
    assert video_correctness(tmp_path) == {"a.mp4": 1, "b.mp4": 0}
    assert video_correctness(tmp_path / "none") == {}


def test_mcnemar_matches_the_binomial_and_holm_adjusts() -> None:
    exact, mid = mcnemar(1, 9)  # P(X <= 1 | n=10, 1/2) = 11/1024, two-sided 22/1024; mid-p removes P(X = 1)
    assert exact == pytest.approx(22 / 1024) and mid == pytest.approx(12 / 1024)
    assert mcnemar(0, 0) == (1.0, 1.0)
    paths = [str(i) for i in range(40)]
    best = dict.fromkeys(paths, 1)
    tests = paired_tests(
        {"best": best, "x": {p: int(int(p) < 20) for p in paths}, "y": {p: int(int(p) != 0) for p in paths}}, "best"
    )
    by = {t.other: t for t in tests}
    assert by["x"].best_only == 20 and by["x"].other_only == 0 and by["x"].distinguishable
    assert not by["y"].distinguishable and by["y"].p_holm >= by["y"].p_mid
    ci = bootstrap_ci([1] * 30 + [0] * 10)
    assert ci.top1 == 0.75 and ci.low < 0.75 < ci.high
