"""The HTML report and results.json: self-contained, complete, and strict about malformed input."""

from __future__ import annotations

import base64
import io
import json
import re

import numpy as np
import pytest
from PIL import Image

from actionlab.errors import ConfigError
from actionlab.metrics import evaluate_scores
from actionlab.report import load_results, validate_results, write_report, write_results_json
from actionlab.report.plots import most_confused

CLASSES = ["walk", "walk-back", "jump", "wave"]


def _method(name: str, pred: list[int], labels: list[int], **extra) -> dict:
    scores = np.full((len(pred), len(CLASSES)), 0.05)
    scores[np.arange(len(pred)), pred] = 0.85
    return {"name": name, **evaluate_scores(scores, labels, CLASSES).to_dict(), **extra}


def _results() -> dict:
    labels = [0, 0, 1, 1, 2, 2, 3, 3]
    history = [{"train_loss": 1.2 - 0.1 * e, "train_acc": 0.3 + 0.1 * e, "val_loss": 1.3 - 0.1 * e,
                "val_acc": 0.25 + 0.1 * e, "lr": 1e-3 * 0.9**e} for e in range(5)]
    frame = _method("frame-cnn", [0, 1, 0, 0, 2, 2, 3, 3], labels, train_seconds=12.5,
                    infer_clips_per_s=250.0, params=11000, model_mb=0.044)
    clip = _method("clip3d", [0, 0, 1, 1, 2, 2, 3, 2], labels, train_seconds=80.25,
                   infer_clips_per_s=40.0, params=33000, model_mb=0.132, history=history)
    mlp = _method("features-mlp", [0, 0, 1, 0, 2, 3, 3, 3], labels)  # optional keys missing
    dataset = {"name": "synthetic", "classes": CLASSES, "num_train": 32, "num_val": 0, "num_test": 8}
    return {"dataset": dataset, "methods": [frame, clip, mlp]}


def test_gains_prefer_temporal_methods_and_failures_are_listed(tmp_path) -> None:
    results = _results()
    clip, mlp = results["methods"][1], results["methods"][2]
    clip.update(temporal=True, top1=0.5, single_frame_top1=0.375)
    mlp.update(temporal=False, top1=0.99)  # best by top-1 but not temporal
    results["failed"] = {"two-stream": "runs/two-stream: <no flow>"}
    page = write_report(results, tmp_path / "r.html").read_text()
    assert "Where clip3d gains over frame-cnn" in page and "best temporal method" in page
    assert "single-frame top-1" in page and "0.375" in page
    assert "Failed methods" in page and "two-stream" in page and "&lt;no flow&gt;" in page
    # a trainer's {"epochs": [...]} history is drawn too, with val_* None when there was no validation
    epochs = [{"epoch": 1, "train_loss": 1.0, "train_acc": 0.5, "val_loss": None, "val_acc": None, "lr": 0.1},
              {"epoch": 2, "train_loss": 0.5, "train_acc": 0.8, "val_loss": None, "val_acc": None, "lr": 0.05}]
    page = write_report(results, tmp_path / "r.html", histories={"frame-cnn": {"epochs": epochs}}).read_text()
    assert "frame-cnn training curves" in page and "clip3d training curves" in page
    results["methods"][0]["history"] = "epoch 1: ok"
    with pytest.raises(ConfigError, match="'history'"):
        validate_results(results)
    results["methods"][0].pop("history")
    results["failed"] = ["two-stream"]
    with pytest.raises(ConfigError, match="'failed'"):
        validate_results(results)


def _images(page: str) -> list[Image.Image]:
    return [Image.open(io.BytesIO(base64.b64decode(b64)))
            for b64 in re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)]


def test_report_is_self_contained_and_complete(tmp_path) -> None:
    results = _results()
    path = write_results_json(tmp_path / "results.json", results)
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(4), 15)
    x = rng.normal(size=(60, 16)) + 4.0 * np.eye(16)[y]
    out = write_report(path, tmp_path / "out" / "report.html", features={"clip3d": (x, y)}, title="Demo <run>")
    page = out.read_text()
    assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:|//)", page)
    assert "<link" not in page and "<script" not in page
    assert "Demo &lt;run&gt;" in page
    for value in ("0.750", "0.875", "80.2", "250.0", "33,000", "0.13", "synthetic"):
        assert value in page, value
    assert re.search(r'class="best">0\.875<', page)  # best top-1 highlighted
    assert re.search(r'class="best">12\.5<', page)  # lowest train seconds is best
    images = _images(page)
    # comparison, F1 bars, 3 confusion matrices, 1 training curve, 1 t-SNE
    assert len(images) == 7
    for img in images:
        img.load()
        assert img.format == "PNG" and img.size[0] > 100
    assert "Where clip3d gains over frame-cnn" in page  # best non-baseline method by top-1
    gains = page.split("gains over frame-cnn")[1]
    assert re.search(r"walk-back</td><td>\+1\.000", gains)  # the time-reversed class is the gain
    assert [p.name for p in out.parent.iterdir()] == ["report.html"]


def test_report_without_baseline_or_optional_parts(tmp_path) -> None:
    results = {"dataset": {"name": "tiny", "classes": ["a", "b"]}, "methods": [{"name": "m", "top1": 0.5}]}
    page = write_report(results, tmp_path / "r.html").read_text()
    assert "Needs per-class results" in page and "0.500" in page
    assert len(_images(page)) == 1


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda r: r.pop("dataset"), "'dataset'"),
        (lambda r: r["dataset"].pop("classes"), "dataset.classes"),
        (lambda r: r.pop("methods"), "'methods'"),
        (lambda r: r["methods"][1].pop("top1"), "'clip3d' is missing the key 'top1'"),
        (lambda r: r["methods"][0].pop("name"), "methods\\[0\\] is missing the key 'name'"),
        (lambda r: r["methods"][0].update(top5="high"), "'top5' must be a number"),
        (lambda r: r["methods"][0].update(confusion=[[1, 2]]), "4 x 4"),
    ],
)
def test_validate_names_the_bad_key(mutate, message) -> None:
    results = _results()
    validate_results(results)
    mutate(results)
    with pytest.raises(ConfigError, match=message):
        validate_results(results)


def test_results_json_round_trip_and_errors(tmp_path) -> None:
    results = _results()
    results["methods"][0]["top5"] = float("nan")
    results["methods"][0]["params"] = np.int64(5)
    path = write_results_json(tmp_path / "results.json", results)
    loaded = load_results(path)
    assert loaded["methods"][0]["top5"] is None and loaded["methods"][0]["params"] == 5
    assert loaded["methods"][1]["confusion"] == results["methods"][1]["confusion"]
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ConfigError, match="bad.json: not a readable JSON"):
        write_report(bad, tmp_path / "r.html")
    with pytest.raises(ConfigError, match="not found"):
        load_results(tmp_path / "missing.json")
    assert not (tmp_path / "r.html").exists()
    json.loads(path.read_text())


def test_many_classes_draw_the_most_confused_subset(tmp_path) -> None:
    n = 40
    cm = np.eye(n, dtype=int) * 5
    cm[3, 7] = 4
    cm[30, 12] = 3
    assert set(most_confused(cm, 4)) == {3, 7, 12, 30}
    classes = [f"c{i}" for i in range(n)]
    results = {"dataset": {"name": "big", "classes": classes},
               "methods": [{"name": "m", "top1": 0.9, "confusion": cm.tolist()}]}
    page = write_report(results, tmp_path / "r.html").read_text()
    assert len(_images(page)) == 2


def test_tsne_keeps_classes_apart_and_subsamples() -> None:
    from sklearn.neighbors import KNeighborsClassifier

    from actionlab.report.plots import tsne_embedding

    rng = np.random.default_rng(1)
    y = np.repeat(np.arange(5), 24)
    x = rng.normal(size=(120, 32)) + 5.0 * np.eye(32)[y * 3]
    emb, labels = tsne_embedding(x, y, max_points=100)
    assert emb.shape == (100, 2) and labels.shape == (100,)
    knn = KNeighborsClassifier(3).fit(emb[::2], labels[::2])
    assert knn.score(emb[1::2], labels[1::2]) > 0.9
    tiny, _ = tsne_embedding(x[:3], y[:3])  # too few points for t-SNE: drawn at the origin, no crash
    assert tiny.shape == (3, 2)
