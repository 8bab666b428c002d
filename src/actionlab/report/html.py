"""One self-contained HTML page (inline CSS, base64 PNGs) summarising a compare run."""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from actionlab.atomic import write_text
from actionlab.metrics import class_gains
from actionlab.report import plots
from actionlab.report.results import epoch_rows, load_results, validate_results

_CSS = """
body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:0.9em}
th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}
th:first-child,td:first-child{text-align:left}
th{background:#f0f0f0}
td.best{background:#c8f0c8;font-weight:bold}
img{max-width:100%;margin:0.5em 0}
.method{border-top:2px solid #ddd;margin-top:1.5em}
.note{color:#666}
"""

# (key, header, higher is better, format)
_COLUMNS = (
    ("top1", "top-1", True, "{:.3f}"),
    ("top5", "top-5", True, "{:.3f}"),
    ("mean_class_acc", "mean class acc", True, "{:.3f}"),
    ("single_frame_top1", "single-frame top-1", True, "{:.3f}"),
    ("train_seconds", "train s", False, "{:.1f}"),
    ("infer_clips_per_s", "inference clips/s", True, "{:.1f}"),
    ("params", "params", False, "{:,.0f}"),
    ("model_mb", "model MB", False, "{:.2f}"),
)


def _esc(value: Any) -> str:
    return html.escape(str(value))


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{_esc(alt)}" src="data:image/png;base64,{data}">'


def _results_table(methods: Sequence[Mapping[str, Any]]) -> str:
    # optional columns (e.g. single-frame accuracy) appear only when some method reports them
    columns = [c for c in _COLUMNS if c[0] != "single_frame_top1" or any(c[0] in m for m in methods)]
    head = "<tr><th>method</th>" + "".join(f"<th>{_esc(h)}</th>" for _, h, _, _ in columns) + "</tr>"
    best: dict[str, float] = {}
    for key, _, higher, _ in columns:
        values = [m[key] for m in methods if isinstance(m.get(key), (int, float))]
        if values:
            best[key] = max(values) if higher else min(values)
    rows = []
    for m in methods:
        cells = [f"<td>{_esc(m['name'])}</td>"]
        for key, _, _, fmt in columns:
            value = m.get(key)
            if not isinstance(value, (int, float)):
                cells.append("<td>–</td>")
                continue
            cls = ' class="best"' if len(methods) > 1 and value == best.get(key) else ""
            cells.append(f"<td{cls}>{_esc(fmt.format(value))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return "<table>" + head + "".join(rows) + "</table>"


def _dataset_section(dataset: Mapping[str, Any]) -> str:
    classes = dataset["classes"]
    items = [("name", dataset["name"]), ("classes", len(classes))]
    items += [(k, dataset[k]) for k in ("num_train", "num_val", "num_test") if k in dataset]
    items += [(k, v) for k, v in dataset.items()
              if k not in ("name", "classes", "num_train", "num_val", "num_test") and isinstance(v, (str, int, float))]
    rows = "".join(f"<tr><td>{_esc(k)}</td><td>{_esc(v)}</td></tr>" for k, v in items)
    names = ", ".join(_esc(c) for c in classes)
    return f"<h2>Dataset</h2><table>{rows}</table><p class=note>Classes: {names}</p>"


def _f1_section(methods: Sequence[Mapping[str, Any]], classes: Sequence[str]) -> str:
    with_pc = [m for m in methods if isinstance(m.get("per_class"), dict)]
    if not with_pc:
        return ""
    f1 = {m["name"]: {c: float(m["per_class"].get(c, {}).get("f1", 0.0)) for c in classes} for m in with_pc}
    head = "<tr><th>class</th>" + "".join(f"<th>{_esc(n)}</th>" for n in f1) + "</tr>"
    rows = []
    for c in classes:
        values = [f1[n][c] for n in f1]
        top = max(values)
        cells = "".join(
            f"<td{' class=best' if len(values) > 1 and v == top else ''}>{v:.3f}</td>" for v in values
        )
        rows.append(f"<tr><td>{_esc(c)}</td>{cells}</tr>")
    bars = _img(plots.f1_bars_png(f1, classes), "per-class F1")
    return "<h2>Per-class F1</h2><table>" + head + "".join(rows) + "</table>" + bars


def _gains_section(methods: Sequence[Mapping[str, Any]], classes: Sequence[str], baseline: str, k: int) -> str:
    by_name = {m["name"]: m for m in methods if isinstance(m.get("per_class"), dict)}
    others = [m for n, m in by_name.items() if n != baseline]
    if baseline not in by_name or not others:
        return (f"<h2>Gains over {_esc(baseline)}</h2><p class=note>Needs per-class results of "
                f"'{_esc(baseline)}' and of at least one other method.</p>")
    temporal = [m for m in others if m.get("temporal")]  # compare marks temporal methods; prefer them
    best = max(temporal or others, key=lambda m: m.get("top1", 0.0))
    gains, losses = class_gains(by_name[baseline], best, classes, k=k, measure="recall")

    def table(rows: Sequence[tuple[str, float]]) -> str:
        body = "".join(f"<tr><td>{_esc(c)}</td><td>{d:+.3f}</td></tr>" for c, d in rows)
        return f"<table><tr><th>class</th><th>recall change</th></tr>{body}</table>"

    return (f"<h2>Where {_esc(best['name'])} gains over {_esc(baseline)}</h2>"
            f"<p>Classes {_esc(best['name'])} (best {'temporal' if temporal else 'other'} method by top-1)"
            f" gains most on:</p>{table(gains)}"
            f"<p>Classes it gains least on (or loses):</p>{table(losses)}")


def _failed_section(failed: Any) -> str:
    if not isinstance(failed, dict) or not failed:
        return ""
    rows = "".join(f"<tr><td>{_esc(n)}</td><td>{_esc(r)}</td></tr>" for n, r in failed.items())
    return f"<h2>Failed methods</h2><table><tr><th>method</th><th>reason</th></tr>{rows}</table>"


def _method_section(m: Mapping[str, Any], classes: Sequence[str], history: Sequence[Mapping] | None) -> str:
    parts = [f"<div class=method><h3>{_esc(m['name'])}</h3>"]
    if m.get("confusion") is not None:
        parts.append(_img(plots.confusion_png(m["confusion"], classes, f"{m['name']} confusion"),
                          f"{m['name']} confusion matrix"))
    history = epoch_rows(history) if history is not None else None
    if history:
        parts.append(_img(plots.curves_png(history, f"{m['name']} training"), f"{m['name']} training curves"))
    if len(parts) == 1:
        parts.append("<p class=note>No confusion matrix or training history recorded.</p>")
    return "".join(parts) + "</div>"


def _tsne_section(features: Mapping[str, tuple[np.ndarray, np.ndarray]], classes: Sequence[str]) -> str:
    imgs = [_img(plots.tsne_png(x, y, classes, title=f"t-SNE of {name}"), f"t-SNE {name}")
            for name, (x, y) in features.items()]
    return "<h2>Feature embeddings (t-SNE)</h2>" + "".join(imgs) if imgs else ""


def write_report(
    results: dict | str | Path,
    out_html: str | Path,
    *,
    histories: Mapping[str, Sequence[Mapping[str, float]]] | None = None,
    features: Mapping[str, tuple[np.ndarray, np.ndarray]] | None = None,
    title: str = "actionlab comparison",
    baseline: str = "frame-cnn",
    gains_k: int = 10,
) -> Path:
    """Render results (a dict or a results.json path) into one self-contained HTML file, written atomically."""
    data = load_results(results) if isinstance(results, (str, Path)) else validate_results(results)
    classes, methods = data["dataset"]["classes"], data["methods"]
    histories = dict(histories or {})
    body = [f"<h1>{_esc(title)}</h1>", _dataset_section(data["dataset"]), "<h2>Results</h2>"]
    body.append(_results_table(methods))
    body.append(_failed_section(data.get("failed")))
    top1 = {m["name"]: float(m["top1"]) for m in methods}
    if top1:
        body.append(_img(plots.comparison_png(top1), "top-1 per method"))
    body.append(_gains_section(methods, classes, baseline, gains_k))
    body.append(_f1_section(methods, classes))
    body.append("<h2>Methods</h2>")
    body += [_method_section(m, classes, histories.get(m["name"], m.get("history"))) for m in methods]
    body.append(_tsne_section(features or {}, classes))
    page = (f"<!DOCTYPE html><html><head><meta charset=utf-8><title>{_esc(title)}</title>"
            f"<style>{_CSS}</style></head><body>{''.join(body)}</body></html>")
    return write_text(out_html, page)
