"""Where each clip goes in the folder / UCF101 / HMDB51 / Stanford40 layouts, and their annotation files."""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass
from pathlib import Path

from actionlab.synth.actions import ACTIONS
from actionlab.synth.scene import ClipSpec

LAYOUTS = ("folder", "ucf101", "hmdb51")
NUM_GROUPS = 25
UCF_TEST_GROUPS = {1: range(1, 8), 2: range(8, 15), 3: range(15, 22)}  # the official three splits
HMDB_UNUSED_GROUP = 25  # HMDB51 split files mark some clips 0 (unused); one actor plays that role here


def camel(name: str) -> str:
    """snake_case class name to UCF101-style CamelCase (walk_left -> WalkLeft)."""
    return "".join(part.capitalize() for part in name.split("_"))


def group_of(index: int) -> tuple[int, int]:
    """(group, clip-within-group) of the index-th clip of a class; 7 is coprime to 25, so even a handful of
    clips per class spans test (g01-g07) and train actors."""
    return (index * 7) % NUM_GROUPS + 1, index // NUM_GROUPS + 1


@dataclass(frozen=True)
class Entry:
    """One clip (or still) of a generated set: its spec, its path relative to OUT and its split."""

    spec: ClipSpec
    rel: str
    split: str

    @property
    def group(self) -> str:
        """UCF-style group name, g01..g25."""
        return f"g{self.spec.group:02d}"


def entry(spec: ClipSpec, layout: str, ext: str, images: bool) -> Entry:
    """Place one clip in the layout."""
    name, g, c = spec.action, spec.group, spec.index // NUM_GROUPS + 1
    split = "test" if g in UCF_TEST_GROUPS[1] else "train"
    if images:
        return Entry(spec, f"JPEGImages/{name}_{spec.index + 1:03d}.jpg", split)
    if layout == "ucf101":
        return Entry(spec, f"UCF-101/{camel(name)}/v_{camel(name)}_g{g:02d}_c{c:02d}.{ext}", split)
    if layout == "hmdb51":
        return Entry(spec, f"hmdb51/{name}/{name}_g{g:02d}_c{c:02d}.{ext}", split)
    return Entry(spec, f"{split}/{name}/{name}_g{g:02d}_c{c:02d}.{ext}", split)


def _write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.part{os.getpid()}")
    with open(tmp, "w", newline="") as fh:
        fh.write(text)
    os.replace(tmp, path)


def write_ucf_lists(out: Path, entries: list[Entry]) -> None:
    """classInd.txt and train/testlist01-03.txt in the official formats (CRLF, as the real files)."""
    ann = out / "ucfTrainTestlist"
    _write_text(ann / "classInd.txt", "".join(f"{i + 1} {camel(a)}\r\n" for i, a in enumerate(ACTIONS)))
    for k, test_groups in UCF_TEST_GROUPS.items():
        train = [e for e in entries if e.spec.group not in test_groups]
        test = [e for e in entries if e.spec.group in test_groups]
        strip = lambda e: e.rel.removeprefix("UCF-101/")
        _write_text(ann / f"trainlist0{k}.txt", "".join(f"{strip(e)} {e.spec.label + 1}\r\n" for e in train))
        _write_text(ann / f"testlist0{k}.txt", "".join(f"{strip(e)}\r\n" for e in test))


def write_hmdb_splits(out: Path, entries: list[Entry]) -> None:
    """<class>_test_split{1,2,3}.txt with `name id ` lines (1 train, 2 test, 0 unused; trailing space as real)."""
    ann = out / "testTrainMulti_7030_splits"
    for k, test_groups in UCF_TEST_GROUPS.items():
        for label, action in enumerate(ACTIONS):
            lines = []
            for e in (e for e in entries if e.spec.label == label):
                g = e.spec.group
                mark = 0 if g == HMDB_UNUSED_GROUP else 2 if g in test_groups else 1
                lines.append(f"{Path(e.rel).name} {mark} \n")
            _write_text(ann / f"{action}_test_split{k}.txt", "".join(lines))


def write_image_splits(out: Path, entries: list[Entry]) -> None:
    """Stanford40 ImageSplits: actions.txt, <action>_train/test.txt, train.txt, test.txt."""
    ann = out / "ImageSplits"
    counts = "".join(f"{a}\t{sum(e.spec.label == i for e in entries)}\n" for i, a in enumerate(ACTIONS))
    _write_text(ann / "actions.txt", "action_name\tnumber_of_images\n" + counts)
    for split in ("train", "test"):
        chosen = [e for e in entries if e.split == split]
        _write_text(ann / f"{split}.txt", "".join(f"{Path(e.rel).name}\n" for e in chosen))
        for i, a in enumerate(ACTIONS):
            names = [Path(e.rel).name for e in chosen if e.spec.label == i]
            _write_text(ann / f"{a}_{split}.txt", "".join(f"{n}\n" for n in names))


def write_manifest(out: Path, entries: list[Entry], num_frames: list[int]) -> None:
    """manifest.csv: path,label,class,split,group,num_frames (paths relative to OUT)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["path", "label", "class", "split", "group", "num_frames"])
    for e, n in zip(entries, num_frames):
        writer.writerow([e.rel, e.spec.label, e.spec.action, e.split, e.group, n])
    _write_text(out / "manifest.csv", buf.getvalue())
