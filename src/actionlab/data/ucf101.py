"""UCF101 adapter: class folders plus classInd.txt, trainlist0K.txt, testlist0K.txt (K = 1, 2, 3).

Labels follow classInd.txt (1-based there, 0-based here). Test lines carry no label; it comes from the class
folder of the listed path. The group is the `gXX` part of the file name (the 25 UCF101 actor groups).
Without `annotations`, ROOT/ucfTrainTestlist is used, then ucfTrainTestlist beside ROOT.
"""

from __future__ import annotations

import re
from pathlib import Path

from actionlab.data._files import FileChecker, default_annotations, inside_root, read_lines, require_dir
from actionlab.data.dataset import Dataset, Problem, Sample
from actionlab.errors import DatasetError

_GROUP = re.compile(r"_(g\d+)_c\d+", re.IGNORECASE)


def _classes(path: Path, problems: list[Problem]) -> list[str]:
    by_index: dict[int, str] = {}
    for n, line in read_lines(path):
        parts = line.split()
        if len(parts) != 2 or not parts[0].isdigit():
            problems.append(Problem(str(path), n, f"malformed line {line!r}, expected 'INDEX CLASS'"))
            continue
        by_index[int(parts[0])] = parts[1]
    if sorted(by_index) != list(range(1, len(by_index) + 1)):
        raise DatasetError(path, "class indices must run 1..N without gaps")
    return [by_index[i] for i in range(1, len(by_index) + 1)]


def _resolve(root: Path, rel: str) -> Path:
    """root/rel, or its case-insensitive match: UCF101 spells HandstandPushups / HandStandPushups both ways."""
    video = root / rel
    if video.is_file():
        return video
    folder = root
    for part in rel.split("/"):
        if not folder.is_dir():
            return video
        names = {p.name.lower(): p.name for p in folder.iterdir()}
        folder = folder / names.get(part.lower(), part)
    return folder


def _samples(
    root: Path, path: Path, classes: list[str], problems: list[Problem], checker: FileChecker, split: str
) -> list[Sample]:
    index = {c.lower(): i for i, c in enumerate(classes)}
    samples = []
    for n, line in read_lines(path):
        parts = line.split()
        if len(parts) > 2 or "/" not in parts[0].replace("\\", "/"):
            problems.append(Problem(str(path), n, f"malformed line {line!r}, expected 'CLASS/FILE [LABEL]'"))
            continue
        rel = inside_root(root, parts[0], path, n, problems)  # normalised: the class is its first part
        if rel is None:
            continue
        folder = rel.split("/")[0]
        label = index.get(folder.lower())
        if label is None:
            problems.append(Problem(str(path), n, f"unknown class {folder!r}"))
            continue
        if len(parts) == 2 and (not parts[1].isdigit() or int(parts[1]) - 1 != label):
            problems.append(Problem(str(path), n, f"label {parts[1]} does not match class folder {folder!r}"))
            continue
        video = _resolve(root, rel)
        if checker.ok(video, path, n, split=split, label=classes[label]):
            match = _GROUP.search(video.name)
            samples.append(Sample(video, label, match.group(1).lower() if match else None))
    return samples


def load_ucf101(root: Path, *, annotations: Path | None = None, split: int = 1) -> Dataset:
    """Load UCF101 split 1, 2 or 3 from the class folders `root` and the annotation folder."""
    root = require_dir(root, "UCF101 video")
    ann = require_dir(
        annotations if annotations is not None else default_annotations(root, "ucfTrainTestlist"), "UCF101 annotations"
    )
    if split not in (1, 2, 3):
        raise DatasetError(ann, f"split must be 1, 2 or 3, got {split}")
    problems: list[Problem] = []
    classes = _classes(ann / "classInd.txt", problems)
    checker = FileChecker(problems)
    train = _samples(root, ann / f"trainlist0{split}.txt", classes, problems, checker, "train")
    test = _samples(root, ann / f"testlist0{split}.txt", classes, problems, checker, "test")
    return Dataset("ucf101", classes, checker.keep(train), checker.keep(test), problems=problems)
