"""`actionlab train --dataset SPEC --method NAME --out RUN`: train one preset into a self-contained run folder.

Options come from flags (--epochs, --frames, ...; each maps to one declared option), `--set [LABEL.]KEY=VALUE`
for any declared option, and `--config FILE` (a run's config.json, or TOML/YAML/JSON with keys method, options,
dataset). Only what the user gives becomes an option, so every other value stays the preset's default; the
preset's Options.build validates all of them before the dataset is indexed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from actionlab.errors import ConfigError

# flag dest -> declared option of the same name (methods/options.py); the help line is the option's own
FLAG_OPTIONS = (
    "epochs",
    "batch_size",
    "lr",
    "optimizer",
    "weight_decay",
    "schedule",
    "warmup",
    "early_stopping",
    "label_smoothing",
    "precision",
    "workers",
    "device",
    "frames",
    "size",
    "init",
    "freeze",
    "unfreeze_epoch",
    "unfrozen_lr",
    "tracker",
    "time_budget",
)
SPLIT_OPTIONS = ("seed", "val_fraction")  # add_dataset_args defines these flags; for training they are options
METAVARS = {
    "time_budget": "SECONDS",
    "tracker": "NAME",
    "early_stopping": "PATIENCE",
    "init": "WEIGHTS",
    "freeze": "PARTS",
    "device": "DEVICE",
}


@dataclass
class GivenOptions:
    """The options the user gave, as typed: for every method (`common`) and per label or method (`per_label`)."""

    common: dict[str, Any] = field(default_factory=dict)
    per_label: dict[str, dict[str, Any]] = field(default_factory=dict)


def _declared() -> dict[str, tuple[str, str]]:
    """(metavar, help) of every option of the shared groups, from its declaration."""
    from actionlab.methods.options import FrameOptions, TrainOptions, TransferOptions

    metavar = {"int": "N", "float": "X", "int | NoneType": "N"}
    return {
        name: (METAVARS.get(name) or metavar.get(tp, name.upper()), text)
        for cls in (TrainOptions, TransferOptions, FrameOptions)
        for name, tp, _, text in cls.describe()
    }


def add_training_args(p: argparse.ArgumentParser, *, split_flags: bool = True) -> None:
    """The option flags shared by train, compare and demo (split_flags: also --seed/--val-fraction)."""
    declared = _declared()
    group = p.add_argument_group("options (default: the method's own; `actionlab methods NAME` lists them all)")
    for name in (*FLAG_OPTIONS, *(SPLIT_OPTIONS if split_flags else ())):
        group.add_argument(
            f"--{name.replace('_', '-')}", dest=name, default=None, metavar=declared[name][0], help=declared[name][1]
        )
    group.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="[LABEL.]KEY=VALUE",
        help="any declared option, e.g. width=8, cell=gru, b.lr=0.01 (LABEL: one method of a "
        "compare); VALUE is read as JSON when it parses, else as text; repeatable",
    )


def parse_set(item: str) -> tuple[str | None, str, Any]:
    """(label or None, option name, value) of one `--set [LABEL.]KEY=VALUE`."""
    key, sep, raw = item.partition("=")
    label, _, name = key.strip().rpartition(".")
    if not sep or not name:
        raise ConfigError(None, f"--set {item!r}: expected [LABEL.]KEY=VALUE")
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw
    return label or None, name.replace("-", "_"), value


def training_config(args: argparse.Namespace) -> GivenOptions:
    """The options given on the command line: flags that were passed, then every --set (later ones win)."""
    given = GivenOptions()
    for name in (*FLAG_OPTIONS, *SPLIT_OPTIONS):
        if getattr(args, name, None) is not None:
            given.common[name] = getattr(args, name)
    for item in getattr(args, "set", None) or []:
        label, name, value = parse_set(item)
        target = given.per_label.setdefault(label, {}) if label else given.common
        target[name] = value
    return given


@dataclass
class RunSpec:
    """What one training run needs besides the output folder: preset, options as given, dataset, label."""

    method: str
    options: dict[str, Any]
    specs: list[str]
    annotations: list[str] | None = None
    split: int = 1
    label: str | None = None


def read_config_file(path: str | Path) -> RunSpec:
    """A run's config.json (or its folder), or a TOML/YAML/JSON file {method, options, dataset: {specs, ...}}."""
    from actionlab.methods import get_method
    from actionlab.methods.runs import CONFIG

    path = Path(path)
    path = path / CONFIG if path.is_dir() else path
    raw = _read_mapping(path)
    if not isinstance(raw.get("method"), str):
        raise ConfigError(path, "needs a key 'method' naming a preset (see `actionlab methods`)")
    options, ds = raw.get("options") or {}, raw.get("dataset") or {}
    if not isinstance(options, dict) or not isinstance(ds, dict):
        raise ConfigError(path, "'options' and 'dataset' must be tables of KEY = VALUE")
    if "classes" in raw:  # a run's record holds every option: the ones that differ from the defaults were set
        options = get_method(raw["method"]).Options.restore(options, where=str(path)).given_dict()
    if "seed" in ds and "seed" not in options:
        options = {**options, "seed": ds["seed"]}
    specs = ds.get("specs", ds.get("spec"))
    specs = [specs] if isinstance(specs, str) else list(specs or [])
    annotations = ds.get("annotations")
    annotations = [annotations] if isinstance(annotations, str) else annotations
    return RunSpec(raw["method"], dict(options), specs, annotations, int(ds.get("split") or 1), raw.get("label"))


def _read_mapping(path: Path) -> dict[str, Any]:
    """The file parsed by its suffix (.toml, .yaml/.yml, else JSON); ConfigError with the parser's reason."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(path, f"cannot read the config file ({err.strerror or err})") from None
    suffix = path.suffix.lower()
    try:
        if suffix == ".toml":
            import tomllib

            data = tomllib.loads(text)
        elif suffix in (".yaml", ".yml"):
            data = _yaml().safe_load(text)
        else:
            data = json.loads(text)
    except ConfigError:
        raise
    except Exception as err:  # each parser has its own error type; all mean "not a valid file"
        raise ConfigError(
            path, f"not a valid {suffix.lstrip('.') or 'JSON'} file ({str(err).splitlines()[0]})"
        ) from None
    if not isinstance(data, dict):
        raise ConfigError(path, "must hold a table with the keys method, options, dataset")
    return data


def _yaml() -> Any:
    try:
        import yaml
    except ImportError:
        raise ConfigError(
            None, "reading a YAML config needs PyYAML: pip install pyyaml (or use TOML or JSON)"
        ) from None
    return yaml


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `train` verb."""
    from actionlab.data import add_dataset_args

    p = sub.add_parser("train", help="train one method on a dataset")
    add_dataset_args(p, required=False)
    p.add_argument("--method", help="preset to train (see `actionlab methods`)")
    p.add_argument(
        "--config",
        metavar="FILE",
        help="a run's config.json (or run folder), or a TOML/YAML/JSON file "
        "{method, options, dataset}; flags given beside it override it",
    )
    p.add_argument("--out", required=True, help="run folder to write")
    p.add_argument("--resume", action="store_true", help="continue after the last finished epoch")
    p.add_argument(
        "--nproc",
        type=int,
        default=1,
        metavar="N",
        help="train with N processes on this machine (DistributedDataParallel, as `torchrun "
        "--nproc-per-node N -m actionlab train ...`, which is the form clusters run)",
    )
    add_training_args(p, split_flags=False)
    # None = not given, so the preset's (or the config file's) seed, split and val_fraction stay in force
    p.set_defaults(func=run, seed=None, val_fraction=None, split=None)


def run_spec(args: argparse.Namespace) -> RunSpec:
    """The run to train: --config's, overridden by what the command line gives."""
    spec = read_config_file(args.config) if args.config else None
    if spec is None and not args.method:
        raise ConfigError(None, "give --method NAME (see `actionlab methods`) or --config FILE")
    if spec is not None and args.method and args.method != spec.method:
        raise ConfigError(
            args.config, f"--method {args.method} differs from the config's method {spec.method}; give one of them"
        )
    spec = spec or RunSpec(args.method, {}, [])
    given = training_config(args)
    own = {spec.method, spec.label or spec.method}  # a compare run's config keeps its label
    for label, values in given.per_label.items():
        if label not in own:
            raise ConfigError(
                None,
                f"--set {label}.{next(iter(values))}: train runs {spec.method}; write "
                f"{spec.method}.KEY=VALUE or just KEY=VALUE",
            )
    prefixed = {k: v for label in sorted(own) for k, v in given.per_label.get(label, {}).items()}
    spec.options = {**spec.options, **given.common, **prefixed}
    if args.dataset:  # a dataset given here replaces the file's, annotations with it
        spec.specs, spec.annotations = list(args.dataset), args.annotations
    elif args.annotations:
        spec.annotations = args.annotations
    spec.split = args.split or spec.split
    if not spec.specs:
        raise ConfigError(None, "no dataset given: pass --dataset SPEC")
    return spec


def load_for_training(spec: RunSpec, seed: int) -> tuple[Any, Any]:
    """(dataset, DatasetRecord): validation is left to the pipeline (the val_fraction option), while the
    folder/list/synthetic train/test split draws from the run's seed, which the record keeps."""
    from actionlab.data import dataset_from_spec
    from actionlab.methods.runs import DatasetRecord

    dataset = dataset_from_spec(spec.specs, annotations=spec.annotations, split=spec.split, val_fraction=0.0, seed=seed)
    return dataset, DatasetRecord(specs=list(spec.specs), annotations=spec.annotations, split=spec.split, seed=seed)


def run(args: argparse.Namespace) -> int:
    """Validate the options, load the dataset, train, print the headline numbers."""
    from actionlab.methods import get_method
    from actionlab.methods.preset import RunContext

    if args.nproc < 1:
        raise ConfigError(None, f"--nproc must be >= 1, not {args.nproc}")
    if args.nproc > 1 and not os.environ.get("WORLD_SIZE"):
        return _launch(args)
    spec = run_spec(args)
    preset = get_method(spec.method)
    o = preset.Options.build(spec.options, where=spec.method)  # every option checked before indexing
    dataset, record = load_for_training(spec, o.seed)
    label = spec.label or preset.name
    context = RunContext(resume=args.resume, progress=True, label=label, dataset_record=record)
    result = preset.train(dataset, args.out, spec.options, context=context)
    print_summary(label, result, args.out)
    return 0


def _launch(args: argparse.Namespace) -> int:
    """Check the options here (one error, not N), then start N copies of this command under torchrun."""
    from actionlab.methods import get_method
    from actionlab.training.distributed import launch_local

    spec = run_spec(args)
    get_method(spec.method).Options.build(spec.options, where=spec.method)
    argv = sys.argv[1:]
    if "train" not in argv:
        raise ConfigError(
            None,
            "--nproc relaunches the command line; from Python run "
            "`torchrun --nproc-per-node N -m actionlab train ...` instead",
        )
    return launch_local(args.nproc, _without_nproc(argv))


def _without_nproc(argv: list[str]) -> list[str]:
    """argv less `--nproc N` / `--nproc=N`."""
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a == "--nproc":
            skip = True
        elif not a.startswith("--nproc="):
            out.append(a)
    return out


def print_summary(label: str, result: Any, out: str | Path) -> None:
    """ "<label>: test top1 X top5 Y [single-frame top1 Z] (N s training) -> OUT", then one line per skipped file."""
    m = result.metrics
    frame = f" single-frame top1 {m['single_frame_top1']:.3f}" if "single_frame_top1" in m else ""
    print(
        f"{label}: test top1 {m.get('top1', 0.0):.3f} top5 {m.get('top5', 0.0):.3f}{frame} "
        f"({result.train_seconds:.1f} s training) -> {out}"
    )
    for path, reason in m.get("skipped", {}).items():
        print(f"skipped {path}: {reason}")
    if not m.get("num_videos", 1):
        print(f"{label}: no test video could be scored", file=sys.stderr)
