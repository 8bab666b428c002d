"""extract(): run an extractor over a dataset into its FeatureStore, resumable, one bad video never fatal."""

from __future__ import annotations

import functools
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from actionlab.errors import ActionlabError
from actionlab.features.base import Extractor, FeatureArray
from actionlab.features.store import SHARD_VIDEOS, FeatureStore
from actionlab.features.torchbase import TorchExtractor

SPLITS = ("train", "val", "test")
SHARD_SECONDS = 0.5  # a slow extractor (flow on long videos) still writes each video as soon as it is done


@dataclass
class ExtractSummary:
    """What one extract() call did: items computed now, already present, skipped (path, reason), timing."""

    store: Path
    done: int = 0
    already: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    rows: int = 0  # feature rows computed now: frames (cnn2d), clips (cnn3d), flow fields

    @property
    def items_per_s(self) -> float:
        """Videos computed per second in this call."""
        return self.done / self.seconds if self.seconds > 0 else 0.0

    @property
    def rows_per_s(self) -> float:
        """Feature rows (frames, clips, flow fields) computed per second in this call."""
        return self.rows / self.seconds if self.seconds > 0 else 0.0


def _todo(dataset: Any, store: FeatureStore, limit: int | None) -> tuple[list, int, list[tuple[str, str]]]:
    """(samples to compute, count already stored, videos skipped by an earlier run with their reasons)."""
    items = [(s, split) for split in SPLITS for s in getattr(dataset, split, [])]
    if limit is not None:
        items = items[:limit]
    # a skip holds for the version of the file it was made on: a file fixed (or replaced) since is tried again
    reasons = store.skip_reasons([s.path for s, _ in items])
    before = [(str(s.path), reasons[str(s.path)]) for s, _ in items if str(s.path) in reasons]
    todo = [(s, sp) for s, sp in items if str(s.path) not in reasons and s.path not in store]
    return todo, len(items) - len(todo) - len(before), before


def _fit(extractor: Extractor, store: FeatureStore, dataset: Any, limit: int | None) -> None:
    """Fit on the training split only, or reuse the state saved by an earlier run."""
    state = store.load_state()
    if state is not None:
        extractor.load_state(state)
        return
    train = [s.path for s in dataset.train][:limit]
    extractor.fit(train)
    for path, reason in getattr(extractor, "fit_skipped", []):  # listed (and not tried again) like other skips
        store.add_skipped(path, reason)
    store.save_state(extractor.state())


def _prefetched(job: Callable[[Path], Any], todo: list, workers: int, ahead: int = 0) -> Iterator[tuple[Any, str, Any]]:
    """Yield (sample, split, job(path) | ActionlabError) in order while `workers` threads run ahead.

    At most max(2*workers, ahead) videos are in flight, so memory does not grow with the dataset size. PyAV and
    OpenCV release the GIL, so decoding overlaps the network running in the caller's thread.
    """
    depth = max(2 * max(1, workers), ahead)
    with ThreadPoolExecutor(max(1, workers)) as pool:
        pending: deque[tuple[Any, str, Future]] = deque()
        queue = iter(todo)
        for sample, split in queue:
            pending.append((sample, split, pool.submit(job, sample.path)))
            if len(pending) >= depth:
                break
        while pending:
            sample, split, fut = pending.popleft()
            nxt = next(queue, None)
            if nxt is not None:
                pending.append((nxt[0], nxt[1], pool.submit(job, nxt[0].path)))
            yield sample, split, _guarded(fut.result, sample.path)


def _guarded(call: Callable[[], Any], path: Path) -> Any:
    """call(), with any failure turned into an ActionlabError naming `path`."""
    try:
        return call()
    except ActionlabError as err:
        return err
    except Exception as err:
        return ActionlabError(path, f"{type(err).__name__}: {err}".splitlines()[0] if str(err) else type(err).__name__)


def batch_rows(batch_size: int, streams: int, launched: int, remaining: int, rows_per_video: int) -> int:
    """Rows the next forward pass waits for: `batch_size`, but smaller at the start and end of a run.

    With several streams, the first passes ramp up (1, 2, 4 ... videos) so no stream waits for a whole batch to
    be decoded, and the last ones take a share of the `remaining` rows (guided scheduling) so the streams finish
    together instead of one running the final batch alone.
    """
    if streams <= 1:
        return batch_size
    ramp = rows_per_video << min(launched, 16)
    tail = -(-remaining // (2 * streams))
    return max(1, min(batch_size, ramp, tail))


def _batched(extractor: TorchExtractor, todo: list, workers: int) -> Iterator[tuple[Any, str, Any]]:
    """Decode ahead in threads; run the network on about `extractor.batch_size` frames/clips across videos.

    `extractor.streams` batches go through the network at once, each on its own thread with its share of torch's
    threads (see actionlab.features.torchbase); results come back in the order the passes finish.
    """
    rows_per_video = max(1, extractor.rows_per_video)
    per_batch = -(-extractor.batch_size // rows_per_video)
    streams = max(1, extractor.streams)
    with extractor.stream_threads(), ThreadPoolExecutor(streams) as network:
        running: set[Future] = set()

        def launch(group: list[tuple[Any, str, Any]]) -> Iterator[tuple[Any, str, Any]]:
            # Whichever pass finishes first frees its stream: waiting on the oldest would idle a finished one.
            if group:
                running.add(network.submit(lambda: list(_compute(extractor, group))))
            while len(running) >= streams or (not group and running):
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for fut in finished:
                    running.remove(fut)
                    yield from fut.result()

        group: list[tuple[Any, str, Any]] = []
        launched = 0
        # While the network runs on `streams` batches, the next one is decoded: once the pipeline is full the
        # network never waits for the decoder.
        decoded = _prefetched(extractor.decode, todo, workers, ahead=(streams + 1) * per_batch)
        for done, (sample, split, out) in enumerate(decoded, 1):
            if isinstance(out, ActionlabError):
                yield sample, split, out
                continue
            group.append((sample, split, out))
            rows = sum(len(d[0]) for _, _, d in group)
            if rows >= batch_rows(
                extractor.batch_size, streams, launched, rows + (len(todo) - done) * rows_per_video, rows_per_video
            ):
                yield from launch(group)
                group, launched = [], launched + 1
        yield from launch(group)
        yield from launch([])


def _compute(extractor: TorchExtractor, group: list[tuple[Any, str, Any]]) -> Iterator[tuple[Any, str, Any]]:
    """One forward pass for the group; if it fails, per video, so the failure lands on the video that caused it."""
    if not group:
        return
    outs = _guarded(lambda: extractor.compute_batch([d for _, _, d in group]), group[0][0].path)
    if isinstance(outs, ActionlabError) and len(group) > 1:
        outs = [_guarded(functools.partial(extractor.compute, d), s.path) for s, _, d in group]
    elif isinstance(outs, ActionlabError):
        outs = [outs]
    for (sample, split, _), out in zip(group, outs):
        yield sample, split, out


def _results(extractor: Extractor, todo: list, workers: int) -> Iterator[tuple[Any, str, Any]]:
    """Yield (sample, split, FeatureArray | ActionlabError) for every video to do."""
    if isinstance(extractor, TorchExtractor):
        return _batched(extractor, todo, workers)
    return _prefetched(extractor.transform, todo, workers)


def extract(
    dataset: Any,
    extractor: Extractor,
    store_root: str | Path,
    *,
    limit: int | None = None,
    progress: bool = True,
    workers: int | None = None,
    engine: Any = None,
) -> ExtractSummary:
    """Extract features of every train/val/test sample not yet in the store; returns an ExtractSummary.

    `workers` decoding threads run ahead of the network (default: 1 for CNN extractors, whose network already
    uses every core, 2 otherwise). `engine` (e.g. actionlab.features.ray_engine.RayEngine) runs the videos
    elsewhere instead; fitting, the lock, skipped videos and consolidation stay in this process. When the run
    ends the shards are consolidated into the store's HDF5 file.
    """
    if workers is None:
        workers = 1 if isinstance(extractor, TorchExtractor) else 2
    store = FeatureStore.open(store_root, dataset.name, extractor)
    store.lock()
    start = time.perf_counter()
    try:
        if extractor.needs_fit:
            _fit(extractor, store, dataset, limit)
        todo, already, before = _todo(dataset, store, limit)
        summary = ExtractSummary(store.path, already=already, skipped=before)
        if engine is not None:
            engine.run(extractor, store, todo, summary, progress)
        else:
            _extract_here(extractor, store, todo, summary, workers, progress)
        if store.skipped:  # skipped once, extracted now (the file was fixed)
            store.forget_skipped([s.path for s, _ in todo if s.path in store])
        if summary.done or len(summary.skipped) > len(before) or store.consolidated() is None:
            store.consolidate()  # computes the training stats in the same pass
    finally:
        store.unlock()
    summary.seconds = time.perf_counter() - start
    return summary


def _extract_here(
    extractor: Extractor, store: FeatureStore, todo: list, summary: ExtractSummary, workers: int, progress: bool
) -> None:
    """The local engine: decode threads and the network in this process, shards written off its thread."""
    bar = tqdm(
        total=len(todo), desc=f"extract {extractor.config['name']}", file=sys.stderr, disable=not progress, unit="video"
    )
    # Shards are written on their own thread, off the network's, one per SHARD_SECONDS or SHARD_VIDEOS videos:
    # a kill loses at most the unwritten ones, which the next run recomputes.
    with ThreadPoolExecutor(1) as writer:
        writes: deque[Future] = deque()
        shard: list[tuple[Path, FeatureArray, int, str]] = []
        flushed = time.perf_counter()
        for sample, split, out in _results(extractor, todo, workers):
            if isinstance(out, FeatureArray):
                shard.append((sample.path, out, int(sample.label), split))
                summary.done += 1
                summary.rows += len(out.values)
                if len(shard) >= SHARD_VIDEOS or time.perf_counter() - flushed >= SHARD_SECONDS:
                    writes.append(writer.submit(store.put_many, shard))
                    shard, flushed = [], time.perf_counter()
            else:
                store.add_skipped(sample.path, out.reason)
                summary.skipped.append((str(sample.path), out.reason))
            while writes and writes[0].done():
                writes.popleft().result()  # a failed write (disk full) stops the run now, not at the end
            bar.update()
        writes.append(writer.submit(store.put_many, shard))
        for write in writes:
            write.result()
    bar.close()
