"""Training under torchrun: the process group, batches sharded across ranks, results gathered, rank-0 writes.

torchrun (torch.distributed.run) sets RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE and the rendezvous address;
`setup()` joins that group once (gloo on CPU, NCCL on CUDA). Without those variables every helper here is the
one-process identity, so the trainer and the pipeline have one code path. torch's DistributedSampler is not used:
it pads the last shard with repeated samples (evaluation must see every test video exactly once) and shards a
permutation, not the one-process run's batches (the global batch and its shuffle must stay those of one process).
"""

from __future__ import annotations

import atexit
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, nullcontext, suppress
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import Sampler

T = TypeVar("T")


@dataclass(frozen=True)
class World:
    """This process's place among the training processes (rank 0 of 1 without torchrun)."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0
    local_size: int = 1

    @property
    def main(self) -> bool:
        """Rank 0: the one process that writes the run folder and prints."""
        return self.rank == 0

    @property
    def active(self) -> bool:
        """More than one process trains together."""
        return self.size > 1


def launched() -> bool:
    """Whether torchrun started this process as one of several."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def world() -> World:
    """The current World: from the joined process group, else one process."""
    if not (dist.is_available() and dist.is_initialized()):
        return World()
    return World(
        dist.get_rank(),
        dist.get_world_size(),
        int(os.environ.get("LOCAL_RANK", "0")),
        int(os.environ.get("LOCAL_WORLD_SIZE", str(dist.get_world_size()))),
    )


def setup(device: str = "auto") -> World:
    """Join the process group torchrun describes (once): NCCL with cuda:LOCAL_RANK as this process's device when
    CUDA is used, else gloo. A no-op without torchrun."""
    if not launched() or dist.is_initialized():
        return world()
    cuda = device != "cpu" and torch.cuda.is_available()
    if cuda:
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))  # "cuda" now means this rank's GPU
    dist.init_process_group("nccl" if cuda else "gloo")
    w = world()
    if not w.main:  # one copy of every result line: only rank 0 prints to stdout (errors still reach stderr)
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 (open for the life of the process)
    return w


def teardown(clean: bool) -> None:
    """Leave the process group (a no-op without one). After a `clean` run every rank first waits for the
    others, so none leaves while another is still in a collective; after an error it leaves at once (torchrun
    stops the others)."""
    if not (dist.is_available() and dist.is_initialized()):
        return
    if clean and world().active:
        dist.barrier()
    dist.destroy_process_group()


def exit_process(code: int) -> None:
    """End a torchrun process without interpreter finalisation: atexit handlers run and the streams are
    flushed, then os._exit.

    destroy_process_group does not stop gloo's worker threads while DistributedDataParallel still holds the
    group (torch keeps references past the wrapper's life), and such a thread freeing a finished collective's
    tensors needs the GIL: during finalisation that aborts the process ("terminate called without an active
    exception", SIGABRT; seen in CI on one rank in ~20 runs)."""
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with suppress(OSError, ValueError):  # a closed pipe or stream: nothing more can reach it
            stream.flush()
    os._exit(code)


def launch_local(nproc: int, argv: list[str]) -> int:
    """Run `python -m actionlab ARGV` as `nproc` processes of one group on this machine (torchrun --standalone,
    which picks a free port); the exit status of the first failed process, else 0."""
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import main as torchrun

    # torchrun otherwise warns that it sets OMP_NUM_THREADS=1; this machine's cores are shared by the processes
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, cores // nproc)))
    try:
        torchrun(["--standalone", "--nproc-per-node", str(nproc), "-m", "actionlab", *argv])
    except ChildFailedError as err:
        codes = [f.exitcode for f in err.failures.values() if f.exitcode and f.exitcode > 0]
        print(f"{len(err.failures)} of {nproc} training processes failed (their messages are above)", file=sys.stderr)
        return codes[0] if codes else 1
    return 0


def barrier() -> None:
    """Wait for every rank (no-op in one process)."""
    if world().active:
        dist.barrier()


def share(fn: Callable[[], T]) -> T:
    """fn() computed on rank 0 and sent to every rank, so all ranks act on the same value (e.g. the list of
    readable files: a flaky file must not give two ranks different sample lists)."""
    w = world()
    if not w.active:
        return fn()
    box: list[T | None] = [fn() if w.main else None]
    dist.broadcast_object_list(box, src=0)
    return cast(T, box[0])  # rank 0's value, on every rank


def gather(value: T) -> list[T]:
    """Every rank's `value`, in rank order, on every rank ([value] in one process)."""
    w = world()
    if not w.active:
        return [value]
    out: list[Any] = [None] * w.size
    dist.all_gather_object(out, value)
    return out


def all_sum(values: list[float], device: torch.device) -> list[float]:
    """Element-wise sum over ranks (float64, so counts stay exact)."""
    if not world().active:
        return list(values)
    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return t.tolist()


def all_min(value: int, device: torch.device) -> int:
    """The smallest `value` of all ranks."""
    if not world().active:
        return value
    t = torch.tensor([value], dtype=torch.int64, device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MIN)
    return int(t.item())


def main_only(cm: Any) -> Any:
    """`cm` on rank 0, a do-nothing context elsewhere (e.g. the run folder's lock: only rank 0 writes)."""
    return cm if world().main else nullcontext()


@contextmanager
def main_first() -> Iterator[None]:
    """Rank 0 runs the block, then the other ranks (after a barrier)."""
    w = world()
    if w.active and not w.main:
        dist.barrier()
    yield
    if w.active and w.main:
        dist.barrier()


def broadcast_state(model: nn.Module) -> None:
    """Every rank gets rank 0's weights (the best epoch, which only rank 0 kept on disk)."""
    w = world()
    if not w.active:
        return
    state = share(lambda: {k: v.detach().cpu() for k, v in model.state_dict().items()})
    if not w.main:
        model.load_state_dict(state)


def shard(indices: list[int], w: World) -> list[int]:
    """This rank's part of `indices` (strided: sizes differ by at most one, nothing repeated)."""
    return indices[w.rank :: w.size]


class EpochBatches(Sampler[list[int]]):
    """The one-process batches of an epoch, each split across the ranks (rank r takes batch[r::size]).

    Shuffled from (seed, epoch) exactly as in one process, so the global batch and its order do not depend on
    the number of processes. In training a batch smaller than the number of ranks is dropped (every rank must
    take part in each step); `shuffle=False` shards every index once (evaluation).
    """

    def __init__(
        self, n: int, batch_size: int, shuffle: bool, seed: int, w: World, inner: Iterable[list[int]] | None = None
    ) -> None:
        self.n, self.batch_size, self.shuffle, self.seed, self.w, self.inner = n, batch_size, shuffle, seed, w, inner
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """The epoch whose shuffle the next iteration draws."""
        self.epoch = epoch

    def global_batches(self) -> list[list[int]]:
        """The batches of one process: the dataset's own (joint training) or a seeded permutation cut into
        batch_size pieces (the last, partial one dropped in training unless it is the only one)."""
        if self.inner is not None:
            return [list(b) for b in self.inner]
        if not self.shuffle:
            return [list(range(k, min(k + self.batch_size, self.n))) for k in range(0, self.n, self.batch_size)]
        g = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        order = torch.randperm(self.n, generator=g).tolist()
        batches = [order[k : k + self.batch_size] for k in range(0, self.n, self.batch_size)]
        if self.n > self.batch_size and len(batches[-1]) < self.batch_size:
            batches.pop()
        return batches

    def __iter__(self) -> Iterator[list[int]]:
        for batch in self.global_batches():
            if self.shuffle and len(batch) < self.w.size:
                continue
            part = shard(batch, self.w)
            if part:
                yield part

    def __len__(self) -> int:
        return sum(1 for _ in iter(self))
