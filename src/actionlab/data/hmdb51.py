"""HMDB51 adapter: class folders plus `<class>_test_splitK.txt` files of `name id` lines.

Id 1 = train, 2 = test, 0 = unused. Classes are sorted by name. HMDB51 has no actor id; the group is the
source-film prefix of the clip name (the text before `_<class>_`), so clips cut from one film stay on one
side of a validation split; else a UCF-style `gXX` in the name; else None. Without `annotations`, the
split files are looked for in ROOT/testTrainMulti_7030_splits, then beside ROOT.
"""

from __future__ import annotations

import re
from pathlib import Path

from actionlab.data._files import FileChecker, default_annotations, inside_root, read_lines, require_dir
from actionlab.data.dataset import Dataset, Problem, Sample
from actionlab.errors import DatasetError

_UCF_STYLE_GROUP = re.compile(r"_(g\d+)_c\d+")


def _group(name: str, cls: str) -> str | None:
    # the last `_<class>_`: a film title may hold the class word (How_to_pour_beer_pour_u_cm_np1_fr_med_0)
    pos = name.rfind(f"_{cls}_")
    if pos > 0:
        return name[:pos]
    match = _UCF_STYLE_GROUP.search(name)  # files named like UCF101 (e.g. actionlab.synth's hmdb51 layout)
    return match.group(1) if match else None


def _read_split_file(
    path: Path, root: Path, cls: str, label: int, problems: list[Problem], checker: FileChecker
) -> tuple[list[Sample], list[Sample]]:
    train: list[Sample] = []
    test: list[Sample] = []
    for n, line in read_lines(path):
        parts = line.split()
        if len(parts) != 2 or parts[1] not in ("0", "1", "2"):
            problems.append(Problem(str(path), n, f"malformed line {line!r}, expected 'NAME 0|1|2'"))
            continue
        if parts[1] == "0":
            continue
        rel = (
            inside_root(root, f"{cls}/{parts[0]}", path, n, problems)
            if not _absolute(parts[0])
            else inside_root(root, parts[0], path, n, problems)
        )
        if rel is None:
            continue
        video, split = root / rel, "train" if parts[1] == "1" else "test"
        if checker.ok(video, path, n, split=split, label=cls):
            (train if split == "train" else test).append(Sample(video, label, _group(video.name, cls)))
    return train, test


def load_hmdb51(root: Path, *, annotations: Path | None = None, split: int = 1) -> Dataset:
    """Load HMDB51 split 1, 2 or 3 from the class folders `root` and the split-file folder."""
    root = require_dir(root, "HMDB51 video")
    fallback = default_annotations(root, "testTrainMulti_7030_splits")
    ann = require_dir(annotations if annotations is not None else fallback, "HMDB51 annotations")
    if split not in (1, 2, 3):
        raise DatasetError(ann, f"split must be 1, 2 or 3, got {split}")
    suffix = f"_test_split{split}.txt"
    files = sorted(p for p in ann.iterdir() if p.name.endswith(suffix))
    if not files:
        raise DatasetError(ann, f"no *{suffix} files in the annotation folder")
    problems: list[Problem] = []
    classes = []
    for cls in sorted(p.name[: -len(suffix)] for p in files):
        if (root / cls).is_dir():
            classes.append(cls)
        else:  # a split file alone must not add a class no video can have
            problems.append(Problem(str(ann / f"{cls}{suffix}"), None, f"unknown class: no folder {root / cls}"))
    checker = FileChecker(problems)
    train: list[Sample] = []
    test: list[Sample] = []
    for label, cls in enumerate(classes):
        tr, te = _read_split_file(ann / f"{cls}{suffix}", root, cls, label, problems, checker)
        train += tr
        test += te
    return Dataset("hmdb51", classes, checker.keep(train), checker.keep(test), problems=problems)


def _absolute(name: str) -> bool:
    return name.startswith(("/", "\\")) or Path(name).is_absolute()
