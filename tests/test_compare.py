"""compare on a tiny set writes a valid results.json and a self-contained report.html."""

from __future__ import annotations

import json

from actionlab.cli import main
from actionlab.report import validate_results


def test_compare_writes_results_and_report(tmp_path, capsys):
    from actionlab.synth import generate

    root = generate(tmp_path / "set", num_clips_per_class=3, size=64, seed=4)
    out = tmp_path / "cmp"
    code = main(["compare", "--dataset", f"folder:{root}", "--methods", "frame-cnn,clip3d", "--out", str(out),
                 "--epochs", "1", "--frames", "4", "--size", "32"])
    assert code == 0
    results = json.loads((out / "results.json").read_text())
    validate_results(results)
    names = [m["name"] for m in results["methods"]]
    assert names == ["frame-cnn", "clip3d"]
    for m in results["methods"]:
        assert {"top1", "top5", "mean_class_acc", "per_class", "confusion", "train_seconds",
                "infer_clips_per_s", "params", "model_mb"} <= set(m)
        assert (out / m["name"] / "model.safetensors").is_file()
    html = (out / "report.html").read_text()
    assert "frame-cnn" in html and "clip3d" in html and "data:image/png;base64" in html
    table = capsys.readouterr().out
    assert "frame-cnn" in table and "report.html" in table


def test_compare_unknown_method_fails_before_training(tmp_path, capsys):
    code = main(["compare", "--dataset", "synthetic", "--methods", "frame-cnn,bogus", "--out", str(tmp_path)])
    assert code == 1 and "unknown method" in capsys.readouterr().err
