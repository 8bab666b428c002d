"""Batch slots vs a new shared-memory file per batch: the CPU that moving clip3d batches from workers costs.

    .venv/bin/python benchmarks/batch_transport.py [--batches 64] [--rounds 3]

Two DataLoader workers send batches of 8 clips of 3 x 16 x 112² (19 MB, float32), made by collate_views from
items that cost nothing to make, to a trainer that only sums each batch. With `workers.batches()` the trainer
releases each batch's slot when it asks for the next one, and the workers refill their slots. Iterating the loader
directly releases nothing, so after the first slots every batch is new shared memory, as with torch's
default_collate. A third way uses the slots but has the trainer drop its mapping of a slot when it releases it
(as before 2026-12-02's fourth session), so each refill is mapped and faulted in again. The script prints the CPU
time per batch of the workers and of the trainer for each way, in rotating rounds, and their ratios.
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
from actionlab.training.batch_slots import SlotCollate
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


class Remapped(SlotCollate):
    """Batch slots whose trainer side forgets each slot's mapping on release."""

    def release(self, batch) -> None:
        super().release(batch)
        self._mapped.clear()


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
    loaders = {}
    for way in ("kept", "remapped", "new"):
        options = loader_options(2, torch.device("cpu"), collate_views)
        if way == "remapped":
            options["collate_fn"] = Remapped(collate_views, 2)
        loaders[way] = DataLoader(Clips(8 * args.batches), batch_size=8, persistent_workers=True, **options)
        one_round(loaders[way], way != "new")  # not counted: the workers start and import
    got: dict[str, list[tuple[float, float]]] = {way: [] for way in loaders}
    ways = list(loaders)
    for r in range(args.rounds):
        for way in ways[r % 3 :] + ways[: r % 3]:
            got[way].append(one_round(loaders[way], way != "new"))
    (wk, mk), (wr, mr), (wn, mn) = (np.median(np.array(got[way]), axis=0) for way in ways)
    print(
        f"CPU per 19 MB batch: workers {wk:.1f} ms with batch slots vs {wn:.1f} ms with new shared memory "
        f"(ratio {wk / wn:.2f}); trainer {mk:.1f} vs {mn:.1f} ms (ratio {mk / mn:.2f}, a sum over the batch "
        "included in both)"
    )
    print(
        f"trainer keeping its mapping of each slot: {mk:.1f} ms vs {mr:.1f} ms mapping each refill again "
        f"(ratio {mk / mr:.2f}); workers {wk:.1f} vs {wr:.1f} ms"
    )


if __name__ == "__main__":
    main()
