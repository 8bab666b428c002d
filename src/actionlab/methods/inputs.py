"""Streaming model inputs: a torch Dataset over samples that decodes each item when it is asked for.

Nothing of the dataset is held in memory: an item is read (sampler -> decode -> transform) in a DataLoader
worker, and training items draw new random temporal positions and augmentation every epoch from
(seed, epoch, index), so a run is reproducible whatever the number of workers. Every reader returns a leading
*views* axis: one clip in training, K clips / frames at test, averaged by the evaluator.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from actionlab.data.dataset import Sample
from actionlab.errors import ActionlabError
from actionlab.training.batch_slots import shared_out
from actionlab.training.progress import iterate
from actionlab.transforms.augment import Augment, to_normalised
from actionlab.video import probe, read_sampled

READ_ERRORS = (ActionlabError, OSError, ValueError, RuntimeError)
# Per-channel normalisation: torchvision's ImageNet constants (2D presets) and Kinetics constants (3D presets)
IMAGENET = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
KINETICS = ((0.43216, 0.394666, 0.37645), (0.22803, 0.22145, 0.216989))


class Reader(Protocol):
    """Reads one sample: (inputs with a leading views axis, label); rng given = training mode."""

    def __call__(self, sample: Sample, rng: np.random.Generator | None) -> tuple[Any, int]: ...


IndexFn = Callable[[int, "np.random.Generator | None"], np.ndarray]


@dataclass(frozen=True)
class FrameReader:
    """Decoded RGB frames: `indices(num_frames, rng)` gives (views, T) frame numbers, decoded at size x size.

    layout "3d" -> (V, 3, T, S, S), "2d" -> (V, T, 3, S, S), "frame" (T = 1) -> (V, 3, S, S).
    """

    indices: IndexFn
    size: int
    layout: str
    norm: tuple[tuple[float, ...], tuple[float, ...]]
    augment: Augment | None = None

    def __call__(self, sample: Sample, rng: np.random.Generator | None) -> tuple[torch.Tensor, int]:
        """Decode only the chosen frames (one open of the file), normalise, augment in training."""
        frames, idx, _ = read_sampled(
            sample.path, lambda n: self.indices(n, rng), size=(self.size, self.size), threads=1
        )
        return self.transform(frames, idx, sample.label, rng)

    def transform(
        self, frames: np.ndarray, idx: np.ndarray, label: int, rng: np.random.Generator | None = None
    ) -> tuple[torch.Tensor, int]:
        """Decoded frames (N, S, S, 3) at `idx` -> inputs (what predict --timeline feeds its windows through)."""
        v, t = idx.shape if idx.ndim == 2 else (1, idx.size)
        x = torch.from_numpy(frames).reshape(v * t, self.size, self.size, 3).permute(0, 3, 1, 2)
        # a single 3D clip is normalised into (3, T, S, S) memory: the transpose below is then free
        major = self.layout == "3d" and v == 1
        if self.augment is not None and rng is not None:
            x, label = self.augment(x, label, rng, self.norm, major)
        else:
            x = to_normalised(x, self.norm, channel_major=major)
        x = x.reshape(v, t, 3, self.size, self.size)
        if self.layout == "3d":
            x = x.transpose(1, 2)
        elif self.layout == "frame":
            x = x[:, 0]
        return x.contiguous(), label


@dataclass(frozen=True)
class JointReader:
    """Joint training: the wrapped reader's inputs plus the sample's dataset id per view (JointHeads picks the
    head from it)."""

    reader: Reader
    offsets: tuple[int, ...]  # first global label of each dataset: the wrapped reader sees global labels

    def __call__(self, sample: Sample, rng: np.random.Generator | None) -> tuple[Any, int]:
        base = self.offsets[sample.dataset]
        x, label = self.reader(Sample(sample.path, base + sample.label, sample.group, sample.dataset), rng)
        label -= base  # a flip may mirror the label, always within the sample's own dataset
        views = len(x[0] if isinstance(x, tuple) else x)
        ids = torch.full((views,), sample.dataset, dtype=torch.int64)
        return ((*x, ids) if isinstance(x, tuple) else (x, ids)), label


class AlternatingBatches(Sampler[list[int]]):
    """Batches of one dataset each, alternating between datasets (round robin until each is used up);
    shuffled per epoch from (seed, epoch) when `shuffle`."""

    def __init__(self, items: VideoItems, batch_size: int, shuffle: bool) -> None:
        self.items, self.batch_size, self.shuffle = items, batch_size, shuffle

    def _batches(self) -> list[list[list[int]]]:
        rng = np.random.default_rng([self.items.seed, self.items.epoch, 7])
        by_set: dict[int, list[int]] = {}
        for i, s in enumerate(self.items.samples):
            by_set.setdefault(s.dataset, []).append(i)
        out = []
        for d in sorted(by_set):
            idx = rng.permutation(by_set[d]).tolist() if self.shuffle else by_set[d]
            out.append([idx[k : k + self.batch_size] for k in range(0, len(idx), self.batch_size)])
        return out

    def __iter__(self):
        queues = self._batches()
        for k in range(max(len(q) for q in queues)):
            for q in queues:
                if k < len(q):
                    yield q[k]

    def __len__(self) -> int:
        return sum(len(q) for q in self._batches())


class VideoItems(Dataset):
    """Samples read on the fly by `reader`; `set_epoch` (the Trainer calls it) redraws training positions."""

    def __init__(self, samples: Sequence[Sample], reader: Reader, *, train: bool, seed: int = 0) -> None:
        self.samples, self.reader, self.train, self.seed = list(samples), reader, train, seed
        # in shared memory, so persistent DataLoader workers see the epoch the trainer sets
        self._epoch = torch.zeros(1, dtype=torch.int64).share_memory_()

    @property
    def epoch(self) -> int:
        """The epoch whose positions and augmentation are drawn."""
        return int(self._epoch[0])

    def set_epoch(self, epoch: int) -> None:
        """Training positions and augmentation of the next epoch follow (seed, epoch, index)."""
        self._epoch[0] = epoch

    def __len__(self) -> int:
        return len(self.samples)

    def batch_sampler(self, batch_size: int, shuffle: bool) -> AlternatingBatches | None:
        """Per-dataset batches when the samples come from several datasets (joint training), else None."""
        if len({s.dataset for s in self.samples}) < 2:
            return None
        return AlternatingBatches(self, batch_size, shuffle)

    def __getitem__(self, i: int) -> tuple[Any, int] | None:
        rng = np.random.default_rng([self.seed, self.epoch, i]) if self.train else None
        try:
            return self.reader(self.samples[i], rng)
        except READ_ERRORS:
            return None  # checked readable before training; a file that broke since is dropped from its batch


def _stack(parts: list[Any]) -> Any:
    if isinstance(parts[0], (tuple, list)):
        return tuple(_stack(list(p)) for p in zip(*parts))
    return torch.stack(parts, out=shared_out(parts[0], (len(parts), *parts[0].shape)))


def _cat(parts: list[Any]) -> Any:
    if isinstance(parts[0], (tuple, list)):
        return tuple(_cat(list(p)) for p in zip(*parts))
    shape = (sum(len(p) for p in parts), *parts[0].shape[1:])
    return torch.cat(parts, out=shared_out(parts[0], shape))


def collate_views(items: list[tuple[Any, int] | None]) -> tuple[Any, torch.Tensor]:
    """Training/validation batches: every view is one example with its video's label ((B*V, ...), (B*V,))."""
    kept = [it for it in items if it is not None]
    if not kept:
        return torch.zeros(0), torch.zeros(0, dtype=torch.int64)
    views = [len(it[0][0] if isinstance(it[0], tuple) else it[0]) for it in kept]  # may differ (still images)
    labels = torch.tensor([it[1] for it in kept], dtype=torch.int64).repeat_interleave(torch.tensor(views))
    return _cat([it[0] for it in kept]), labels


def collate_test(items: list[tuple[Any, int] | None]) -> tuple[Any, torch.Tensor, torch.Tensor]:
    """Test batches keep the views axis: ((B, V, ...), labels (B,), mask of the items that were read)."""
    ok = torch.tensor([it is not None for it in items], dtype=torch.bool)
    kept = [it for it in items if it is not None]
    if not kept:
        return None, torch.zeros(0, dtype=torch.int64), ok
    return _stack([it[0] for it in kept]), torch.tensor([it[1] for it in kept], dtype=torch.int64), ok


def readable(
    samples: Sequence[Sample], desc: str = "check", progress: bool = True, check: Callable[[Sample], Any] | None = None
) -> tuple[list[Sample], dict[str, str]]:
    """(the samples whose file opens and has frames, {path: reason} for the others), probing in parallel.

    probe() is cached per file, so later reads in the workers start from the frame index built here.
    """
    check = check or (lambda s: probe(s.path))

    def one(s: Sample) -> str | None:
        try:
            check(s)
            return None
        except READ_ERRORS as err:
            return getattr(err, "reason", None) or str(err) or type(err).__name__

    with ThreadPoolExecutor(2) as pool:
        reasons = list(iterate(pool.map(one, samples), len(samples), desc, progress and len(samples) >= 50))
    ok = [s for s, r in zip(samples, reasons) if r is None]
    return ok, {str(s.path): r for s, r in zip(samples, reasons) if r is not None}
