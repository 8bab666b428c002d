"""DataLoader worker processes: how many, how they start, at what priority, how their batches arrive.

Workers start from a fork server (Python 3.14's default on Linux), not by forking the training process. A worker
forked from the trainer shares its memory copy-on-write, so every heap page the training steps write afterwards is
copied first: the first step of a fit took 1-2 s, and a worker cost 10-12 CPU-ms per 16x112² clip instead of
7.7-8.4 (docs/SCALING.md; `benchmarks/train_data.py --start fork`). The server is a small process that imported
actionlab's readers once. It starts in the background as soon as a run knows it will use workers, and the workers
get the trainer's environment as it is when the loader starts.

As with spawn (macOS, Windows), a script that calls the API must keep its calls under
`if __name__ == "__main__":`, since the workers import the script's module. ACTIONLAB_WORKER_START=fork
restores forking. Batches come back through reusable shared-memory slots (training.batch_slots).
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch.utils.data import DataLoader

from actionlab.errors import ActionlabError, ConfigError
from actionlab.methods import PRESETS
from actionlab.training.batch_slots import SlotCollate

START_METHODS = ("forkserver", "fork", "spawn")
# what unpickling a loader's dataset imports (VideoItems, every preset's reader, PyAV, OpenCV): once, in the
# server, instead of ~0.3 s of CPU in every worker
PRELOAD = ["torch", "actionlab.methods.inputs"] + [f"actionlab.methods.{p}" for p in PRESETS]


def start_method() -> str:
    """$ACTIONLAB_WORKER_START if set (forkserver|fork|spawn), else forkserver where the platform has it."""
    value = os.environ.get("ACTIONLAB_WORKER_START", "").strip()
    if value:
        if value not in START_METHODS:
            raise ConfigError(None, f"ACTIONLAB_WORKER_START must be one of {', '.join(START_METHODS)}, not {value!r}")
        if value not in multiprocessing.get_all_start_methods():
            raise ConfigError(None, f"ACTIONLAB_WORKER_START={value} is not available on this platform")
        return value
    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


def worker_context() -> Any:
    """The multiprocessing context DataLoader workers start from (the fork server already asked to start)."""
    method = start_method()
    context = multiprocessing.get_context(method)
    if method == "forkserver":
        refuse_in_bootstrap()
        multiprocessing.set_forkserver_preload(PRELOAD)  # in place of ["__main__"]: the server never runs a script
        from multiprocessing import forkserver

        # returns at once: the server imports PRELOAD while this process goes on (probing, building the model)
        forkserver.ensure_running()
    return context


def start_workers_early(workers: int) -> None:
    """Start the fork server now when a run will use `workers` > 0 DataLoader workers."""
    if workers > 0:
        worker_context()


def refuse_in_bootstrap() -> None:
    """A worker that imports an unguarded script would run the whole script again: say so in one line, exit."""
    if getattr(multiprocessing.current_process(), "_inheriting", False):
        # the script being re-run is __mp_main__ (multiprocessing.spawn), this process's own __main__ is not it
        module = sys.modules.get("__mp_main__") or sys.modules.get("__main__")
        main = getattr(module, "__file__", None) or "the main script"
        print(
            f"actionlab: {main} starts a run when it is imported: put its calls under "
            f'`if __name__ == "__main__":` (DataLoader workers import it), or set ACTIONLAB_WORKER_START=fork',
            file=sys.stderr,
            flush=True,
        )
        raise SystemExit(1)


@dataclass(frozen=True)
class WorkerSetup:
    """Run in each worker before its first item: the trainer's environment as it is now (the fork server's is
    that of its start: ACTIONLAB_CACHE and the like may have changed since), SCHED_IDLE priority if `idle`."""

    environ: dict[str, str]
    idle: bool

    def __call__(self, _: int) -> None:
        """Apply to this worker."""
        os.environ.clear()
        os.environ.update(self.environ)
        if self.idle:
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))


def worker_init(device: torch.device) -> WorkerSetup:
    """The setup of a loader's workers. Those of a CPU run decode at SCHED_IDLE priority (Linux), on the cycles
    the network's threads leave: a worker preempting one of torch's OpenMP threads holds up every other thread at
    the region's barrier (streaming clip3d training at 0.85 of preloaded tensors instead of 0.82 in 5 paired runs,
    benchmarks/train_data.py). On CUDA the network leaves the CPU to the workers, which keep normal priority."""
    return WorkerSetup(dict(os.environ), device.type == "cpu" and hasattr(os, "SCHED_IDLE"))


def loader_workers(requested: int, local_size: int = 1) -> int:
    """DataLoader workers per process: as asked, at most this machine's cores shared by its `local_size` ranks."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return min(requested, max(1, cores // local_size)) if requested else 0


def loader_options(
    requested: int,
    device: torch.device,
    collate_fn: Callable[[list], Any] | None = None,
    local_size: int = 1,
    prefetch_factor: int = 2,
) -> dict[str, Any]:
    """DataLoader keyword arguments of a streaming loader: workers, how they start, their priority, pinning, the
    batches each prefetches, and the collate function (run with batch slots in the workers)."""
    workers = loader_workers(requested, local_size)
    options: dict[str, Any] = {"num_workers": workers, "pin_memory": device.type == "cuda", "collate_fn": collate_fn}
    if workers:
        options |= {
            "multiprocessing_context": worker_context(),
            "worker_init_fn": worker_init(device),
            "prefetch_factor": prefetch_factor,
        }
        if collate_fn is not None:
            options["collate_fn"] = SlotCollate(collate_fn, workers, prefetch_factor)
    return options


def batches(loader: DataLoader) -> Iterator[Any]:
    """The loader's batches, each valid until the next is asked for (its batch slot is then released). A worker
    that dies (killed, say for memory, or stopped with its own message) ends the run with one line instead of
    DataLoader's traceback."""
    release = getattr(loader.collate_fn, "release", None)
    previous = None
    try:
        for batch in loader:
            if release is not None and previous is not None:
                release(previous)
            previous = batch
            yield batch
    except RuntimeError as err:
        text = str(err)
        if not text.startswith("DataLoader worker") or not ("exited unexpectedly" in text or "killed" in text):
            raise  # an error raised inside a worker's item: a bug, its traceback is wanted
        raise ActionlabError(
            None,
            f"{text.splitlines()[0]} (killed, e.g. for memory, or stopped with the message above); "
            "workers=0 reads in the training process",
        ) from None
    finally:
        if release is not None and previous is not None:
            release(previous)
