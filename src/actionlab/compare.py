"""compare: train and evaluate several methods on one split, write results.json and report.html."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Sequence

from actionlab.errors import ActionlabError
from actionlab.methods import get_method

RESULT_KEYS = ("top1", "top5", "mean_class_acc", "per_class", "confusion", "train_seconds", "infer_clips_per_s",
               "params", "model_mb", "single_frame_top1")


def compare(dataset: Any, methods: Sequence[str], out: str | Path, config: dict[str, Any] | None = None,
            dataset_info: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run every method on the same split under out/<method>/; return the results dict (also written).

    `config` goes to every method; `config["per_method"][name]` adds options for one method only.
    """
    from actionlab.report import write_report, write_results_json

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    chosen = [get_method(m) for m in methods]  # unknown names fail before any training
    entries, histories, failed, prior_runs = [], {}, {}, {}
    for method in chosen:
        print(f"compare: training {method.name}", file=sys.stderr)
        try:
            # methods built on others (two-stream, features-lstm) reuse the runs this compare already trained
            cfg = {k: v for k, v in (config or {}).items() if k != "per_method"}
            cfg.update((config or {}).get("per_method", {}).get(method.name, {}), prior_runs=dict(prior_runs))
            run = method.train(dataset, out / method.name, cfg)
        except ActionlabError as err:  # one failing method is listed, the others still run
            failed[method.name] = str(err)
            print(f"compare: {method.name} failed: {err}", file=sys.stderr)
            continue
        entry = {"name": method.name, "temporal": method.temporal, "run_dir": str(run.run_dir)}
        entry.update({k: run.metrics[k] for k in RESULT_KEYS if k in run.metrics})
        entry["history"] = run.history
        entries.append(entry)
        prior_runs[method.name] = str(run.run_dir)
        histories[method.name] = run.history
    results = {"dataset": {"name": getattr(dataset, "name", "dataset"), "classes": list(dataset.classes),
                           "num_train": len(dataset.train), "num_test": len(dataset.test), **(dataset_info or {})},
               "methods": entries, "failed": failed}
    write_results_json(out / "results.json", results)
    if entries:
        write_report(out / "results.json", out / "report.html", histories=histories, title="actionlab compare")
    return results


def results_table(results: dict[str, Any]) -> str:
    """A plain-text table of the headline numbers, one row per method."""
    rows = [f"{'method':<16}{'top1':>7}{'top5':>7}{'mca':>7}{'frame':>7}{'train s':>9}{'clips/s':>9}{'params':>10}"]
    for m in results["methods"]:
        sf = m.get("single_frame_top1")
        rows.append(f"{m['name']:<16}{m['top1']:>7.3f}{m.get('top5', 0):>7.3f}{m.get('mean_class_acc', 0):>7.3f}"
                    f"{(f'{sf:.3f}' if sf is not None else '-'):>7}{m.get('train_seconds', 0):>9.1f}"
                    f"{m.get('infer_clips_per_s', 0):>9.1f}{m.get('params', 0):>10}")
    for name, reason in results.get("failed", {}).items():
        rows.append(f"{name:<16} failed: {reason}")
    return "\n".join(rows)
