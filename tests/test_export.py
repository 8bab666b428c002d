"""export: ONNX / TorchScript + input spec; exported vs eager logits on real encoded clips; predict --backend."""

from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pytest
import torch

from actionlab.cli import main
from actionlab.methods import get_method

TINY = {"epochs": 1, "workers": 0}
FAST = {
    "frame-cnn": {"frames": 4, "width": 8},
    "clip3d": {"frames": 4, "width": 8},
    "flow2p1d": {"num_flows": 4, "width": 4},
}
SIZED = 32  # every preset but two-stream (whose streams bring their sizes) reads size x size frames
SLOW = {
    "late-fusion": {"frames": 3, "width": 8},
    "lrcn": {"frames": 3, "width": 8, "hidden": 8},
    "c3d": {"frames": 4, "width": 0.05},
    "i3d": {"frames": 4, "width": 8},
    "nonlocal": {"frames": 4, "width": 8},
}


def train(method, dataset, folder, **options):
    run = folder / method
    size = {} if method == "two-stream" else {"size": SIZED}
    get_method(method).train(dataset, run, {**TINY, **size, **FAST.get(method, {}), **SLOW.get(method, {}), **options})
    return run


@pytest.fixture(scope="module")
def runs(tiny, tmp_path_factory):
    folder = tmp_path_factory.mktemp("runs")
    return {m: train(m, tiny, folder) for m in FAST}


def eager_and_exported_logits(run, exported, clip):
    """Logits of the eager network and of the ONNX file on the run's own inputs for a real clip."""
    from actionlab.data.dataset import Sample
    from actionlab.export import ort_session
    from actionlab.methods.evaluation import load_run, make_reader

    preset, model, o, rc = load_run(run)
    x = make_reader(preset, o, rc.classes, False, run, rc.extra, [])(Sample(clip, 0), None)[0]
    x = x if isinstance(x, tuple) else (x,)
    with torch.no_grad():
        eager = model(*x).numpy()
    sess = ort_session(exported)
    return eager, sess.run(None, {i.name: t.numpy() for i, t in zip(sess.get_inputs(), x)})[0]


def export_and_compare(run, tiny, folder):
    """Export through the CLI (checked on one test clip), then compare on another; returns the spec."""
    out = folder / f"{run.name}.onnx"
    check, other = tiny.test[0].path, tiny.test[-1].path
    with contextlib.redirect_stdout(io.StringIO()) as text:
        assert main(["export", str(run), "--format", "onnx", "--out", str(out), "--check-video", str(check)]) == 0
    assert "max |exported - eager|" in text.getvalue()
    spec = json.loads((folder / f"{run.name}.onnx.json").read_text())
    eager, exported = eager_and_exported_logits(run, out, other)  # a clip the export did not check
    assert np.abs(eager - exported).max() <= 1e-4
    assert eager.shape[1] == len(tiny.classes) and np.abs(eager).max() > 0
    return spec


@pytest.fixture(scope="module")
def exported(runs, tiny, tmp_path_factory):
    """(onnx file, spec) per fast preset, each compared with its eager network on a real clip."""
    folder = tmp_path_factory.mktemp("exported")
    return {m: (folder / f"{m}.onnx", export_and_compare(run, tiny, folder)) for m, run in runs.items()}


@pytest.mark.parametrize("method", list(FAST))
def test_export_onnx_parity(method, exported, tiny):
    spec = exported[method][1]
    assert spec["classes"] == tiny.classes and spec["format"] == "onnx" and spec["parity_max_abs"] <= 1e-4
    (inp,) = spec["inputs"]
    assert inp["shape"][0] == "batch" and inp["size"] == 32
    if method == "flow2p1d":
        assert inp["channels"] == "flow dx,dy" and inp["shape"][1:3] == [2, 4] and inp["layout"] == "N C T H W"
    else:
        assert inp["channels"] == "RGB" and len(inp["mean"]) == 3 and len(inp["std"]) == 3
    if method == "frame-cnn":  # the middle frame, then one frame per segment (late-fusion view)
        assert inp["layout"] == "N C H W" and spec["views"]["per_video"] == 5 and spec["views"]["first"] == 1
    if method == "clip3d":
        assert inp["layout"] == "N C T H W" and inp["frames"] == 4 and inp["sampler"]["plan"] == "ClipPlan"


def test_export_torchscript_parity(runs, tiny, tmp_path):
    out = tmp_path / "clip3d.pt"
    assert main(["export", str(runs["clip3d"]), "--format", "torchscript", "--out", str(out)]) == 0
    from actionlab.data.dataset import Sample
    from actionlab.methods.evaluation import load_run, make_reader

    preset, model, o, rc = load_run(runs["clip3d"])
    x = make_reader(preset, o, rc.classes, False, runs["clip3d"], rc.extra, [])(Sample(tiny.test[1].path, 0), None)[0]
    with torch.no_grad():
        diff = (torch.jit.load(str(out))(x) - model(x)).abs().max().item()
    assert diff <= 1e-4
    assert json.loads((tmp_path / "clip3d.pt.json").read_text())["format"] == "torchscript"


def predict_json(argv, capsys):
    assert main(["predict", *argv, "--format", "json", "--top-k", "3"]) == 0
    out = json.loads(capsys.readouterr().out)["predictions"]
    return {p: {r["label"]: r["score"] for r in ranked} for p, ranked in out.items()}


def same_predictions(a, b):
    assert a.keys() == b.keys()
    for p in a:
        assert list(a[p]) == list(b[p])
        assert max(abs(a[p][c] - b[p][c]) for c in a[p]) <= 1e-4


@pytest.mark.parametrize("method", ["clip3d", "frame-cnn", "flow2p1d"])
def test_predict_backend_onnxruntime_matches_eager(method, runs, exported, tiny, capsys):
    videos = [str(s.path) for s in tiny.test[:4]]
    eager = predict_json([str(runs[method]), *videos], capsys)
    assert set(eager) == set(videos)
    same_predictions(eager, predict_json([str(exported[method][0]), *videos, "--backend", "onnxruntime"], capsys))
    if method == "frame-cnn":  # a run folder is exported once (cached) and run the same way
        same_predictions(eager, predict_json([str(runs[method]), *videos, "--backend", "onnxruntime"], capsys))


def test_export_and_backend_mistakes_are_one_line(runs, exported, tmp_path, capsys):
    run = str(runs["clip3d"])
    assert main(["export", run, "--format", "torchscript", "--out", str(tmp_path / "m.onnx")]) == 2
    assert "*.pt" in capsys.readouterr().err
    original = exported["clip3d"][0]
    out = tmp_path / "m.onnx"
    out.write_bytes(original.read_bytes())
    video = str(out)  # any path: the backend check comes first
    assert main(["predict", str(out), video]) == 2
    assert "--backend onnxruntime" in capsys.readouterr().err
    assert main(["predict", run, video, "--backend", "onnxruntime", "--timeline"]) == 2
    err = capsys.readouterr().err
    assert "not --timeline" in err and "Traceback" not in err
    assert main(["predict", str(out), video, "--backend", "onnxruntime"]) == 1  # no spec beside the copy
    err = capsys.readouterr().err
    assert "input specification" in err and len(err.strip().splitlines()) == 1


@pytest.mark.slow
@pytest.mark.parametrize("method", list(SLOW))
def test_export_onnx_parity_other_presets(method, tiny, tmp_path):
    spec = export_and_compare(train(method, tiny, tmp_path / "runs"), tiny, tmp_path)
    assert spec["method"] == method


@pytest.mark.slow
def test_export_two_stream(runs, tiny, tmp_path):
    run = train("two-stream", tiny, tmp_path / "runs", rgb_run=str(runs["clip3d"]), flow_run=str(runs["flow2p1d"]))
    spec = export_and_compare(run, tiny, tmp_path)
    assert [i["name"] for i in spec["inputs"]] == ["rgb", "flow"]
    assert spec["inputs"][1]["layout"] == "N V C T H W"


@pytest.mark.slow
def test_feature_presets_are_refused_in_one_line(tiny, tmp_path, capsys):
    run = train("features-mlp", tiny, tmp_path / "runs", family="sift-bow", k=8, frames=2, hidden=8)
    capsys.readouterr()
    assert main(["export", str(run), "--out", str(tmp_path / "m.onnx")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "features-mlp cannot be exported" in err[0]
    assert not (tmp_path / "m.onnx").exists()
