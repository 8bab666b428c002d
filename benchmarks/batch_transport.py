"""Batch slots vs a new shared-memory file per batch: the CPU that moving clip3d batches from workers costs.

    .venv/bin/python benchmarks/batch_transport.py [--batches 64] [--rounds 3]

Two DataLoader workers send batches of 8 clips of 3 x 16 x 112² (19 MB, float32), made by collate_views from
items that cost nothing to make, to a trainer that only sums each batch. With `workers.batches()` the trainer
releases each batch's slot when it asks for the next one, and the workers refill their slots. Iterating the loader
directly releases nothing, so after the first slots every batch is new shared memory, as with torch's
default_collate. The script prints the CPU time per batch of the workers and of the trainer for both ways, in
alternating rounds, and their ratios.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from actionlab.methods.inputs import collate_views
from actionlab.training.workers import batches, loader_options


class Clips(Dataset):
    """`n` items, each the same (1, 3, 16, 112, 112) clip: the cost measured is the transport alone."""

    def __init__(self, n: int) -> None:
        self.n, self.x = n, torch.ones(1, 3, 16, 112, 112)

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int):
        return self.x, 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def one_round(loader: DataLoader, slots: bool) -> tuple[float, float]:
    """(workers' CPU ms, trainer's CPU ms) per batch of one pass over `loader`."""
    it = iter(loader)
    pids = [w.pid for w in it._workers]  # type: ignore[attr-defined]
    before, main, count = sum(map(cpu_seconds, pids)), time.process_time(), 0

    class Started:  # batches() takes a loader: hand it the iterator already started
        collate_fn = loader.collate_fn

        def __iter__(self):
            return it

    held = []
    for batch in batches(Started()) if slots else it:  # type: ignore[arg-type]
        batch[0].sum()
        count += 1
        if not slots and len(held) < 8:
            held.append(batch)  # released after the round only: within it, nothing is reused
    workers = (sum(map(cpu_seconds, pids)) - before) / count * 1e3
    for batch in held:
        loader.collate_fn.release(batch)
    return workers, (time.process_time() - main) / count * 1e3


def main() -> None:
    """Alternate rounds of both ways; print medians and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    options = loader_options(2, torch.device("cpu"), collate_views)
    loader = DataLoader(Clips(8 * args.batches), batch_size=8, persistent_workers=True, **options)
    one_round(loader, True)  # not counted: the workers start and import
    got: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
    for r in range(args.rounds):
        for slots in (True, False) if r % 2 == 0 else (False, True):
            got[slots].append(one_round(loader, slots))
    (w1, m1), (w0, m0) = (np.median(np.array(got[s]), axis=0) for s in (True, False))
    print(
        f"CPU per 19 MB batch: workers {w1:.1f} ms with batch slots vs {w0:.1f} ms with new shared memory "
        f"(ratio {w1 / w0:.2f}); trainer {m1:.1f} vs {m0:.1f} ms (ratio {m1 / m0:.2f}, a sum over the batch "
        "included in both)"
    )


if __name__ == "__main__":
    main()
