"""One self-contained HTML page (inline CSS, base64 PNGs) summarising a compare run.

Everything comes from results.json plus the files its methods' run folders hold (embeddings.npz for the t-SNE,
predictions.csv for the misclassified videos, history.json); a figure whose file is missing is said, not drawn.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from actionlab.atomic import write_text
from actionlab.metrics import class_gains, per_class_recall
from actionlab.report import plots
from actionlab.report.confusion import CSS as CONFUSION_CSS
from actionlab.report.frames import contact_sheet_png
from actionlab.report.markup import CSS, details, esc, img, note, num, section, table
from actionlab.report.method_section import method_section, run_history
from actionlab.report.results import load_results, validate_results
from actionlab.report.sections import (
    TOP_CLASSES,
    comparison_section,
    dataset_section,
    failed_section,
    provenance_section,
    results_section,
    skipped_section,
)

EMBEDDINGS = "embeddings.npz"  # methods.evaluation writes it beside predictions.csv


def pick_baseline(methods: Sequence[Mapping[str, Any]], baseline: str | None) -> Mapping[str, Any] | None:
    """The named method, else the first with a single-frame view (frame-cnn's), else None."""
    with_pc = [m for m in methods if isinstance(m.get("per_class"), dict)]
    if baseline is not None:
        return next((m for m in with_pc if m["name"] == baseline), None)
    return next((m for m in with_pc if m.get("single_frame_confusion")), None)


def _gains_section(methods: Sequence[Mapping[str, Any]], classes: Sequence[str], baseline: str | None, k: int) -> str:
    base = pick_baseline(methods, baseline)
    others = [m for m in methods if isinstance(m.get("per_class"), dict) and base is not None and m is not base]
    if base is None or not others:
        wanted = f"'{baseline}'" if baseline else "a baseline with a single-frame view (or --baseline METHOD)"
        return section(
            "gains",
            "Gains over a baseline",
            note(f"Needs per-class results of {wanted} and of at least one other method."),
        )
    temporal = [m for m in others if m.get("temporal")]  # the question is what modelling time adds
    best = max(temporal or others, key=lambda m: m.get("top1", 0.0))
    ref: Mapping[str, Any] = base
    view = "video view"
    if base.get("single_frame_confusion"):
        ref, view = {"per_class": per_class_recall(base["single_frame_confusion"], classes)}, "single-frame view"
    gains, losses = class_gains(ref, best, classes, k=k, measure="recall")

    def rows(items: Sequence[tuple[str, float]]) -> str:
        return table(["class", "recall change"], [[c, f"{d:+.3f}"] for c, d in items]) if items else note("none")

    intro = note(
        f"Per-class recall of {best['name']} (best {'temporal' if temporal else 'other'} method by "
        f"top-1) minus that of {base['name']}'s {view}; the two lists share no class."
    )
    body = (
        f'{intro}<div class="cols"><div><b>Gains most</b>{rows(gains)}</div>'
        f"<div><b>Gains least or loses</b>{rows(losses)}</div></div>"
    )
    return section("gains", f"Where {best['name']} gains over {base['name']} ({view})", body)


def _f1_section(methods: Sequence[Mapping[str, Any]], classes: Sequence[str]) -> str:
    with_pc = [m for m in methods if isinstance(m.get("per_class"), dict)]
    if not with_pc:
        return ""
    f1 = {m["name"]: {c: float(m["per_class"].get(c, {}).get("f1", 0.0)) for c in classes} for m in with_pc}
    order = sorted(classes, key=lambda c: (np.mean([f1[n][c] for n in f1]), c))  # hardest classes first
    rows = [[c, *(num(f1[n][c]) for n in f1)] for c in order]
    header = ["class (lowest mean F1 first)", *f1]
    content = table(header, rows[:TOP_CLASSES])
    if len(rows) > TOP_CLASSES:
        content += details(f"the other {len(rows) - TOP_CLASSES} classes", table(header, rows[TOP_CLASSES:]))
    shown = order[: TOP_CLASSES * 2]
    content += img(plots.f1_bars_png(f1, shown), "per-class F1")
    if len(shown) < len(order):
        content += note(f"The bars show the {len(shown)} classes with the lowest mean F1.")
    return section("per-class-f1", "Per-class F1", content)


def _embeddings(
    methods: Sequence[Mapping[str, Any]], features: Mapping[str, tuple[np.ndarray, np.ndarray]] | None
) -> dict[str, Any]:
    out: dict[str, Any] = dict(features or {})
    for m in methods:
        path = Path(m.get("run_dir") or "") / EMBEDDINGS
        if m["name"] not in out and m.get("run_dir") and path.is_file():
            with np.load(path) as z:
                out[m["name"]] = (z["features"], z["labels"])
    return out


def _tsne_section(
    methods: Sequence[Mapping[str, Any]],
    classes: Sequence[str],
    features: Mapping[str, tuple[np.ndarray, np.ndarray]] | None,
) -> str:
    found = _embeddings(methods, features)
    cells = [
        f"<div>{img(plots.tsne_png(x, y, classes, title=f't-SNE of {name}'), f't-SNE {name}')}</div>"
        for name, (x, y) in found.items()
    ]
    missing = [m["name"] for m in methods if m["name"] not in found]
    content = note(
        "Test videos' penultimate-layer features (feature heads: the head's hidden representation), "
        "50 PCA dimensions, then t-SNE; coloured by true class."
    )
    content += f'<div class="grid wide">{"".join(cells)}</div>' if cells else ""
    if missing:
        content += note(
            f"No test-video features recorded for: {', '.join(missing)} (runs from before embeddings "
            "were saved, or joint runs with several heads)."
        )
    return section("tsne", "Feature embeddings (t-SNE)", content)


def write_report(
    results: dict | str | Path,
    out_html: str | Path,
    *,
    histories: Mapping[str, Any] | None = None,
    features: Mapping[str, tuple[np.ndarray, np.ndarray]] | None = None,
    title: str = "actionlab comparison",
    baseline: str | None = None,
    gains_k: int = 10,
    method_extras: Mapping[str, str] | None = None,
) -> Path:
    """Render results (a dict or a results.json path) into one self-contained HTML file, written atomically.

    `baseline`: the method whose classes the gains section compares against (default: the first method with a
    single-frame view); `method_extras`: more HTML per method name (e.g. a Grad-CAM strip).
    """
    data = load_results(results) if isinstance(results, (str, Path)) else validate_results(results)
    classes, methods, dataset = data["dataset"]["classes"], data["methods"], data["dataset"]
    histories, extras = dict(histories or {}), dict(method_extras or {})
    sig = data.get("significance") or {}
    contact, missing = contact_sheet_png(dataset.get("examples") or {})
    body = [
        f"<h1>{esc(title)}</h1>",
        provenance_section(data.get("provenance")),
        dataset_section(dataset, contact, missing, methods),
        results_section(methods, sig),
        failed_section(data.get("failed") or {}),
        comparison_section(sig),
    ]
    top1 = {m["name"]: float(m["top1"]) for m in methods}
    if top1:
        body.append(img(plots.comparison_png(top1), "top-1 per method"))
    body += [
        _gains_section(methods, classes, baseline, gains_k),
        _f1_section(methods, classes),
        _tsne_section(methods, classes, features),
        skipped_section(data.get("skipped") or {}),
    ]
    parts = [
        method_section(m, classes, histories.get(m["name"], run_history(m)), extras.get(m["name"], "")) for m in methods
    ]
    body.append(section("methods", "Methods", "".join(parts)))
    page = (
        f"<!DOCTYPE html><html><head><meta charset=utf-8><title>{esc(title)}</title>"
        f"<style>{CSS}{CONFUSION_CSS}</style></head><body>{''.join(body)}</body></html>"
    )
    return write_text(out_html, page)
