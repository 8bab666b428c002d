"""The Python API of `import actionlab`: train, compare, Predictor, load_run_model on tiny real runs."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch

import actionlab
from actionlab.errors import ConfigError

TINY = {"epochs": 1, "size": 32, "frames": 4, "workers": 0, "batch_size": 8, "tracker": "none"}


@pytest.fixture(scope="module")
def runs(tiny, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A compare of frame-cnn, clip3d and features-mlp (sift-bow) with tiny options: out/LABEL per run."""
    out = tmp_path_factory.mktemp("api") / "cmp"
    results = actionlab.compare(tiny, "frame-cnn,clip3d,features-mlp", out, TINY, progress=False)
    assert sorted(m["name"] for m in results["methods"]) == ["clip3d", "features-mlp", "frame-cnn"]
    return out


def test_names_resolve_to_the_packages_own_objects() -> None:
    """Every public name exists, and each is the object of the package that defines it."""
    from actionlab.data import load_dataset
    from actionlab.models import create_model
    from actionlab.video import probe, read_frames

    assert {
        "load_dataset",
        "compare",
        "train",
        "Predictor",
        "create_model",
        "probe",
        "read_frames",
        "load_run_model",
    } <= set(actionlab.__all__)
    assert (actionlab.load_dataset, actionlab.create_model, actionlab.probe, actionlab.read_frames) == (
        load_dataset,
        create_model,
        probe,
        read_frames,
    )
    assert callable(actionlab.compare) and callable(actionlab.compare.compare)
    with pytest.raises(AttributeError):
        actionlab.no_such_name  # noqa: B018


def test_train_from_a_spec_writes_a_run(tiny, tmp_path: Path) -> None:
    """train() takes a CLI spec, checks options before reading videos, and writes a loadable run."""
    root = Path(os.path.commonpath([s.path for s in tiny.train + tiny.test]))  # the set (train/, test/ inside)
    with pytest.raises(ConfigError, match="epoch"):
        actionlab.train(f"folder:{root}", "frame-cnn", tmp_path / "bad", {"epoch": 1})
    result = actionlab.train(f"folder:{root}", "frame-cnn", tmp_path / "run", TINY, progress=False)
    assert 0.0 <= result.metrics["top1"] <= 1.0
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["method"] == "frame-cnn" and config["dataset"]["specs"] == [f"folder:{root}"]


@pytest.mark.parametrize("label", ["frame-cnn", "clip3d", "features-mlp"])
def test_load_run_model_works_for_method_runs(runs: Path, label: str, tiny) -> None:
    """The network of each method's run, in eval mode, with its config.json (the old KeyError 'model')."""
    model, config = actionlab.load_run_model(runs / label)
    assert isinstance(model, torch.nn.Module) and not model.training
    assert config["method"] == label and config["classes"] == tiny.classes
    trained = actionlab.load_run_model(runs / label)[0].state_dict()
    assert all(torch.equal(v, trained[k]) for k, v in model.state_dict().items())


def test_load_run_model_of_a_checkpoint_and_of_a_compare_folder(runs: Path, tmp_path: Path) -> None:
    """A bare checkpoint folder loads too; a compare folder is a one-line error naming its runs."""
    from actionlab.models import create_model, save_checkpoint

    net = create_model("mlp-head", num_classes=3, in_features=5)
    save_checkpoint(tmp_path / "ckpt", net, {"classes": ["a", "b", "c"]})
    loaded, config = actionlab.load_run_model(tmp_path / "ckpt")
    x = torch.randn(2, 5)
    assert torch.allclose(loaded(x), net.eval()(x))
    with pytest.raises(ConfigError, match="clip3d"):
        actionlab.load_run_model(runs)


def test_predictor_matches_predict_and_keeps_input_order(runs: Path, tiny, capsys) -> None:
    """Predictor(run)(videos) gives the top-k `actionlab predict` prints, in input order, bad files named."""
    from actionlab.cli import main

    videos = [str(s.path) for s in tiny.test[:3]]
    bad = str(runs / "results.json")  # exists, is no video
    labeller = actionlab.Predictor(runs / "clip3d", top_k=3, batch_size=2, device="cpu")
    got = labeller([videos[1], bad, videos[0], videos[2]])
    assert [p.path for p in got] == [videos[1], bad, videos[0], videos[2]]
    assert got[1].top == [] and got[1].error and got[1].label is None
    assert all(len(p.top) == 3 and p.label in tiny.classes for p in got if p.path != bad)
    assert all(a[1] >= b[1] for p in got for a, b in zip(p.top, p.top[1:]))
    assert labeller(videos[0])[0].top == got[2].top  # one path, same answer as in a batch
    assert main(["predict", str(runs / "clip3d"), *videos, "--top-k", "3", "--format", "json"]) == 0
    printed = json.loads(capsys.readouterr().out)["predictions"]
    for p in got:
        if p.path in printed:
            assert [(r["label"], pytest.approx(r["score"], abs=1e-5)) for r in printed[p.path]] == p.top


def test_predictor_rejects_a_compare_folder_and_bad_arguments(runs: Path) -> None:
    """A compare folder gets the hint listing its runs; top_k/batch_size/device are checked."""
    with pytest.raises(ConfigError, match="frame-cnn"):
        actionlab.Predictor(runs)
    with pytest.raises(ConfigError, match="top_k"):
        actionlab.Predictor(runs / "clip3d", top_k=0)
    with pytest.raises(ConfigError, match="device"):
        actionlab.Predictor(runs / "clip3d", device="gpu")
