"""The dataset index: samples, problems found in annotation files, and joint datasets."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from actionlab.errors import DatasetError


@dataclass(frozen=True)
class Sample:
    """One video (or image): its path, 0-based label, group (actor/source, or None) and dataset id."""

    path: Path
    label: int
    group: str | None = None
    dataset: int = 0


@dataclass(frozen=True)
class Problem:
    """Something wrong in an annotation file or layout: the file, the 1-based line (or None) and the reason."""

    file: str
    line: int | None
    reason: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}: {self.reason}"


@dataclass
class Dataset:
    """A dataset index: class names in label order, train/test/val sample lists and the problems found."""

    name: str
    classes: list[str]
    train: list[Sample]
    test: list[Sample]
    val: list[Sample] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    dataset_names: list[str] = field(default_factory=list)
    parts: list[Dataset] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.dataset_names:
            self.dataset_names = [self.name]

    @property
    def num_classes(self) -> int:
        """Number of classes (for a joint dataset: of all parts together)."""
        return len(self.classes)

    def splits(self) -> dict[str, list[Sample]]:
        """The non-empty splits by name, in train/val/test order."""
        return {k: v for k, v in (("train", self.train), ("val", self.val), ("test", self.test)) if v}

    def global_label(self, sample: Sample) -> int:
        """Label of a sample in the concatenated label space `classes` (identity for a single dataset)."""
        if not self.parts:
            return sample.label
        return sum(len(p.classes) for p in self.parts[: sample.dataset]) + sample.label


def check_not_empty(dataset: Dataset, source: str | Path) -> Dataset:
    """Raise DatasetError when no sample remains (the problems say why), else return the dataset."""
    if not dataset.train and not dataset.test and not dataset.val:
        first = "; ".join(str(p) for p in dataset.problems[:3])
        reason = "no usable samples" + (f" ({len(dataset.problems)} problems, first: {first})" if first else "")
        raise DatasetError(source, reason)
    return dataset


def joint_dataset(datasets: list[Dataset]) -> Dataset:
    """Combine datasets for joint training: samples keep their own labels and get `dataset` = their index."""
    if not datasets:
        raise DatasetError(None, "joint_dataset needs at least one dataset")

    def tag(samples: list[Sample], i: int) -> list[Sample]:
        return [Sample(s.path, s.label, s.group, i) for s in samples]

    names = [d.name for d in datasets]
    return Dataset(
        name="+".join(names),
        classes=[f"{d.name}:{c}" for d in datasets for c in d.classes],
        train=[s for i, d in enumerate(datasets) for s in tag(d.train, i)],
        test=[s for i, d in enumerate(datasets) for s in tag(d.test, i)],
        val=[s for i, d in enumerate(datasets) for s in tag(d.val, i)],
        problems=[p for d in datasets for p in d.problems],
        dataset_names=names,
        parts=list(datasets),
    )
