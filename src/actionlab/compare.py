"""compare: several presets (each under its own label) on one split; results.json and report.html.

    entries = parse_methods("clip3d,b=clip3d,frame-cnn")          # label=METHOD, or METHOD (its own label)
    plan = plan_options(entries, {"epochs": 2}, {"b": {"lr": 0.01}})  # validated before anything loads
    results = compare(dataset, plan, "runs/cmp", dataset_record=record, resume=True)

An unprefixed option goes to every method that declares it (plan.notes names the ones it skips); a prefixed one
to its label only. Every run lives in out/LABEL; with resume, a label whose folder holds a finished run of the
same method, options and dataset is kept and read back from its files instead of retrained.
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from actionlab.errors import ActionlabError, ConfigError
from actionlab.methods import get_method

RESULT_KEYS = (
    "top1",
    "top5",
    "top10",
    "mean_class_acc",
    "per_class",
    "confusion",
    "train_seconds",
    "params",
    "model_mb",
    "single_frame_top1",
    "single_frame_top5",
    "single_frame_top10",
    "single_frame_mean_class_acc",
    "single_frame_confusion",
    "skipped",
    "num_videos",
)
LABEL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")  # a folder name and the LABEL of --set LABEL.KEY=VALUE


@dataclass(frozen=True)
class Entry:
    """One method of a compare: its label (folder, results key, --set prefix) and its preset's name."""

    label: str
    method: str


@dataclass
class ComparePlan:
    """The methods of a compare with the options each gets (as given, validated) and the shared split seed."""

    entries: list[Entry]
    options: dict[str, dict[str, Any]]
    seed: int = 0
    notes: list[str] = field(default_factory=list)  # "compare: cell=gru applies to features-lstm only"


def parse_methods(text: str | Sequence[str]) -> list[Entry]:
    """Entries of `LABEL=METHOD,METHOD2,...`; ConfigError for an unknown method, a bad or repeated label."""
    items = text.split(",") if isinstance(text, str) else list(text)
    entries: list[Entry] = []
    for item in (i.strip() for i in items):
        if not item:
            continue
        label, sep, method = item.partition("=")
        label, method = label.strip(), (method if sep else label).strip()
        get_method(method)  # a typo fails before the dataset is indexed or anything trains
        if not LABEL_RE.match(label):
            raise ConfigError(None, f"--methods: bad label {label!r} (letters, digits, - and _ only)")
        if any(e.label == label for e in entries):
            raise ConfigError(None, f"--methods: label {label!r} is used twice; write LABEL=METHOD to name each run")
        entries.append(Entry(label, method))
    if not entries:
        raise ConfigError(None, "--methods: no method given")
    return entries


def _show(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def plan_options(
    entries: Sequence[Entry],
    common: Mapping[str, Any] | None = None,
    per_label: Mapping[str, Mapping[str, Any]] | None = None,
) -> ComparePlan:
    """Each label's options: `common` where its preset declares the key, then its own `per_label` ones."""
    declared = {e.label: set(get_method(e.method).Options.names()) for e in entries}
    common, per_label = dict(common or {}), {k: dict(v) for k, v in (per_label or {}).items()}
    notes = []
    for key, value in common.items():
        takers = [e.label for e in entries if key in declared[e.label]]
        if not takers:
            valid = sorted(set().union(*declared.values()))
            raise ConfigError(None, f"no method of this compare takes option {key!r}; valid: {', '.join(valid)}")
        if len(takers) < len(entries):
            notes.append(f"compare: {key}={_show(value)} applies to {', '.join(takers)} only")
    _check_prefixed(entries, declared, per_label)
    options = {
        e.label: {**{k: v for k, v in common.items() if k in declared[e.label]}, **per_label.get(e.label, {})}
        for e in entries
    }
    seeds = {e.label: get_method(e.method).Options.build(options[e.label], where=e.label).seed for e in entries}
    if len(set(seeds.values())) > 1:
        raise ConfigError(None, f"the methods' default seeds differ ({seeds}); give --seed")
    return ComparePlan(list(entries), options, next(iter(seeds.values())), notes)


def _check_prefixed(
    entries: Sequence[Entry], declared: dict[str, set[str]], per_label: Mapping[str, Mapping[str, Any]]
) -> None:
    methods = {e.label: e.method for e in entries}
    for label, values in per_label.items():
        for key in values:
            if label not in methods:
                raise ConfigError(
                    None, f"--set {label}.{key}: {label!r} is not a label of this compare; labels: {', '.join(methods)}"
                )
            if key not in declared[label]:
                raise ConfigError(
                    None,
                    f"--set {label}.{key}: {methods[label]} has no option {key!r}; valid: "
                    f"{', '.join(sorted(declared[label]))}",
                )
            if key == "seed":  # the seed also draws the shared train/test split, so it is one per compare
                raise ConfigError(
                    None,
                    f"--set {label}.seed: the seed draws the compare's shared train/test split; "
                    "give --seed (or seed=N) for every method",
                )


def compare(
    dataset: Any,
    plan: ComparePlan | str | Sequence[str],
    out: str | Path,
    options: Mapping[str, Any] | None = None,
    *,
    dataset_record: Any = None,
    resume: bool = False,
    progress: bool = True,
    dataset_info: dict[str, Any] | None = None,
    baseline: str | None = None,
    command: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Train (or, with resume, keep) every label's run under out/LABEL; write and return the results dict.

    `plan` may be a `[LABEL=]METHOD,...` string or list, with `options` for every method that declares them.
    `baseline`: the label the report's gains section compares against; `command`: the CLI arguments, recorded.
    results["report"] is the report's path, or None when no method succeeded (then no report is written).
    """
    if not isinstance(plan, ComparePlan):
        plan = plan_options(parse_methods(plan), options)
    elif options:
        raise ConfigError(None, "compare: give options either in the plan or as `options`, not both")
    if baseline is not None and baseline not in [e.label for e in plan.entries]:
        raise ConfigError(
            None,
            f"--baseline {baseline}: not a label of this compare; labels: {', '.join(e.label for e in plan.entries)}",
        )
    from actionlab.methods.runs import DatasetRecord, run_lock
    from actionlab.report import write_report, write_results_json
    from actionlab.training import distributed

    out = Path(out)
    record = dataset_record or DatasetRecord(specs=[getattr(dataset, "name", "dataset")], seed=plan.seed)
    main = distributed.setup().main  # under torchrun every rank trains; rank 0 alone locks and writes
    with distributed.main_only(run_lock(out)):  # a second compare into this folder is refused, not interleaved
        earlier = _earlier_walls(out / "results.json") if resume else {}
        for note in plan.notes:
            print(note, file=sys.stderr)
        entries, failed = _run_all(plan, dataset, out, record, resume, progress, earlier)
        results = _results(dataset, record, entries, failed, plan.seed, command, dataset_info)
        results["report"] = str(out / "report.html") if entries else None
        if not main:
            return results
        (out / "report.html").unlink(missing_ok=True)  # never an earlier compare's report beside these results
        write_results_json(out / "results.json", results)
        if entries:
            write_report(out / "results.json", out / "report.html", title="actionlab compare", baseline=baseline)
    return results


def _run_all(
    plan: ComparePlan, dataset: Any, out: Path, record: Any, resume: bool, progress: bool, earlier: dict[str, float]
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Every label's entry in order (a failing one listed in `failed` with its one-line error)."""
    entries: list[dict[str, Any]] = []
    failed: dict[str, str] = {}
    prior_runs: dict[str, Path] = {}
    start = time.perf_counter()
    for i, e in enumerate(plan.entries):
        elapsed = time.perf_counter() - start
        eta = f", ~{elapsed / i * (len(plan.entries) - i):.0f} s left" if i else ""
        print(
            f"compare: method {i + 1} of {len(plan.entries)} ({e.label}), {elapsed:.0f} s elapsed{eta}", file=sys.stderr
        )
        try:
            entry = _run_one(
                e,
                dataset,
                out / e.label,
                plan.options[e.label],
                record,
                resume,
                progress,
                dict(prior_runs),
                earlier.get(e.label),
            )
            if "top1" not in entry:
                raise ConfigError(out / e.label, "no test video could be scored")
        except ActionlabError as err:  # one failing method is listed, the others still run
            failed[e.label] = str(err).splitlines()[0] if str(err) else type(err).__name__
            print(f"compare: {e.label} failed: {err}", file=sys.stderr)
            continue
        entries.append(entry)
        prior_runs[e.label] = out / e.label
    return entries, failed


def _results(
    dataset: Any,
    record: Any,
    entries: list[dict[str, Any]],
    failed: dict[str, str],
    seed: int,
    command: Sequence[str] | None,
    dataset_info: dict[str, Any] | None,
) -> dict[str, Any]:
    """The compare's results.json: dataset (counts, split, examples), methods, failures, skips, CIs, provenance."""
    from actionlab.report.collect import significance, video_correctness
    from actionlab.report.provenance import class_counts, examples, provenance, split_definition

    info = {
        "name": getattr(dataset, "name", "dataset"),
        "classes": list(dataset.classes),
        "num_train": len(dataset.train),
        "num_val": len(getattr(dataset, "val", None) or []),
        "num_test": len(dataset.test),
        "specs": ", ".join(record.specs),
        "seed": record.seed,
        "split": split_definition(record, dataset),
        "counts": class_counts(dataset),
        "examples": examples(dataset),
        **(dataset_info or {}),
    }
    skipped: dict[str, dict[str, Any]] = {}
    for m in entries:
        for path, reason in (m.get("skipped") or {}).items():
            skipped.setdefault(path, {"reason": reason, "methods": []})["methods"].append(m["name"])
    correct = {m["name"]: video_correctness(m["run_dir"]) for m in entries}
    return {
        "dataset": info,
        "methods": entries,
        "failed": failed,
        "skipped": skipped,
        "significance": significance(entries, correct),
        "provenance": provenance(command, seed),
    }


def _earlier_walls(path: Path) -> dict[str, float]:
    """{label: wall seconds} an earlier compare in this folder measured (kept runs keep their cost)."""
    try:
        return {
            m["name"]: float(m["wall_seconds"])
            for m in json.loads(path.read_text())["methods"]
            if isinstance(m.get("wall_seconds"), (int, float))
        }
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def _run_one(
    e: Entry,
    dataset: Any,
    run_dir: Path,
    options: dict[str, Any],
    record: Any,
    resume: bool,
    progress: bool,
    prior_runs: dict[str, Path],
    earlier_wall: float | None,
) -> dict[str, Any]:
    """The results entry of one label: its finished run kept (resume, unchanged) or a fresh training."""
    from actionlab.methods.preset import RunContext

    preset = get_method(e.method)
    why = unchanged_run(run_dir, e, options, record, list(dataset.classes)) if resume else "not resuming"
    if why is None:
        print(
            f"compare: kept {e.label}: {run_dir} is a finished run of the same method, options and dataset",
            file=sys.stderr,
        )
        return _entry(e, preset, run_dir, *_read_run(run_dir), earlier_wall)
    print(f"compare: training {e.label} ({e.method}{'' if not resume else '; ' + why})", file=sys.stderr)
    context = RunContext(resume=False, progress=progress, label=e.label, prior_runs=prior_runs, dataset_record=record)
    start = time.perf_counter()
    run = preset.train(dataset, run_dir, options, context=context)
    return _entry(e, preset, run_dir, run.metrics, run.history, time.perf_counter() - start)


def unchanged_run(run_dir: Path, e: Entry, options: dict[str, Any], record: Any, classes: list[str]) -> str | None:
    """None when run_dir holds a finished run this compare would train identically now, else why not."""
    from actionlab.methods.runs import RunConfig

    if not (run_dir / "results.json").is_file():
        return "no finished run there"
    try:
        rc = RunConfig.read(run_dir)
    except ActionlabError:
        return "its config.json is missing or unreadable"
    if rc.method != e.method:
        return f"it holds a {rc.method} run"
    built = get_method(e.method).Options.build(options, where=e.label)
    if rc.dataset is not None:
        built, _ = built.for_training_set(rc.dataset.num_train)  # the epochs the run chose from its training set
    if rc.options != built.to_dict():
        return "its options differ"
    wanted = (list(record.specs), record.annotations, record.split, record.seed)
    if (
        rc.dataset is None
        or (list(rc.dataset.specs), rc.dataset.annotations, rc.dataset.split, rc.dataset.seed) != wanted
        or rc.classes != classes
    ):
        return "its dataset or split differs"
    return None


def _read_run(run_dir: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(metrics, per-epoch history) of a finished run from results.json, timing.json and history.json."""

    def read(name: str) -> Any:
        path = run_dir / name
        try:
            return json.loads(path.read_text()) if path.is_file() else {}
        except (OSError, ValueError) as err:
            raise ConfigError(path, f"unreadable ({err}); rerun without --resume to retrain it") from None

    history = read("history.json")
    return {**read("results.json"), **read("timing.json")}, list(history.get("epochs", []))


def _entry(
    e: Entry, preset: Any, run_dir: Path, metrics: dict[str, Any], history: list, wall_seconds: float | None
) -> dict[str, Any]:
    """One method's results: its run's metrics, history facts, what it reuses, its config and its costs."""
    from actionlab.report.collect import reused_runs, training_facts
    from actionlab.report.costs import inference_cost

    entry = {"name": e.label, "method": e.method, "temporal": preset.temporal, "run_dir": str(run_dir)}
    entry.update({k: metrics[k] for k in RESULT_KEYS if k in metrics})
    entry.update(training_facts(run_dir).to_dict())
    reuses = [r.to_dict() for r in reused_runs(run_dir)]
    entry.update(reuses=reuses, wall_seconds=wall_seconds)
    try:
        config = json.loads((run_dir / "config.json").read_text())
    except (OSError, ValueError):
        config = {}
    entry["options"] = config.get("options")
    used = config.get("dataset") or {}  # the videos this method trained and validated on (its own val split)
    entry.update(num_train=used.get("num_train"), num_val=used.get("num_val"), val_source=used.get("val_source"))
    test_paths = _test_paths(run_dir)
    cost = inference_cost(run_dir, metrics.get("infer_clips_per_s"), test_paths)
    entry.update(
        infer_clips_per_s=cost.clips_per_s,
        model_clips_per_s=cost.model_clips_per_s,
        extract_seconds_per_video=cost.extract_seconds_per_video,
        infer_note=cost.note,
    )
    entry["history"] = history
    return entry


def _test_paths(run_dir: Path) -> list[str]:
    import csv

    path = run_dir / "predictions.csv"
    if not path.is_file():
        return []
    with open(path, newline="", encoding="utf-8") as fh:
        return [row["path"] for row in csv.DictReader(fh)]


def results_table(results: dict[str, Any]) -> str:
    """A plain-text table of the headline numbers, one row per label ("label (method)" when they differ)."""

    def name(m: dict[str, Any]) -> str:
        return m["name"] if m.get("method", m["name"]) == m["name"] else f"{m['name']} ({m['method']})"

    def num(value: Any, fmt: str) -> str:
        return fmt.format(value) if isinstance(value, (int, float)) else "-"

    intervals = (results.get("significance") or {}).get("intervals", {})
    width = max([16, *(len(name(m)) + 2 for m in results["methods"])])
    rows = [
        f"{'method':<{width}}{'top1':>7}{'95% CI':>13}{'val':>7}{'train':>7}{'top5':>7}{'frame':>7}"
        f"{'epochs':>8}{'train s':>9}{'clips/s':>9}{'params':>10}"
    ]
    for m in results["methods"]:
        ci = intervals.get(m["name"])
        ci_text = f"{ci['low']:.3f}-{ci['high']:.3f}" if ci else "-"
        epochs = f"{m.get('best_epoch') or '-'}/{m.get('epochs_run') or '-'}"
        rows.append(
            f"{name(m):<{width}}{m['top1']:>7.3f}{ci_text:>13}{num(m.get('val_top1'), '{:.3f}'):>7}"
            f"{num(m.get('train_top1'), '{:.3f}'):>7}{num(m.get('top5'), '{:.3f}'):>7}"
            f"{num(m.get('single_frame_top1'), '{:.3f}'):>7}{epochs:>8}"
            f"{num(m.get('train_seconds'), '{:.1f}'):>9}{num(m.get('infer_clips_per_s'), '{:.1f}'):>9}"
            f"{m.get('params', 0):>10}"
        )
    for label, reason in results.get("failed", {}).items():
        rows.append(f"{label:<{width}} failed: {reason}")
    if results.get("skipped"):
        rows.append(f"{len(results['skipped'])} test/train videos skipped (see results.json 'skipped')")
    conclusion = (results.get("significance") or {}).get("conclusion")
    if conclusion:
        rows.append(conclusion)
    return "\n".join(rows)


# `actionlab.compare(...)` is the API call and this module's name (a submodule import rebinds the package
# attribute): the module's class makes calling it run actionlab.api.compare
from actionlab.api import CompareModule  # noqa: E402

sys.modules[__name__].__class__ = CompareModule
