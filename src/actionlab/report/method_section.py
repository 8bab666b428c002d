"""One method's part of the report: config, views' top-k, hardest/easiest and confused classes, per-class table,
confusion matrices (video and single-frame), training curves, misclassified test videos."""

from __future__ import annotations

import csv
import json
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from actionlab.metrics import confused_pairs, hardest_easiest
from actionlab.report import plots
from actionlab.report.confusion import confusion_table
from actionlab.report.frames import misclassified, strip_png
from actionlab.report.markup import details, esc, img, note, num, section, table
from actionlab.report.results import epoch_rows
from actionlab.report.sections import TOP_CLASSES

GRADCAM_VIDEOS = 4  # test videos in a method's Grad-CAM strip
CONFUSION_CLASSES = 20  # the drawn confusion matrix keeps the most confused classes; the full one is collapsible


def _config(m: Mapping[str, Any]) -> str:
    options = m.get("options")
    if not isinstance(options, dict):
        return note("Resolved configuration not recorded.")
    text = json.dumps(options, indent=1, sort_keys=True, default=str)
    return details(f"resolved configuration ({len(options)} options)", f"<pre>{esc(text)}</pre>")


def _views(m: Mapping[str, Any]) -> str:
    rows = [["video", num(m.get("top1")), num(m.get("top5")), num(m.get("top10")), num(m.get("mean_class_acc"))]]
    if m.get("single_frame_top1") is not None:
        rows.append(
            [
                "single frame",
                num(m.get("single_frame_top1")),
                num(m.get("single_frame_top5")),
                num(m.get("single_frame_top10")),
                num(m.get("single_frame_mean_class_acc")),
            ]
        )
    return table(["view", "top-1", "top-5", "top-10", "mean class acc"], rows)


def _classes(m: Mapping[str, Any], classes: Sequence[str]) -> str:
    per_class = m.get("per_class")
    if not isinstance(per_class, dict) or not per_class:
        return note("No per-class results recorded.")
    hard, easy = hardest_easiest(m, k=5, measure="f1")
    lists = (
        f"<div><b>Hardest classes (F1)</b>{table(['class', 'F1'], [[c, num(v)] for c, v in hard])}</div>"
        f"<div><b>Easiest classes (F1)</b>{table(['class', 'F1'], [[c, num(v)] for c, v in easy])}</div>"
    )
    pairs = confused_pairs(m["confusion"], classes, k=8) if m.get("confusion") else []
    pair_rows = [[t, p, n, num(s)] for t, p, n, s in pairs]
    lists += (
        f"<div><b>Most-confused pairs</b>"
        f"{table(['true', 'predicted as', 'videos', 'share of true'], pair_rows) if pairs else note('none')}"
        "</div>"
    )
    keys = ("tp", "fp", "tn", "fn", "precision", "recall", "f1", "support")
    ordered = sorted(per_class.items(), key=lambda kv: (kv[1].get("f1", 0), kv[0]))
    rows = [
        [c] + [num(v.get(k), "{:.3f}" if k in ("precision", "recall", "f1") else "{:.0f}") for k in keys]
        for c, v in ordered
    ]
    full = table(["class", "TP", "FP", "TN", "FN", "precision", "recall", "F1", "support"], rows)
    return f'<div class="cols">{lists}</div>' + details(
        f"per-class TP/FP/TN/FN, precision, recall, F1 ({len(rows)} classes, lowest F1 first)", full
    )


def _confusions(m: Mapping[str, Any], classes: Sequence[str]) -> str:
    parts = []
    for key, view in (("confusion", "video"), ("single_frame_confusion", "single-frame")):
        if m.get(key):
            parts.append(f"<div>{confusion_table(m[key], classes, f'{view} confusion', CONFUSION_CLASSES)}</div>")
    content = f'<div class="cols">{"".join(parts)}</div>' if parts else note("No confusion matrix recorded.")
    if m.get("confusion") and len(classes) > CONFUSION_CLASSES:
        content += details(
            f"full {len(classes)} x {len(classes)} confusion matrix (video view)",
            confusion_table(m["confusion"], classes, "video confusion, all classes", None),
        )
    return content


def _mistakes(m: Mapping[str, Any]) -> str:
    run_dir = m.get("run_dir")
    wrong = misclassified(run_dir) if run_dir else []
    if not wrong:
        return note("No misclassified test video (or no predictions.csv).")
    strip = strip_png(wrong)
    if strip is None:
        return note("The misclassified test videos could not be read here.")
    return "<b>Misclassified test videos</b>" + img(strip, f"{m['name']} misclassified")


def gradcam_videos(run_dir: str | Path, cap: int = GRADCAM_VIDEOS) -> list[tuple[str, str]]:
    """(path, true class) of up to `cap` test videos: the most confident mistake, then one per class."""
    path = Path(run_dir) / "predictions.csv"
    if not path.is_file():
        return []
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    wrong = sorted((r for r in rows if r.get("correct") == "0"), key=lambda r: -float(r.get("score1") or 0))
    picked = wrong[:1]
    for row in rows:
        if len(picked) < cap and row["label"] not in {p["label"] for p in picked}:
            picked.append(row)
    return [(r["path"], r["label"]) for r in picked]


def _gradcam(m: Mapping[str, Any]) -> str:
    """The Grad-CAM strip of a few test videos (actionlab.explain.strip), or one line saying why there is none."""
    videos = gradcam_videos(m["run_dir"]) if m.get("run_dir") else []
    if not videos:
        return note("Grad-CAM: no test predictions recorded.")
    from actionlab.errors import ActionlabError
    from actionlab.explain import strip  # imported late: torch, needed only with a run folder

    with tempfile.TemporaryDirectory() as tmp:
        try:
            out = strip(
                m["run_dir"],
                [v for v, _ in videos],
                Path(tmp) / "strip.png",
                true_labels=[t for _, t in videos],
                max_videos=len(videos),
                frames=4,
            )
        except ActionlabError as err:
            return note(f"Grad-CAM: {err}")
        png = out.read_bytes()
    return "<b>Grad-CAM (predicted class) on a few test videos, a misclassified one first</b>" + img(
        png, f"{m['name']} Grad-CAM strip"
    )


def method_section(
    m: Mapping[str, Any], classes: Sequence[str], history: Any, extra: str = "", gradcam: bool = True
) -> str:
    """The section of one method (`extra`: more HTML); `gradcam` draws a Grad-CAM strip from its run folder."""
    parts = [_config(m), _views(m), _classes(m, classes), _confusions(m, classes)]
    rows = epoch_rows(history) if history is not None else None
    if rows:
        parts.append(img(plots.curves_png(rows, f"{m['name']} training"), f"{m['name']} training curves"))
    else:
        parts.append(note("No training history recorded."))
    parts.append(f'<div class="cols"><div>{_mistakes(m)}</div><div>{_gradcam(m) if gradcam else ""}</div></div>')
    parts.append(extra)
    sid = "method-" + "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in m["name"])
    return section(sid, m["name"], "".join(parts), level=3, cls="method")


def run_history(m: Mapping[str, Any]) -> Any:
    """The method's per-epoch history: results' copy, else its run folder's history.json."""
    if m.get("history") is not None:
        return m["history"]
    path = Path(m.get("run_dir") or "") / "history.json"
    try:
        return json.loads(path.read_text()) if path.is_file() else None
    except (OSError, ValueError):
        return None


__all__ = ["TOP_CLASSES", "method_section", "run_history"]
