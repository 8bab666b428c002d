"""Batch slots: shared-memory buffers that a DataLoader worker fills with one batch after another.

By default each batch a worker sends is a new shared-memory file. The kernel allocates and zeroes its pages, the
trainer maps them, and the last unmapping frees them again. For a clip3d batch (8 x 3 x 16 x 112², 19 MB) that
cost 16 ms of worker CPU and ~9 ms of the trainer's per batch here, a third of what a worker spends on a clip
(benchmarks/batch_transport.py). Instead, a worker keeps a few slots of shared buffers and refills one that the
trainer has released. `workers.batches()` releases a batch's slot when its consumer asks for the next batch, so a
batch stays valid until then. A consumer that iterates the loader itself never releases anything: the worker
then allocates as torch does, and a batch that is still held is never overwritten.

The trainer keeps its mapping of each slot's buffers after releasing them. torch finds a storage that is still
mapped in its cache of shared storages when the same buffer comes back, so a refilled slot costs no new mmap and
no page faults (clip3d: ~300 faults and ~1.5 ms of the trainer's CPU per batch).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch
from torch.utils.data import get_worker_info

# slots per worker beyond the loader's prefetch_factor (its batches in flight): the one being trained on, and the
# one whose release is on its way
SPARE_SLOTS = 2


class Slotted(tuple):
    """A batch (the collate function's tuple) written into slot `slot` of worker `worker`."""

    worker: int
    slot: int

    def __new__(cls, batch: tuple, worker: int, slot: int) -> Slotted:
        """The batch's items as this tuple, with where they live."""
        out = super().__new__(cls, batch)
        out.worker, out.slot = worker, slot
        return out

    def __reduce__(self) -> tuple:
        return Slotted, (tuple(self), self.worker, self.slot)

    def pin_memory(self) -> Slotted:
        """Pinned copies (CUDA runs), still naming the slot: it is released after use all the same."""
        return Slotted(tuple(_pin(x) for x in self), self.worker, self.slot)


def _pin(x: Any) -> Any:
    if isinstance(x, torch.Tensor):
        return x.pin_memory()
    if isinstance(x, (tuple, list)):
        return type(x)(_pin(v) for v in x)
    return x


class _Filling:
    """The buffers of the slot being filled, handed out in the order the collate function asks for them."""

    def __init__(self, buffers: list[torch.Tensor]) -> None:
        self.buffers, self.next = buffers, 0

    def take(self, like: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
        i, self.next = self.next, self.next + 1
        if i < len(self.buffers) and self.buffers[i].shape == shape and self.buffers[i].dtype == like.dtype:
            return self.buffers[i]
        buffer = _fresh(like, shape)  # first use, or another shape (an epoch's last, shorter batch)
        if i < len(self.buffers):
            self.buffers[i] = buffer
        else:
            self.buffers.append(buffer)
        return buffer


_FILLING: _Filling | None = None  # a worker runs one collate at a time


def _fresh(like: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    storage = like._typed_storage()._new_shared(int(np.prod(shape)), device=like.device)
    return like.new(storage).resize_(shape)


def shared_out(like: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor | None:
    """Where a collate function writes a batch tensor of `shape` (dtype of `like`): in a worker, the buffer of the
    slot being filled, else new shared memory (as torch's default_collate, which saves the copy into shared memory
    when the batch is sent); None in the training process."""
    if get_worker_info() is None:
        return None
    return _FILLING.take(like, shape) if _FILLING is not None else _fresh(like, shape)


class SlotCollate:
    """A loader's collate function, run in its `workers` workers with prefetch_factor + SPARE_SLOTS slots each."""

    def __init__(self, collate_fn: Callable[[list], Any], workers: int, prefetch_factor: int = 2) -> None:
        self.collate_fn = collate_fn
        # 0: free, 1: sent and not yet released; made here, shared with the workers through pickling
        self.state = torch.zeros(workers, prefetch_factor + SPARE_SLOTS, dtype=torch.int32).share_memory_()
        self._buffers: list[list[torch.Tensor]] | None = None  # this worker's own slots
        # the trainer's: the shared tensors of each slot's last released batch, kept mapped for the next refill
        self._mapped: dict[tuple[int, int], list[torch.Tensor]] = {}

    def __getstate__(self) -> dict[str, Any]:
        return dict(self.__dict__, _buffers=None, _mapped={})

    def __call__(self, items: list) -> Any:
        """Collate into a released slot when there is one; else as the collate function alone does."""
        global _FILLING
        info = get_worker_info()
        if info is None:
            return self.collate_fn(items)
        free = np.flatnonzero(self.state[info.id].numpy() == 0)
        if not len(free):
            return self.collate_fn(items)
        if self._buffers is None:
            self._buffers = [[] for _ in range(self.state.shape[1])]
        slot = int(free[0])
        _FILLING = _Filling(self._buffers[slot])
        try:
            batch = self.collate_fn(items)
        finally:
            _FILLING = None
        self.state[info.id, slot] = 1
        # a batch that is not a tuple cannot carry its slot back: the slot stays taken, its buffers never reused
        return Slotted(batch, info.id, slot) if isinstance(batch, tuple) else batch

    def release(self, batch: Any) -> None:
        """The consumer is done with `batch`: its worker may write its slot again."""
        if isinstance(batch, Slotted):
            # pinned copies (CUDA) are not the slot's memory: keeping them would only hold pinned memory
            self._mapped[batch.worker, batch.slot] = [x for x in _tensors(batch) if x.is_shared()]
            self.state[batch.worker, batch.slot] = 0


def _tensors(x: Any) -> Iterator[torch.Tensor]:
    if isinstance(x, torch.Tensor):
        yield x
    elif isinstance(x, (tuple, list)):
        for v in x:
            yield from _tensors(v)
