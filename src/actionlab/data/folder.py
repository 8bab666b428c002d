"""Folder-of-class-folders adapter (optional train/ and test/ subfolders) and the `path label` list adapter.

Without a test/ subfolder (classes directly in ROOT, or only ROOT/train/) the samples are split with a
seeded, class-stratified, group-aware split (`test_fraction`). A `manifest.csv` in ROOT with `path` and
`group` columns (as actionlab.synth writes) gives the groups.
"""

from __future__ import annotations

import csv
from pathlib import Path

from actionlab.data._files import FileChecker, class_dirs, media_files, read_lines, require_dir
from actionlab.data.dataset import Dataset, Problem, Sample
from actionlab.data.split import stratified_split
from actionlab.errors import DatasetError


def _manifest_groups(root: Path) -> dict[str, str]:
    """File name -> group from root/manifest.csv (empty when there is none or it has no group column)."""
    path = root / "manifest.csv"
    if not path.is_file():
        return {}
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        key = next((k for k in ("path", "file", "filename") if k in (reader.fieldnames or [])), None)
        if key is None or "group" not in (reader.fieldnames or []):
            return {}
        return {Path(row[key]).name: row["group"] for row in reader if row.get(key) and row.get("group")}


def _scan(folder: Path, classes: list[str], groups: dict[str, str], problems: list[Problem]) -> list[Sample]:
    samples = []
    for label, cls in enumerate(classes):
        if not (folder / cls).is_dir():
            continue
        files = media_files(folder / cls)
        if not files:
            problems.append(Problem(str(folder / cls), None, "class folder has no videos or images"))
        samples += [Sample(p, label, groups.get(p.name)) for p in files]
    return samples


def load_folder(root: Path, *, test_fraction: float = 0.25, seed: int = 0) -> Dataset:
    """Load class subfolders of `root` (or of root/train and root/test) holding videos or images."""
    root = require_dir(root, "dataset")
    groups = _manifest_groups(root)
    problems: list[Problem] = []
    if (root / "train").is_dir():
        subs = [sub for sub in ("train", "test") if (root / sub).is_dir()]
        classes = sorted({d.name for sub in subs for d in class_dirs(root / sub)})
        train = _scan(root / "train", classes, groups, problems)
        test = _scan(root / "test", classes, groups, problems) if "test" in subs else []
        if "test" not in subs:
            train, test = stratified_split(train, test_fraction, seed)
    else:
        classes = [d.name for d in class_dirs(root)]
        train, test = stratified_split(_scan(root, classes, groups, problems), test_fraction, seed)
    if not classes:
        raise DatasetError(root, "no class subfolders found")
    return Dataset("folder", classes, train, test, problems=problems)


def _rows(path: Path, problems: list[Problem]) -> list[tuple[int, str, str, str | None, str | None]]:
    """(line, path, label, group, split) from a CSV with a header or from whitespace-separated lines."""
    lines = read_lines(path)
    if lines and lines[0][1].lower().replace(" ", "").startswith("path,"):
        header = [h.strip().lower() for h in lines[0][1].split(",")]
        if "label" not in header:
            raise DatasetError(path, "CSV header needs 'path' and 'label' columns")
        rows = []
        for n, text in lines[1:]:
            cells = dict(zip(header, (c.strip() for c in next(csv.reader([text])))))
            if not cells.get("path") or not cells.get("label"):
                problems.append(Problem(str(path), n, f"malformed line {text!r}, expected path,label"))
                continue
            rows.append((n, cells["path"], cells["label"], cells.get("group") or None, cells.get("split") or None))
        return rows
    rows = []
    for n, text in lines:
        parts = text.rsplit(maxsplit=1)
        if len(parts) != 2:
            problems.append(Problem(str(path), n, f"malformed line {text!r}, expected 'PATH LABEL'"))
            continue
        rows.append((n, parts[0], parts[1], None, None))
    return rows


def _label_space(labels: list[str]) -> tuple[list[str], dict[str, int]]:
    if labels and all(x.isdigit() for x in labels):
        top = max(int(x) for x in labels)
        return [str(i) for i in range(top + 1)], {str(i): i for i in range(top + 1)} | {x: int(x) for x in labels}
    classes = sorted(set(labels))
    return classes, {c: i for i, c in enumerate(classes)}


def load_list(file: Path, *, test_fraction: float = 0.25, seed: int = 0) -> Dataset:
    """Load a `path label` text file or a `path,label[,group][,split]` CSV; relative paths use the file's folder.

    Integer labels are used as 0-based labels (class names "0".."N-1"); names are sorted into the label order.
    Without a `split` column (train/test/val) the samples are split like a folder dataset.
    """
    file = Path(file).expanduser()
    problems: list[Problem] = []
    rows = _rows(file, problems)
    classes, index = _label_space([r[2] for r in rows])
    checker = FileChecker(problems)
    by_split: dict[str, list[Sample]] = {"train": [], "test": [], "val": [], "": []}
    for n, rel, label, group, split in rows:
        target = (split or "").lower()
        if target not in by_split:
            problems.append(Problem(str(file), n, f"unknown split {split!r} (use train, test or val)"))
            continue
        video = (file.parent / rel).resolve() if not Path(rel).is_absolute() else Path(rel)
        if checker.ok(video, file, n, split=target or None, label=label):
            by_split[target].append(Sample(video, index[label], group))
    by_split = {k: checker.keep(v) for k, v in by_split.items()}
    train, test = by_split["train"], by_split["test"]
    if by_split[""]:
        keep, held = stratified_split(by_split[""], test_fraction, seed)
        train, test = train + keep, test + held
    return Dataset("list", classes, train, test, val=by_split["val"], problems=problems)
