"""compare on a tiny set: labelled runs of one preset, a failing method listed, results.json + report.html, and
--resume retraining only what did not finish."""

from __future__ import annotations

import json

from actionlab.cli import main
from actionlab.report import validate_results

TINY = ["--epochs", "1", "--frames", "4", "--size", "32", "--workers", "0", "--set", "width=8"]


def test_compare_labels_failures_report_and_resume(tmp_path, capsys):
    from actionlab.synth import generate

    root = generate(tmp_path / "set", num_clips_per_class=3, size=64, seed=4)
    out = tmp_path / "cmp"
    args = ["compare", "--dataset", f"folder:{root}", "--methods", "a=clip3d,b=clip3d,c=clip3d", "--out", str(out),
            *TINY, "--set", "b.lr=0.01", "--set", f"c.init={tmp_path / 'missing.safetensors'}"]
    assert main(args) == 0
    results = json.loads((out / "results.json").read_text())
    validate_results(results)
    assert [(m["name"], m["method"]) for m in results["methods"]] == [("a", "clip3d"), ("b", "clip3d")]
    assert list(results["failed"]) == ["c"]  # c's weights do not exist: listed, the others still ran
    for m in results["methods"]:
        assert {"top1", "top5", "mean_class_acc", "per_class", "confusion", "train_seconds", "infer_clips_per_s",
                "params", "model_mb", "history"} <= set(m)
        assert (out / m["name"] / "model.safetensors").is_file()
    options = {label: json.loads((out / label / "config.json").read_text())["options"] for label in "ab"}
    assert (options["a"]["lr"], options["b"]["lr"]) == (1e-3, 0.01)
    html = (out / "report.html").read_text()
    assert "<h3>a</h3>" in html and "<h3>b</h3>" in html and "data:image/png;base64" in html
    table = capsys.readouterr().out
    assert "a (clip3d)" in table and "b (clip3d)" in table and "c" in table and "report.html" in table

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
    assert "compare: training a (clip3d; its options differ)" in err and "compare: kept b:" in err


def test_compare_unknown_method_fails_before_training(tmp_path, capsys):
    code = main(["compare", "--dataset", "synthetic", "--methods", "frame-cnn,bogus", "--out", str(tmp_path)])
    assert code == 2 and "unknown method" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())
