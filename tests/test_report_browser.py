"""The report in a real browser (headless Chromium through playwright) at 1400 px with 6 methods and 51 classes:
every image decodes, every section is there, nothing overflows its column.

Needs Debian's chromium at /usr/bin/chromium (`apt-get install chromium`); skipped when it is absent.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from actionlab.metrics import evaluate_scores
from actionlab.report import write_report
from actionlab.report.collect import significance

CHROMIUM = Path("/usr/bin/chromium")
SECTIONS = [
    "provenance",
    "dataset",
    "results",
    "comparison",
    "gains",
    "per-class-f1",
    "tsne",
    "skipped",
    "methods",
    "failed",
]
METHODS = ["frame-cnn", "late-fusion", "clip3d", "flow2p1d", "two-stream-average", "features-lstm"]

CHECK = """() => {
  const imgs = [...document.images].map(i => ({alt: i.alt, ok: i.complete && i.naturalWidth > 0}));
  const sections = [...document.querySelectorAll('section[id]')].map(s => s.id);
  const over = [];
  for (const el of document.querySelectorAll('section *')) {
    if (el.closest('.wrap, pre') && !el.matches('.wrap, pre')) continue;  // clipped by a scroll box
    const box = el.getBoundingClientRect();
    if (!box.width) continue;
    const col = el.parentElement.getBoundingClientRect();
    if (box.right > col.right + 1 && el.tagName !== 'SUMMARY') over.push(el.tagName + '.' + el.className);
  }
  const results = document.querySelector('#results .wrap');
  return {imgs, sections, over, pageWidth: document.documentElement.scrollWidth,
          resultsScroll: results.scrollWidth - results.clientWidth};
}"""


def _results(tmp_path: Path) -> dict:
    rng = np.random.default_rng(0)
    classes = [f"class_{i:02d}_{'x' * (i % 9)}" for i in range(51)]
    labels = np.repeat(np.arange(51), 4)
    methods, correct, paths = [], {}, [f"v{i}.avi" for i in range(len(labels))]
    for k, name in enumerate(METHODS):
        scores = 2 * rng.random((len(labels), 51)) + (1.2 + 0.2 * k) * np.eye(51)[labels]
        m = {
            "name": name,
            "method": name.split("-average")[0],
            "temporal": k > 0,
            "run_dir": str(tmp_path / name),
            **evaluate_scores(scores, labels, classes).to_dict(),
            "train_top1": 0.99,
            "val_top1": 0.5,
            "final_train_loss": 0.0123,
            "epochs_run": 30,
            "best_epoch": 17,
            "stop_reason": "early_stopping",
            "train_seconds": 1234.5,
            "wall_seconds": 2345.6,
            "infer_clips_per_s": 123.4,
            "params": 12_345_678,
            "model_mb": 47.1,
            "options": {"lr": 0.001, "epochs": 30},
            "history": [
                {"train_loss": 1 / (e + 1), "train_acc": e / 30, "val_loss": 1.0, "val_acc": 0.5, "lr": 0.001}
                for e in range(30)
            ],
        }
        if name == "two-stream-average":
            m["reuses"] = [
                {"name": "rgb", "method": "clip3d", "source": "compare run 'clip3d'", "train_seconds": 99.0},
                {"name": "flow", "method": "flow2p1d", "source": "compare run 'flow2p1d'", "train_seconds": 88.0},
            ]
        if name == "frame-cnn":
            single = rng.random((len(labels), 51)) + np.eye(51)[labels]
            sf = evaluate_scores(single, labels, classes)
            m.update(single_frame_top1=sf.top1, single_frame_top5=sf.top5, single_frame_confusion=sf.confusion)
        methods.append(m)
        correct[name] = dict(zip(paths, (scores.argmax(1) == labels).astype(int).tolist()))
    counts = {c: {"train": 70, "val": 0, "test": 30} for c in classes}
    return {
        "dataset": {"name": "hmdb51-like", "classes": classes, "counts": counts, "split": "split 1"},
        "methods": methods,
        "failed": {"nonlocal": "runs/nonlocal: out of memory " + "x" * 300},
        "skipped": {
            f"/data/{'long' * 30}/broken{i}.avi": {"reason": "no video stream", "methods": METHODS[:2]}
            for i in range(20)
        },
        "significance": significance(methods, correct),
        "provenance": {
            "command": "actionlab compare " + " ".join(f"--set opt{i}=1" for i in range(60)),
            "date": "now",
            "seed": 0,
        },
    }


def test_report_renders_in_chromium_at_1400px(tmp_path) -> None:
    if not CHROMIUM.is_file():
        pytest.skip("chromium is not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    rng = np.random.default_rng(1)
    features = {name: (rng.normal(size=(204, 32)), np.repeat(np.arange(51), 4)) for name in METHODS[:2]}
    out = write_report(_results(tmp_path), tmp_path / "report.html", features=features)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(out.as_uri())
        page.evaluate("() => document.querySelectorAll('details').forEach(d => d.open = true)")
        page.wait_for_load_state("load")
        got = page.evaluate(CHECK)
        page.screenshot(path=str(tmp_path / "report.png"), full_page=False)
        browser.close()
    assert got["imgs"] and all(i["ok"] for i in got["imgs"]), [i["alt"] for i in got["imgs"] if not i["ok"]]
    assert set(SECTIONS) <= set(got["sections"]), set(SECTIONS) - set(got["sections"])
    assert all(f"method-{m}" in got["sections"] for m in METHODS)
    assert not got["over"], got["over"][:10]
    assert got["pageWidth"] <= 1400
    assert got["resultsScroll"] <= 0  # the results table of 6 methods fits without scrolling
