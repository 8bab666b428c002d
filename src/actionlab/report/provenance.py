"""Where a compare's numbers came from: command, date, versions, hardware, seed; the dataset's split and counts."""

from __future__ import annotations

import datetime as _dt
import os
import platform
import shlex
from collections.abc import Sequence
from typing import Any


def _cpu() -> str:
    name = platform.processor() or platform.machine()
    try:  # /proc/cpuinfo names the model on Linux, where platform.processor() is often empty
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            name = next((line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), name)
    except OSError:
        pass
    return f"{name} ({os.cpu_count()} cores visible)"


def _gpu() -> str:
    import torch

    if not torch.cuda.is_available():
        return "none (CUDA not available)"
    return ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))


def provenance(command: Sequence[str] | None, seed: int) -> dict[str, Any]:
    """{command, date, actionlab, torch, python, platform, cpu, gpu, seed} of this process."""
    import torch

    import actionlab

    return {
        "command": shlex.join(["actionlab", *command]) if command is not None else "(Python API: compare())",
        "date": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "actionlab": getattr(actionlab, "__version__", "unknown"),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": _cpu(),
        "gpu": _gpu(),
        "seed": seed,
    }


def class_counts(dataset: Any) -> dict[str, dict[str, int]]:
    """{class: {train, val, test}} video counts of the dataset's splits (val: its own split, before any
    val_fraction a method holds out of train)."""
    classes = list(dataset.classes)
    counts = {c: {"train": 0, "val": 0, "test": 0} for c in classes}
    for split in ("train", "val", "test"):
        for sample in getattr(dataset, split, None) or []:
            if 0 <= sample.label < len(classes):
                counts[classes[sample.label]][split] += 1
    return counts


def examples(dataset: Any) -> dict[str, str]:
    """{class: path of its first training video} (test when a class has none), for the contact sheet."""
    classes, out = list(dataset.classes), dict[str, str]()
    for split in ("train", "test"):
        for sample in getattr(dataset, split, None) or []:
            if 0 <= sample.label < len(classes):
                out.setdefault(classes[sample.label], str(sample.path))
    return {c: out[c] for c in classes if c in out}


def split_definition(record: Any, dataset: Any) -> str:
    """One line saying how train/val/test were drawn."""
    specs = ", ".join(getattr(record, "specs", []) or [getattr(dataset, "name", "dataset")])
    parts = [f"dataset {specs}"]
    if getattr(record, "annotations", None):
        parts.append(f"annotations {', '.join(record.annotations)} (split {record.split})")
    else:
        parts.append(f"the spec's own train/test split, or a stratified one drawn with seed {record.seed}")
    parts.append(
        "validation: the dataset's own val split"
        if getattr(dataset, "val", None)
        else "validation: held out of train per method (its val_fraction, or 10% when early stopping needs it;"
        " see each method's num_val)"
    )
    return "; ".join(parts)
