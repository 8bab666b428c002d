"""Seeded, class-stratified, group-aware splitting of a sample list (validation and folder train/test splits).

Not scikit-learn's: StratifiedGroupKFold only holds out 1/K (no 0.1 or 0.2 without K folds) and GroupShuffleSplit
is not stratified; this takes any fraction and never takes a class's last kept sample.
"""

from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np

from actionlab.data.dataset import Sample
from actionlab.errors import ConfigError


def _units(samples: list[Sample]) -> dict[str, list[int]]:
    """Indices grouped by group id; samples without a group are units on their own."""
    units: dict[str, list[int]] = defaultdict(list)
    for i, s in enumerate(samples):
        units[f"g:{s.group}" if s.group is not None else f"i:{i}"].append(i)
    return units


def stratified_split(samples: list[Sample], fraction: float, seed: int = 0) -> tuple[list[Sample], list[Sample]]:
    """Split into (keep, held_out) with ~`fraction` of each class held out; no group lands on both sides.

    Groups are taken whole, in a seeded order, when they bring the per-class held-out counts closer to their
    targets; a class never loses its last kept sample.
    """
    if not 0.0 <= fraction < 1.0:
        raise ConfigError(None, f"split fraction must be in [0, 1), got {fraction}")
    if fraction == 0.0 or not samples:
        return list(samples), []
    totals = Counter(s.label for s in samples)
    target = {c: n * fraction for c, n in totals.items()}
    units = _units(samples)
    keys = sorted(units)
    order = np.random.default_rng(seed).permutation(len(keys))
    held: Counter[int] = Counter()
    chosen: set[str] = set()
    for k in (keys[j] for j in order):
        counts = Counter(samples[i].label for i in units[k])
        if any(totals[c] - held[c] - n < 1 for c, n in counts.items()):
            continue
        gain = sum(abs(target[c] - held[c]) - abs(target[c] - held[c] - n) for c, n in counts.items())
        if gain > 0:
            chosen.add(k)
            held.update(counts)
    out = {i for k in chosen for i in units[k]}
    keep = [s for i, s in enumerate(samples) if i not in out]
    return keep, [s for i, s in enumerate(samples) if i in out]
