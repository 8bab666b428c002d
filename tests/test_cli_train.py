"""train -> evaluate -> predict round trip through the public CLI on real encoded videos."""

from __future__ import annotations

import json

import pytest

from actionlab.cli import main


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    from actionlab.synth import generate

    return generate(tmp_path_factory.mktemp("syn") / "set", num_clips_per_class=3, size=64, seed=2)


def test_train_evaluate_predict_round_trip(root, tmp_path, capsys):
    run = tmp_path / "run"
    args = ["--dataset", f"folder:{root}", "--method", "clip3d", "--out", str(run), "--epochs", "2",
            "--frames", "4", "--size", "32"]
    assert main(["train", *args]) == 0
    assert "clip3d: test top1" in capsys.readouterr().out
    (run / "results.json").unlink()
    assert main(["evaluate", str(run)]) == 0  # the dataset is taken from the run's config
    results = json.loads((run / "results.json").read_text())
    assert results["num_videos"] == 14 and 0.0 <= results["top1"] <= 1.0
    assert len((run / "predictions.csv").read_text().splitlines()) == 15
    video = next((root / "test").rglob("*.mp4"))
    capsys.readouterr()
    assert main(["predict", str(run), str(video), "--json", "--top", "3"]) == 0
    out = json.loads(capsys.readouterr().out)
    ranked = out["predictions"][str(video)]
    assert len(ranked) == 3 and ranked[0]["score"] >= ranked[1]["score"] >= ranked[2]["score"]
    config = json.loads((run / "config.json").read_text())
    assert {r["label"] for r in ranked} <= set(config["classes"])


def test_unknown_method_is_one_line_error(root, tmp_path, capsys):
    assert main(["train", "--dataset", f"folder:{root}", "--method", "nope", "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "unknown method" in err


def test_methods_verb_lists_names(capsys):
    assert main(["methods"]) == 0
    out = capsys.readouterr().out
    assert "frame-cnn" in out and "clip3d" in out and "features-lstm" in out
