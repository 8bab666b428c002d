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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from actionlab.errors import ActionlabError, ConfigError
from actionlab.methods import get_method

RESULT_KEYS = ("top1", "top5", "mean_class_acc", "per_class", "confusion", "train_seconds", "infer_clips_per_s",
               "params", "model_mb", "single_frame_top1")
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


def plan_options(entries: Sequence[Entry], common: Mapping[str, Any] | None = None,
                 per_label: Mapping[str, Mapping[str, Any]] | None = None) -> ComparePlan:
    """Each label's options: `common` where its preset declares the key, then its own `per_label` ones."""
    declared = {e.label: set(get_method(e.method).Options.names()) for e in entries}
    common, per_label = dict(common or {}), {k: dict(v) for k, v in (per_label or {}).items()}
    notes = []
    for key, value in common.items():
        takers = [e.label for e in entries if key in declared[e.label]]
        if not takers:
            valid = sorted(set().union(*declared.values()))
            raise ConfigError(None, f"no method of this compare takes option {key!r}; valid: "
                                    f"{', '.join(valid)}")
        if len(takers) < len(entries):
            notes.append(f"compare: {key}={_show(value)} applies to {', '.join(takers)} only")
    _check_prefixed(entries, declared, per_label)
    options = {e.label: {**{k: v for k, v in common.items() if k in declared[e.label]}, **per_label.get(e.label, {})}
               for e in entries}
    seeds = {e.label: get_method(e.method).Options.build(options[e.label], where=e.label).seed for e in entries}
    if len(set(seeds.values())) > 1:
        raise ConfigError(None, f"the methods' default seeds differ ({seeds}); give --seed")
    return ComparePlan(list(entries), options, next(iter(seeds.values())), notes)


def _check_prefixed(entries: Sequence[Entry], declared: dict[str, set[str]],
                    per_label: dict[str, dict[str, Any]]) -> None:
    methods = {e.label: e.method for e in entries}
    for label, values in per_label.items():
        for key in values:
            if label not in methods:
                raise ConfigError(None, f"--set {label}.{key}: {label!r} is not a label of this compare; labels: "
                                        f"{', '.join(methods)}")
            if key not in declared[label]:
                raise ConfigError(None, f"--set {label}.{key}: {methods[label]} has no option {key!r}; valid: "
                                        f"{', '.join(sorted(declared[label]))}")
            if key == "seed":  # the seed also draws the shared train/test split, so it is one per compare
                raise ConfigError(None, f"--set {label}.seed: the seed draws the compare's shared train/test split; "
                                        "give --seed (or seed=N) for every method")


def compare(dataset: Any, plan: ComparePlan | str | Sequence[str], out: str | Path,
            options: Mapping[str, Any] | None = None, *, dataset_record: Any = None, resume: bool = False,
            progress: bool = True, dataset_info: dict[str, Any] | None = None) -> dict[str, Any]:
    """Train (or, with resume, keep) every label's run under out/LABEL; write and return the results dict.

    `plan` may be a `[LABEL=]METHOD,...` string or list, with `options` for every method that declares them.
    """
    if not isinstance(plan, ComparePlan):
        plan = plan_options(parse_methods(plan), options)
    elif options:
        raise ConfigError(None, "compare: give options either in the plan or as `options`, not both")
    from actionlab.methods.runs import DatasetRecord, run_lock
    from actionlab.report import write_report, write_results_json

    out = Path(out)
    record = dataset_record or DatasetRecord(specs=[getattr(dataset, "name", "dataset")], seed=plan.seed)
    entries, histories, failed, prior_runs = [], {}, {}, {}
    with run_lock(out):  # a second compare into this folder is refused, not interleaved
        for note in plan.notes:
            print(note, file=sys.stderr)
        for e in plan.entries:
            try:
                entry = _run_one(e, dataset, out / e.label, plan.options[e.label], record, resume, progress,
                                 dict(prior_runs))
                if "top1" not in entry:
                    raise ConfigError(out / e.label, "no test video could be scored")
            except ActionlabError as err:  # one failing method is listed, the others still run
                failed[e.label] = str(err)
                print(f"compare: {e.label} failed: {err}", file=sys.stderr)
                continue
            entries.append(entry)
            histories[e.label] = entry["history"]
            prior_runs[e.label] = out / e.label
        info = {"name": getattr(dataset, "name", "dataset"), "classes": list(dataset.classes),
                "num_train": len(dataset.train), "num_test": len(dataset.test),
                "specs": ", ".join(record.specs), "seed": record.seed, **(dataset_info or {})}
        results = {"dataset": info, "methods": entries, "failed": failed}
        write_results_json(out / "results.json", results)
        if entries:
            write_report(out / "results.json", out / "report.html", histories=histories, title="actionlab compare")
    return results


def _run_one(e: Entry, dataset: Any, run_dir: Path, options: dict[str, Any], record: Any, resume: bool,
             progress: bool, prior_runs: dict[str, Path]) -> dict[str, Any]:
    """The results entry of one label: its finished run kept (resume, unchanged) or a fresh training."""
    from actionlab.methods.preset import RunContext

    preset = get_method(e.method)
    why = unchanged_run(run_dir, e, options, record, list(dataset.classes)) if resume else "not resuming"
    if why is None:
        print(f"compare: kept {e.label}: {run_dir} is a finished run of the same method, options and dataset",
              file=sys.stderr)
        return _entry(e, preset, run_dir, *_read_run(run_dir))
    print(f"compare: training {e.label} ({e.method}{'' if not resume else '; ' + why})", file=sys.stderr)
    context = RunContext(resume=False, progress=progress, label=e.label, prior_runs=prior_runs,
                         dataset_record=record)
    run = preset.train(dataset, run_dir, options, context=context)
    return _entry(e, preset, run_dir, run.metrics, run.history)


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
    if rc.options != get_method(e.method).Options.build(options, where=e.label).to_dict():
        return "its options differ"
    wanted = (list(record.specs), record.annotations, record.split, record.seed)
    if rc.dataset is None or (list(rc.dataset.specs), rc.dataset.annotations, rc.dataset.split,
                              rc.dataset.seed) != wanted or rc.classes != classes:
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


def _entry(e: Entry, preset: Any, run_dir: Path, metrics: dict[str, Any], history: list) -> dict[str, Any]:
    entry = {"name": e.label, "method": e.method, "temporal": preset.temporal, "run_dir": str(run_dir)}
    entry.update({k: metrics[k] for k in RESULT_KEYS if k in metrics})
    entry["history"] = history
    return entry


def results_table(results: dict[str, Any]) -> str:
    """A plain-text table of the headline numbers, one row per label ("label (method)" when they differ)."""
    def name(m: dict[str, Any]) -> str:
        return m["name"] if m.get("method", m["name"]) == m["name"] else f"{m['name']} ({m['method']})"

    width = max([16, *(len(name(m)) + 2 for m in results["methods"])])
    rows = [f"{'method':<{width}}{'top1':>7}{'top5':>7}{'mca':>7}{'frame':>7}{'train s':>9}{'clips/s':>9}"
            f"{'params':>10}"]
    for m in results["methods"]:
        sf = m.get("single_frame_top1")
        rows.append(f"{name(m):<{width}}{m['top1']:>7.3f}{m.get('top5', 0):>7.3f}{m.get('mean_class_acc', 0):>7.3f}"
                    f"{(f'{sf:.3f}' if sf is not None else '-'):>7}{m.get('train_seconds', 0):>9.1f}"
                    f"{m.get('infer_clips_per_s', 0):>9.1f}{m.get('params', 0):>10}")
    for label, reason in results.get("failed", {}).items():
        rows.append(f"{label:<{width}} failed: {reason}")
    return "\n".join(rows)
