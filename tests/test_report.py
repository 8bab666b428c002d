"""The HTML report and results.json: self-contained, complete, honest, and strict about malformed input."""

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
from actionlab.report.collect import significance
from actionlab.report.plots import most_confused

CLASSES = ["walk", "walk-back", "jump", "wave"]
SECTIONS = ("provenance", "dataset", "results", "comparison", "gains", "per-class-f1", "tsne", "skipped", "methods")


def _method(name: str, pred: list[int], labels: list[int], **extra) -> dict:
    scores = np.full((len(pred), len(CLASSES)), 0.05)
    scores[np.arange(len(pred)), pred] = 0.85
    return {"name": name, **evaluate_scores(scores, labels, CLASSES).to_dict(), **extra}


def _results() -> dict:
    labels = [0, 0, 1, 1, 2, 2, 3, 3]
    history = [
        {
            "train_loss": 1.2 - 0.1 * e,
            "train_acc": 0.3 + 0.1 * e,
            "val_loss": 1.3 - 0.1 * e,
            "val_acc": 0.25 + 0.1 * e,
            "lr": 1e-3 * 0.9**e,
        }
        for e in range(5)
    ]
    frame = _method(
        "frame-cnn",
        [0, 1, 0, 0, 2, 2, 3, 3],
        labels,
        train_seconds=12.5,
        infer_clips_per_s=250.0,
        params=11000,
        model_mb=0.044,
        train_top1=1.0,
        epochs_run=3,
        best_epoch=1,
        stop_reason="early_stopping",
        single_frame_top1=0.5,
        single_frame_confusion=[[1, 1, 0, 0], [2, 0, 0, 0], [0, 0, 2, 0], [0, 0, 0, 2]],
    )
    clip = _method(
        "clip3d",
        [0, 0, 1, 1, 2, 2, 3, 2],
        labels,
        train_seconds=80.25,
        temporal=True,
        infer_clips_per_s=40.0,
        params=33000,
        model_mb=0.132,
        history=history,
        train_top1=0.9,
        options={"lr": 0.001, "frames": 8},
    )
    mlp = _method("features-mlp", [0, 0, 1, 0, 2, 3, 3, 3], labels)  # optional keys missing
    dataset = {
        "name": "synthetic",
        "classes": CLASSES,
        "num_train": 32,
        "num_val": 0,
        "num_test": 8,
        "counts": {c: {"train": 8, "val": 0, "test": 2} for c in CLASSES},
        "split": "stratified, seed 0",
    }
    return {"dataset": dataset, "methods": [frame, clip, mlp]}


def _images(page: str) -> list[Image.Image]:
    return [
        Image.open(io.BytesIO(base64.b64decode(b64)))
        for b64 in re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    ]


def test_report_is_self_contained_and_complete(tmp_path) -> None:
    results = _results()
    results["failed"] = {"two-stream": "runs/two-stream: <no flow>"}
    path = write_results_json(tmp_path / "results.json", results)
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(4), 15)
    x = rng.normal(size=(60, 16)) + 4.0 * np.eye(16)[y]
    out = write_report(path, tmp_path / "out" / "report.html", features={"clip3d": (x, y)}, title="Demo <run>")
    page = out.read_text()
    assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:|//)", page)
    assert "<link" not in page and "<script" not in page
    assert "Demo &lt;run&gt;" in page
    for sid in SECTIONS:
        assert f'<section id="{sid}"' in page, sid
    for value in ("0.750", "0.875", "80.2", "250.0", "33,000", "0.13", "synthetic", "stratified, seed 0"):
        assert value in page, value
    assert "Failed methods" in page and "&lt;no flow&gt;" in page
    assert "1/3 early stopping" in page  # kept epoch / epochs run, and why it stopped
    assert "⚠ overfit" in page and "more than 0.25" in page  # frame-cnn: train 1.0 vs test 0.625
    assert "&quot;frames&quot;: 8" in page  # clip3d's resolved configuration
    assert 'class="best"' not in page  # no significance recorded: no winner marked
    images = _images(page)
    for im in images:
        im.load()
        assert im.format == "PNG" and im.size[0] > 100
    # bars, F1 bars, 1 training curve, 1 t-SNE; confusion matrices are heat-map tables (3 video, 1 single-frame)
    assert len(images) == 4
    assert page.count('<table class="cm">') == 4 and "single-frame confusion" in page
    assert [p.name for p in out.parent.iterdir()] == ["report.html"]


def test_gains_are_over_the_single_frame_view_disjoint_and_follow_baseline(tmp_path) -> None:
    results = _results()
    page = write_report(results, tmp_path / "r.html").read_text()
    title = re.search(r'<section id="gains"><h2>([^<]*)</h2>', page).group(1)
    assert title == "Where clip3d gains over frame-cnn (single-frame view)"  # the temporal one, vs frames
    gains = page.split('id="gains"')[1].split("</section>")[0]
    most, least = gains.split("Gains least")
    # single frame gets walk-back 0/2 and walk 1/2; clip3d gets both right
    assert re.search(r"walk-back</td><td>\+1\.000", most) and re.search(r"walk</td><td>\+0\.500", most)
    names = lambda html: set(re.findall(r"<tr><td>([\w-]+)</td><td>[+-]", html))
    assert names(most) and names(least) and not names(most) & names(least)
    page = write_report(results, tmp_path / "r.html", baseline="features-mlp").read_text()
    assert "Where clip3d gains over features-mlp (video view)" in page


def test_significance_marks_a_winner_only_when_distinguishable(tmp_path) -> None:
    results = _results()
    paths = [f"v{i}.mp4" for i in range(200)]
    good = dict.fromkeys(paths, 1)
    close = {p: int(i != 0) for i, p in enumerate(paths)}
    bad = {p: int(i % 2 == 0) for i, p in enumerate(paths)}
    sig = significance(results["methods"], {"frame-cnn": good, "clip3d": close, "features-mlp": bad})
    assert sig["best"] == "frame-cnn"
    assert "frame-cnn and clip3d are not distinguishable on 200 test videos" in sig["conclusion"]
    assert "frame-cnn beats features-mlp (p < 0.001" in sig["conclusion"]
    ci = sig["intervals"]["features-mlp"]
    assert ci["low"] < 0.5 < ci["high"] and ci["high"] - ci["low"] < 0.2
    results["significance"] = sig
    page = write_report(results, tmp_path / "r.html").read_text()
    assert sig["conclusion"].split(";")[0] in page and 'class="best"' not in page
    results["methods"] = results["methods"][::2]
    results["significance"] = significance(results["methods"], {"frame-cnn": good, "features-mlp": bad})
    page = write_report(results, tmp_path / "r.html").read_text()
    assert re.search(r'class="best">0\.625<', page)  # frame-cnn differs from the only other: marked


def test_report_without_optional_parts_says_what_is_missing(tmp_path) -> None:
    results = {"dataset": {"name": "tiny", "classes": ["a", "b"]}, "methods": [{"name": "m", "top1": 0.5}]}
    page = write_report(results, tmp_path / "r.html").read_text()
    assert "Needs per-class results" in page and "0.500" in page
    assert "No test-video features recorded for: m" in page and "No training history recorded" in page
    assert "No per-video test results" in page
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
        (lambda r: r["methods"][0].update(val_top1="x"), "'val_top1' must be a number"),
        (lambda r: r["methods"][0].update(confusion=[[1, 2]]), "4 x 4"),
        (lambda r: r["methods"][0].update(single_frame_confusion=[[1]]), "'single_frame_confusion' must be"),
        (lambda r: r.update(failed=["two-stream"]), "'failed'"),
        (lambda r: r.update(skipped=["x.mp4"]), "'skipped' must be an object"),
        (lambda r: r["methods"][0].update(history="epoch 1: ok"), "'history'"),
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


def test_many_classes_draw_the_most_confused_subset_and_collapse_the_rest(tmp_path) -> None:
    n = 51
    cm = np.eye(n, dtype=int) * 5
    cm[3, 7] = 4
    cm[30, 12] = 3
    assert set(most_confused(cm, 4)) == {3, 7, 12, 30}
    classes = [f"c{i}" for i in range(n)]
    per_class = {
        c: {"tp": 5, "fp": 0, "tn": 0, "fn": 0, "precision": 1.0, "recall": 1.0, "f1": 1.0 - i / 100, "support": 5}
        for i, c in enumerate(classes)
    }
    results = {
        "dataset": {"name": "big", "classes": classes},
        "methods": [{"name": "m", "top1": 0.9, "confusion": cm.tolist(), "per_class": per_class}],
    }
    page = write_report(results, tmp_path / "r.html").read_text()
    assert "full 51 x 51 confusion matrix" in page and "the other 36 classes" in page
    assert "c3</td><td>c7</td><td>4</td>" in page  # the most-confused pair, first
    assert "(20 most confused of 51)" in page and page.count('<table class="cm">') == 2  # subset + full
    assert len(_images(page)) == 2  # top-1 bars, F1 bars


def test_tsne_keeps_classes_apart_and_subsamples() -> None:
    from sklearn.neighbors import KNeighborsClassifier

    from actionlab.report.plots import tsne_embedding

    rng = np.random.default_rng(1)
    y = np.repeat(np.arange(5), 48)
    x = rng.normal(size=(240, 64)) + 5.0 * np.eye(64)[y * 3]
    emb, labels = tsne_embedding(x, y, max_points=220)  # > 200 points: Barnes-Hut after PCA to 50 dims
    assert emb.shape == (220, 2) and labels.shape == (220,)
    knn = KNeighborsClassifier(3).fit(emb[::2], labels[::2])
    assert knn.score(emb[1::2], labels[1::2]) > 0.9
    tiny, _ = tsne_embedding(x[:3], y[:3])  # too few points for t-SNE: drawn at the origin, no crash
    assert tiny.shape == (3, 2)
