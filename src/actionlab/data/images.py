"""Stanford40-style still images: JPEGImages/ plus ImageSplits/ train/test lists.

Split lists are either per class (`<class>_train.txt`, `<class>_test.txt`) or global (`train.txt`,
`test.txt`); each line names an image in JPEGImages/. The class is the file name without its trailing `_NNN`.
Each image is a 1-frame video for the rest of actionlab; groups are None.
"""

from __future__ import annotations

import re
from pathlib import Path

from actionlab.data._files import FileChecker, inside_root, read_lines, require_dir
from actionlab.data.dataset import Dataset, Problem, Sample
from actionlab.errors import DatasetError

_CLASS = re.compile(r"^(.+)_\d+$")


def _lists(splits: Path, which: str) -> list[Path]:
    per_class = sorted(p for p in splits.glob(f"*_{which}.txt"))
    if per_class:
        return per_class
    whole = splits / f"{which}.txt"
    return [whole] if whole.is_file() else []


def _entries(files: list[Path], problems: list[Problem]) -> list[tuple[Path, int, str, str]]:
    """(list file, line, image name, class) for every well-formed line."""
    out = []
    for f in files:
        for n, line in read_lines(f):
            name = line.split()[0]
            match = _CLASS.match(Path(name).stem)
            if match is None:
                problems.append(Problem(str(f), n, f"cannot tell the class of {name!r} (expected CLASS_NNN.jpg)"))
                continue
            out.append((f, n, name, match.group(1)))
    return out


def load_images(root: Path) -> Dataset:
    """Load a Stanford40-style image dataset rooted at `root`."""
    root = require_dir(root, "image dataset")
    images = require_dir(root / "JPEGImages", "JPEGImages")
    splits = require_dir(root / "ImageSplits", "ImageSplits")
    problems: list[Problem] = []
    train_files, test_files = _lists(splits, "train"), _lists(splits, "test")
    if not train_files and not test_files:
        raise DatasetError(splits, "no train/test lists (expected CLASS_train.txt or train.txt)")
    entries = {"train": _entries(train_files, problems), "test": _entries(test_files, problems)}
    classes = sorted({e[3] for es in entries.values() for e in es})
    index = {c: i for i, c in enumerate(classes)}
    checker = FileChecker(problems)
    out: dict[str, list[Sample]] = {"train": [], "test": []}
    for which, es in entries.items():
        for f, n, name, cls in es:
            rel = inside_root(images, name, f, n, problems)
            if rel is not None and checker.ok(images / rel, f, n, split=which, label=cls):
                out[which].append(Sample(images / rel, index[cls]))
    return Dataset("images", classes, checker.keep(out["train"]), checker.keep(out["test"]), problems=problems)
