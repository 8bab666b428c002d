"""The report's compare-wide sections: provenance, dataset, results table, honest comparison, failures, skips."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from actionlab.report.collect import OVERFIT_GAP
from actionlab.report.markup import details, esc, img, note, num, section, table

TOP_CLASSES = 15  # rows shown of a per-class table; the rest are in a collapsible block


def provenance_section(prov: Mapping[str, Any] | None) -> str:
    """Command, date, versions, hardware, seed."""
    if not prov:
        return section("provenance", "Provenance", note("Not recorded (results.json written by an older version)."))
    keys = ("command", "date", "actionlab", "torch", "python", "platform", "cpu", "gpu", "seed")
    rows = [f'<td>{esc(k)}</td><td class="text">{esc(prov[k])}</td>' for k in keys if k in prov]
    return section("provenance", "Provenance", table(None, rows, raw=True))


def _used(methods: Sequence[Mapping[str, Any]]) -> str:
    """Per method the train/val/test videos it used (val held out of train per method, test after skips)."""
    rows = [
        [
            m["name"],
            num(m.get("num_train"), "{:.0f}"),
            num(m.get("num_val"), "{:.0f}"),
            str(m.get("val_source") or "–"),
            num(m.get("num_videos"), "{:.0f}"),
        ]
        for m in methods
    ]
    if not any(m.get("num_train") is not None for m in methods):
        return ""
    return "<b>Videos each method used</b>" + table(["method", "train", "val", "val from", "test scored"], rows)


def dataset_section(
    dataset: Mapping[str, Any], contact: bytes | None, missing: Sequence[str], methods: Sequence[Mapping[str, Any]] = ()
) -> str:
    """Sizes, split definition, per-class counts per split (top-N, rest collapsible), contact sheet."""
    classes = dataset["classes"]
    items = [("name", dataset["name"]), ("classes", len(classes))]
    items += [(k, dataset[k]) for k in ("num_train", "num_val", "num_test", "specs", "seed") if k in dataset]
    rows = [f'<td>{esc(k)}</td><td class="text">{esc(v)}</td>' for k, v in items]
    parts = [table(None, rows, raw=True)]
    if dataset.get("split"):
        parts.append(f"<p><b>Split:</b> {esc(dataset['split'])}</p>")
    counts = dataset.get("counts")
    if isinstance(counts, dict) and counts:
        ordered = sorted(counts.items(), key=lambda kv: (kv[1].get("test", 0), kv[1].get("train", 0), kv[0]))
        per_class = [[c, v.get("train", 0), v.get("val", 0), v.get("test", 0)] for c, v in ordered]
        header = ["class", "train", "val", "test"]
        parts.append(note("Videos per class and split, fewest test videos first."))
        parts.append(table(header, per_class[:TOP_CLASSES]))
        if len(per_class) > TOP_CLASSES:
            parts.append(
                details(f"the other {len(per_class) - TOP_CLASSES} classes", table(header, per_class[TOP_CLASSES:]))
            )
    else:
        parts.append(note("Classes: " + ", ".join(classes)))
    parts.append(_used(methods))
    if contact is not None:
        parts.append("<h3>Example frames (one training video per class)</h3>" + img(contact, "contact sheet"))
    if missing:
        parts.append(note(f"No example frame for: {', '.join(missing)} (video not readable here)."))
    return section("dataset", "Dataset", "".join(parts))


def _reuses(m: Mapping[str, Any]) -> str:
    runs = m.get("reuses") or []
    return (
        "; ".join(
            f"{r['name']} ({r['method']}, {r['source']}): {num(r.get('train_seconds'), '{:.1f}')} s" for r in runs
        )
        or "–"
    )


def _stopped(m: Mapping[str, Any]) -> str:
    run, best, why = m.get("epochs_run"), m.get("best_epoch"), m.get("stop_reason")
    if run is None:
        return "–"
    return f"{best}/{run} {(why or '').replace('_', ' ')}".strip()


def results_section(methods: Sequence[Mapping[str, Any]], sig: Mapping[str, Any]) -> str:
    """One row per method; the best top-1 is marked only when it differs significantly from every other."""
    tests = sig.get("tests") or []
    tested = {t["other"] for t in tests if t["distinguishable"]}
    marked = sig.get("best") if tests and tested == {m["name"] for m in methods} - {sig.get("best")} else None
    ci = sig.get("intervals", {})
    header = [
        "method",
        "test top-1",
        "95% CI",
        "val top-1",
        "train top-1",
        "top-5",
        "final train loss",
        "best/run epochs, stop",
        "train s",
        "wall s",
        "reuses (s)",
        "inference clips/s",
        "params",
        "model MB",
    ]
    rows = []
    for m in methods:
        name = m["name"] if m.get("method", m["name"]) == m["name"] else f"{m['name']} ({m['method']})"
        interval = ci.get(m["name"])
        best = ' class="best"' if m["name"] == marked else ""
        gap = (m.get("train_top1") or 0) - m["top1"] if m.get("train_top1") is not None else None
        flag = ' class="flag" title="overfitting"' if gap is not None and gap > OVERFIT_GAP else ""
        cells = [
            f"<td>{esc(name)}{' ⚠ overfit' if flag else ''}</td>",
            f"<td{best}>{num(m['top1'])}</td>",
            f"<td>{num(interval['low'])}–{num(interval['high'])}</td>" if interval else "<td>–</td>",
            f"<td>{num(m.get('val_top1'))}</td>",
            f"<td{flag}>{num(m.get('train_top1'))}</td>",
            f"<td>{num(m.get('top5'))}</td>",
            f"<td>{num(m.get('final_train_loss'), '{:.4f}')}</td>",
            f"<td>{esc(_stopped(m))}</td>",
            f"<td>{num(m.get('train_seconds'), '{:.1f}')}</td>",
            f"<td>{num(m.get('wall_seconds'), '{:.1f}')}</td>",
            f'<td class="small">{esc(_reuses(m))}</td>',
            f'<td title="{esc(m.get("infer_note", ""))}">{num(m.get("infer_clips_per_s"), "{:.1f}")}</td>',
            f"<td>{num(m.get('params'), '{:,.0f}')}</td>",
            f"<td>{num(m.get('model_mb'), '{:.2f}')}</td>",
        ]
        rows.append(cells)
    notes = [
        "train/val top-1: accuracy of the kept epoch (best epoch) as measured during training (train: with "
        "augmentation, running mean over the epoch). Epochs: kept/run and why training stopped.",
        f"⚠ overfit: train top-1 exceeds test top-1 by more than {OVERFIT_GAP:.2f}.",
        "train s: the method's own training loop; wall s: everything this compare spent on it (feature "
        "extraction, streams trained inside it, training, testing); reuses: runs inside its folder with their own "
        "training seconds and origin (a 'compare run' was trained, and is counted, in that method's row).",
        "inference clips/s: test videos per second through the model (decoding excluded); feature-based methods "
        "add their feature extraction (decode + network) timed on a few test videos"
        + "".join(f"; {m['name']}: {m['infer_note']}" for m in methods if m.get("extract_seconds_per_video"))
        + ".",
        "95% CI: percentile bootstrap over test videos (2,000 resamples). The best top-1 is highlighted only "
        "when it differs significantly from every other method (see Honest comparison).",
    ]
    content = table(header, rows, raw=True).replace("<table>", '<table class="results">', 1)
    return section("results", "Results", content + "".join(note(n) for n in notes))


def comparison_section(sig: Mapping[str, Any]) -> str:
    """CIs, McNemar's tests of the best against each other, and the one-line conclusion."""
    if not sig:
        return section("comparison", "Honest comparison", note("No per-video test results: nothing to test."))
    rows = [
        [name, num(i["top1"]), f"{num(i['low'])}–{num(i['high'])}", i["n"]]
        for name, i in sorted(sig["intervals"].items(), key=lambda kv: -kv[1]["top1"])
    ]
    parts = [
        f'<p class="conclusion">{esc(sig["conclusion"])}</p>',
        table(["method", "test top-1", "95% bootstrap CI", "test videos"], rows),
    ]
    if sig.get("tests"):
        rows = [
            [
                f"{t['best']} vs {t['other']}",
                t["n"],
                t["best_only"],
                t["other_only"],
                f"{t['p_exact']:.4f}",
                f"{t['p_mid']:.4f}",
                f"{t['p_holm']:.4f}",
                "yes" if t["distinguishable"] else "no",
            ]
            for t in sig["tests"]
        ]
        parts.append(
            table(
                [
                    "pair",
                    "common videos",
                    "only best right",
                    "only other right",
                    "exact p",
                    "mid-p",
                    "Holm-adjusted mid-p",
                    "distinguishable (< 0.05)",
                ],
                rows,
            )
        )
        parts.append(
            note(
                "McNemar's test on the videos both methods scored: only the discordant videos count; "
                "exact binomial p, its mid-p version, and Holm's adjustment over all pairs with the best."
            )
        )
    return section("comparison", "Honest comparison", "".join(parts))


def failed_section(failed: Mapping[str, str]) -> str:
    """Methods that failed, each with its one-line error."""
    if not failed:
        return ""
    rows = [f'<td>{esc(n)}</td><td class="text">{esc(r)}</td>' for n, r in failed.items()]
    return section("failed", "Failed methods", table(["method", "error"], rows, raw=True))


def skipped_section(skipped: Mapping[str, Mapping[str, Any]]) -> str:
    """Videos some method could not use, with the reason and which methods skipped them."""
    if not skipped:
        return section("skipped", "Skipped videos", note("No video was skipped by any method."))
    rows = [
        f'<td class="text">{esc(p)}</td><td class="text">{esc(v["reason"])}</td>'
        f'<td class="text">{esc(", ".join(v["methods"]))}</td>'
        for p, v in sorted(skipped.items())
    ]
    content = table(["video", "reason", "skipped by"], rows[:TOP_CLASSES], raw=True)
    if len(rows) > TOP_CLASSES:
        content += details(
            f"the other {len(rows) - TOP_CLASSES} skipped videos",
            table(["video", "reason", "skipped by"], rows[TOP_CLASSES:], raw=True),
        )
    return section("skipped", f"Skipped videos ({len(skipped)})", content)
