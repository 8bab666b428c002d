"""compare on a tiny set: labelled runs of one preset, a failing method listed, results.json + report.html, and
--resume retraining only what did not finish."""

from __future__ import annotations

import json

import numpy as np

from actionlab.cli import main
from actionlab.report import validate_results

TINY = ["--epochs", "1", "--frames", "4", "--size", "32", "--workers", "0", "--set", "width=8"]


def test_compare_labels_failures_report_and_resume(tmp_path, capsys):
    from actionlab.synth import generate

    root = generate(tmp_path / "set", num_clips_per_class=3, size=64, seed=4)
    out = tmp_path / "cmp"
    args = [
        "compare",
        "--dataset",
        f"folder:{root}",
        "--methods",
        "a=frame-cnn,b=clip3d,c=clip3d",
        "--out",
        str(out),
        *TINY,
        "--set",
        "b.lr=0.01",
        "--set",
        f"c.init={tmp_path / 'missing.safetensors'}",
    ]
    assert main(args) == 0
    results = json.loads((out / "results.json").read_text())
    validate_results(results)
    assert [(m["name"], m["method"]) for m in results["methods"]] == [("a", "frame-cnn"), ("b", "clip3d")]
    assert list(results["failed"]) == ["c"]  # c's weights do not exist: listed, the others still ran
    for m in results["methods"]:
        assert {
            "top1",
            "top5",
            "mean_class_acc",
            "per_class",
            "confusion",
            "train_seconds",
            "infer_clips_per_s",
            "params",
            "model_mb",
            "history",
        } <= set(m)
        assert (out / m["name"] / "model.safetensors").is_file()
        assert {
            "top10",
            "train_top1",
            "final_train_loss",
            "epochs_run",
            "best_epoch",
            "stop_reason",
            "wall_seconds",
            "options",
            "reuses",
            "infer_note",
        } <= set(m)
        assert m["epochs_run"] == 1 and m["best_epoch"] == 1 and m["stop_reason"] == "completed"
        assert (m["num_train"], m["num_val"], m["val_source"]) == (results["dataset"]["num_train"], 0, "none")
        with np.load(out / m["name"] / "embeddings.npz") as z:  # penultimate features, one row per test video
            assert z["features"].shape[0] == m["num_videos"] == len(z["labels"]) and z["features"].std() > 0
    assert {"single_frame_top5", "single_frame_confusion"} <= set(results["methods"][0])
    assert (
        set(results["significance"]["intervals"]) == {"a", "b"}
        and "test videos" in results["significance"]["conclusion"]
    )
    info = results["dataset"]
    assert sum(c["test"] for c in info["counts"].values()) == info["num_test"]
    assert len(info["examples"]) == len(info["classes"])
    assert "compare --dataset" in results["provenance"]["command"] and results["provenance"]["torch"]
    options = {label: json.loads((out / label / "config.json").read_text())["options"] for label in "ab"}
    assert (options["a"]["lr"], options["b"]["lr"]) == (1e-3, 0.01)
    html = (out / "report.html").read_text()
    for sid in (
        "provenance",
        "dataset",
        "results",
        "comparison",
        "gains",
        "tsne",
        "skipped",
        "failed",
        "method-a",
        "method-b",
    ):
        assert f'<section id="{sid}"' in html, sid
    assert "Where b gains over a (single-frame view)" in html and "t-SNE a" in html and "t-SNE b" in html
    assert "contact sheet" in html and "a misclassified" in html and "Videos each method used" in html
    assert "a Grad-CAM strip" in html and "b Grad-CAM strip" in html
    table = capsys.readouterr().out
    assert "a (frame-cnn)" in table and "b (clip3d)" in table and "c" in table and "report.html" in table

    # as if killed while b was evaluated: b has weights and config but no results.json
    kept = (out / "a" / "model.safetensors").stat().st_mtime_ns
    before_a = next(m for m in results["methods"] if m["name"] == "a")
    (out / "b" / "results.json").unlink()
    assert main([*args, "--resume"]) == 0
    err = capsys.readouterr().err
    assert "compare: kept a:" in err and "compare: training b" in err and "compare: kept b" not in err
    assert (out / "a" / "model.safetensors").stat().st_mtime_ns == kept
    assert (out / "b" / "results.json").is_file()
    again = json.loads((out / "results.json").read_text())
    assert [m["name"] for m in again["methods"]] == ["a", "b"]
    after_a = next(m for m in again["methods"] if m["name"] == "a")
    assert after_a == before_a  # read back from a's files: the same numbers and history

    # a changed option is not a finished run of this compare: retrained
    assert main([*args, "--resume", "--set", "a.dropout=0.1"]) == 0
    err = capsys.readouterr().err
    assert "compare: training a (frame-cnn; its options differ)" in err and "compare: kept b:" in err


def test_compare_unknown_method_fails_before_training(tmp_path, capsys):
    code = main(["compare", "--dataset", "synthetic", "--methods", "frame-cnn,bogus", "--out", str(tmp_path)])
    assert code == 2 and "unknown method" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_compare_where_every_method_fails_writes_no_report(tmp_path, capsys, tiny):
    out = tmp_path / "cmp"
    root = tiny.train[0].path.parents[1]  # the folder dataset: root/CLASS/VIDEO
    args = [
        "compare",
        "--dataset",
        f"folder:{root}",
        "--methods",
        "c=clip3d",
        "--out",
        str(out),
        *TINY,
        "--set",
        f"c.init={tmp_path / 'missing.safetensors'}",
    ]
    assert main(args) == 1
    captured = capsys.readouterr()
    assert "report:" not in captured.out and "no method succeeded; no report written" in captured.err
    results = json.loads((out / "results.json").read_text())
    assert results["methods"] == [] and list(results["failed"]) == ["c"] and results["report"] is None
    assert not (out / "report.html").exists()
    assert main([*args[:-2], "--baseline", "zz"]) == 2 and "--baseline zz" in capsys.readouterr().err
