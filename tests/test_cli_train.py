"""train -> evaluate -> predict through the public CLI on real encoded videos; --config reproduces a run."""

from __future__ import annotations

import contextlib
import csv
import io
import json

import pytest

from actionlab.cli import main
from actionlab.cli.train import read_config_file

TINY = ["--epochs", "1", "--frames", "4", "--size", "32", "--workers", "0", "--set", "width=8"]


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    from actionlab.synth import generate

    return generate(tmp_path_factory.mktemp("syn") / "set", num_clips_per_class=3, size=64, seed=2)


@pytest.fixture(scope="module")
def run(root, tmp_path_factory):
    """A clip3d run on a seeded folder split (--seed 3), and what train printed."""
    out = tmp_path_factory.mktemp("runs") / "clip3d"
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = main(
            ["train", "--dataset", f"folder:{root}", "--method", "clip3d", "--out", str(out), "--seed", "3", *TINY]
        )
    assert code == 0
    return out, buf.getvalue()


def _paths(csv_file):
    with open(csv_file, newline="") as f:
        return [row["path"] for row in csv.DictReader(f)]


def test_train_prints_summary_and_records_given_options(run):
    out, printed = run
    assert printed.startswith("clip3d: test top1 ") and f"s training) -> {out}" in printed
    config = json.loads((out / "config.json").read_text())
    assert config["method"] == "clip3d" and config["label"] == "clip3d"
    o = config["options"]
    assert (o["epochs"], o["frames"], o["size"], o["width"], o["seed"], o["workers"]) == (1, 4, 32, 8, 3, 0)
    assert o["lr"] == 1e-3 and o["batch_size"] == 16  # not given: the preset's defaults
    ds = config["dataset"]
    assert ds["specs"] and ds["specs"][0].startswith("folder:") and ds["seed"] == 3 and ds["num_test"] == 14


def test_evaluate_rebuilds_the_seeded_test_split_and_keeps_results(run, capsys):
    out, _ = run
    before = (out / "results.json").read_bytes()
    assert main(["evaluate", str(out)]) == 0
    assert (out / "results.json").read_bytes() == before  # never written by evaluate
    printed = capsys.readouterr().out
    assert "on 14 test videos" in printed and "eval.json" in printed
    evaluated, trained = json.loads((out / "eval.json").read_text()), json.loads(before)
    assert evaluated["top1"] == trained["top1"] and evaluated["num_videos"] == 14
    assert evaluated["dataset"]["seed"] == 3
    assert _paths(out / "eval_predictions.csv") == _paths(out / "predictions.csv")  # the same test split


def test_predict_top_k_json(run, root, capsys):
    out, _ = run
    video = next((root / "test").rglob("*.mp4"))
    capsys.readouterr()
    assert main(["predict", str(out), str(video), "--json", "--top", "3"]) == 0
    ranked = json.loads(capsys.readouterr().out)["predictions"][str(video)]
    assert len(ranked) == 3 and ranked[0]["score"] >= ranked[1]["score"] >= ranked[2]["score"]
    assert {r["label"] for r in ranked} <= set(json.loads((out / "config.json").read_text())["classes"])


def test_config_reproduces_a_run_and_flags_override_it(run, tmp_path, capsys):
    out, _ = run
    again = tmp_path / "again"
    assert main(["train", "--config", str(out / "config.json"), "--out", str(again), "--set", "lr=0.01"]) == 0
    first, second = (json.loads((d / "config.json").read_text()) for d in (out, again))
    assert second["method"] == first["method"]
    changed = {k for k in first["options"] if first["options"][k] != second["options"][k]}
    assert changed == {"lr"} and second["options"]["lr"] == 0.01
    assert second["dataset"] == first["dataset"]  # specs, split and seed: the same train/test split
    assert _paths(again / "predictions.csv") == _paths(out / "predictions.csv")


def test_toml_config_file(root, tmp_path):
    toml = tmp_path / "run.toml"
    toml.write_text(
        f'method = "clip3d"\n[options]\nepochs = 1\nwidth = 8\n[dataset]\nspecs = ["folder:{root}"]\n'
        "split = 1\nseed = 4\n"
    )
    spec = read_config_file(toml)
    assert (spec.method, spec.specs, spec.split) == ("clip3d", [f"folder:{root}"], 1)
    assert spec.options == {"epochs": 1, "width": 8, "seed": 4}  # the dataset's seed is the run's seed


def test_yaml_config_without_pyyaml_is_one_line(tmp_path, capsys):
    import importlib.util

    if importlib.util.find_spec("yaml") is not None:
        pytest.skip("PyYAML is installed")
    (tmp_path / "run.yaml").write_text("method: clip3d\n")
    assert main(["train", "--config", str(tmp_path / "run.yaml"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "pip install pyyaml" in err


def test_unknown_method_is_one_line_error(root, tmp_path, capsys):
    assert main(["train", "--dataset", f"folder:{root}", "--method", "nope", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "unknown method" in err
