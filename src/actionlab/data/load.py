"""One entry point for every dataset kind, CLI spec parsing and the shared --dataset arguments."""

from __future__ import annotations

import argparse
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

from actionlab.data.dataset import Dataset, check_not_empty, joint_dataset
from actionlab.data.folder import load_folder, load_list
from actionlab.data.hmdb51 import load_hmdb51
from actionlab.data.images import load_images
from actionlab.data.split import stratified_split
from actionlab.data.ucf101 import load_ucf101
from actionlab.errors import ConfigError

KINDS = ("ucf101", "hmdb51", "folder", "list", "images", "synthetic")


def _load_synthetic(root: Path | None = None, **options: Any) -> Dataset:
    # Imported here: synth pulls in rendering code that indexing other datasets never needs.
    from actionlab.synth import synthetic_root

    dataset = load_folder(Path(root) if root is not None else synthetic_root(), **options)
    dataset.name = "synthetic"
    return dataset


_LOADERS: dict[str, Callable[..., Dataset]] = {
    "ucf101": load_ucf101,
    "hmdb51": load_hmdb51,
    "folder": load_folder,
    "list": load_list,
    "images": load_images,
    "synthetic": _load_synthetic,
}


def _check_options(kind: str, loader: Callable[..., Dataset], options: dict[str, Any]) -> None:
    params = inspect.signature(loader).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    accepted = [p for p in params if p not in ("root", "file")]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ConfigError(
            None,
            f"dataset kind {kind!r} takes no option {', '.join(unknown)} (it takes: {', '.join(accepted) or 'none'})",
        )


def load_dataset(
    kind: str, root: str | Path | None = None, *, val_fraction: float = 0.0, seed: int = 0, **options: Any
) -> Dataset:
    """Load a dataset of `kind` (ucf101, hmdb51, folder, list, images, synthetic) and carve `val` from train."""
    loader = _LOADERS.get(kind)
    if loader is None:
        raise ConfigError(None, f"unknown dataset kind {kind!r} (choose from {', '.join(KINDS)})")
    if not 0.0 <= val_fraction < 1.0:
        raise ConfigError(None, f"val_fraction must be in [0, 1), got {val_fraction}")
    if kind in ("folder", "list", "synthetic"):
        options.setdefault("seed", seed)
    _check_options(kind, loader, options)
    if root is None and kind != "synthetic":
        raise ConfigError(None, f"dataset kind {kind!r} needs a root path")
    dataset = loader(Path(root).expanduser(), **options) if root is not None else loader(**options)
    if val_fraction > 0:
        dataset.train, held = stratified_split(dataset.train, val_fraction, seed)
        dataset.val = dataset.val + held
    return check_not_empty(dataset, root if root is not None else kind)


def parse_spec(spec: str) -> tuple[str, str | None]:
    """Split `KIND:PATH` (or `synthetic`) into kind and path, raising ConfigError on a bad spec."""
    kind, _, path = spec.partition(":")
    kind = kind.strip().lower()
    if kind not in KINDS:
        raise ConfigError(
            None,
            f"bad dataset spec {spec!r}: kind must be one of {', '.join(KINDS)} "
            f"(e.g. ucf101:ROOT, folder:ROOT, list:FILE, synthetic)",
        )
    if kind != "synthetic" and not path:
        raise ConfigError(None, f"bad dataset spec {spec!r}: give a path, e.g. {kind}:/data/{kind}")
    return kind, path or None


def dataset_from_spec(
    spec: str | list[str],
    *,
    annotations: str | Path | list | None = None,
    split: int = 1,
    val_fraction: float = 0.0,
    seed: int = 0,
) -> Dataset:
    """Load the dataset named by a CLI spec such as `ucf101:ROOT`, `folder:ROOT`, `list:FILE` or `synthetic`.

    A list of specs gives their joint dataset; `annotations` is then a list with one folder per ucf101/hmdb51
    spec, in order (or None: each uses the official folder inside or beside its ROOT).
    """
    if not isinstance(spec, str):
        specs = list(spec)
        if len(specs) != 1:
            return _joint(specs, annotations, split=split, val_fraction=val_fraction, seed=seed)
        spec = specs[0]
    if isinstance(annotations, (list, tuple)):
        if len(annotations) > 1:
            raise ConfigError(None, "--annotations was given more than once for a single dataset")
        annotations = annotations[0] if annotations else None
    kind, path = parse_spec(spec)
    options: dict[str, Any] = {}
    if kind in ("ucf101", "hmdb51"):
        options = {"annotations": Path(annotations).expanduser() if annotations else None, "split": split}
    elif annotations:
        raise ConfigError(None, f"--annotations applies to ucf101 and hmdb51 only, not {kind}")
    return load_dataset(kind, path, val_fraction=val_fraction, seed=seed, **options)


def _joint(specs: list[str], annotations: str | Path | list | None, **kw: Any) -> Dataset:
    official = [i for i, s in enumerate(specs) if parse_spec(s)[0] in ("ucf101", "hmdb51")]
    given = [] if annotations is None else [annotations] if isinstance(annotations, (str, Path)) else list(annotations)
    if given and len(given) != len(official):
        raise ConfigError(
            None,
            f"give --annotations once per ucf101/hmdb51 dataset ({len(official)}), in order, "
            "or not at all to use the folder inside or beside each ROOT",
        )
    folders = dict(zip(official, given))
    return joint_dataset([dataset_from_spec(s, annotations=folders.get(i), **kw) for i, s in enumerate(specs)])


def add_dataset_args(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    """Add --dataset/--annotations/--split/--val-fraction/--seed to a verb's parser."""
    group = parser.add_argument_group("dataset")
    group.add_argument(
        "--dataset",
        action="append",
        required=required,
        metavar="SPEC",
        help="ucf101:ROOT, hmdb51:ROOT, folder:ROOT, list:FILE, images:ROOT or synthetic; repeat for a joint dataset",
    )
    group.add_argument(
        "--annotations",
        action="append",
        metavar="DIR",
        help="annotation folder (ucf101, hmdb51); repeat per such dataset for a joint dataset",
    )
    group.add_argument("--split", type=int, default=1, choices=(1, 2, 3), help="official split (default 1)")
    group.add_argument(
        "--val-fraction",
        type=float,
        default=0.0,
        metavar="F",
        help="fraction of train held out for validation, stratified and group-aware",
    )
    group.add_argument("--seed", type=int, default=0, help="seed for the splits (default 0)")


def dataset_from_args(args: argparse.Namespace) -> Dataset:
    """The dataset selected by the arguments that add_dataset_args added (joint when --dataset repeats)."""
    specs = args.dataset if isinstance(args.dataset, list) else [args.dataset] if args.dataset else []
    if not specs:
        raise ConfigError(None, "no dataset given: pass --dataset SPEC")
    return dataset_from_spec(
        specs, annotations=args.annotations, split=args.split, val_fraction=args.val_fraction, seed=args.seed
    )
