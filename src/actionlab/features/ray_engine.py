"""Feature extraction on Ray: the same extractor and store, the videos split into tasks run by Ray actors.

`RayEngine(address, workers).run(extractor, store, todo, summary, progress)` is what `extract(..., engine=)`
calls instead of its local loop. Each actor receives the extractor once (the network is sent through Ray's
object store and deserialised once per actor, not per task), runs the local batched path
(`actionlab.features.extract._results`) over its task's videos and writes each finished shard into the store
through `FeatureStore.put_many` — one uniquely named temporary file renamed into `items/`, so writers on many
machines never need a common lock. The driver holds the store's writer lock, records skipped videos and
consolidates `features.h5` at the end, exactly as a local run does; a killed driver leaves only whole shards,
which the next run finds and does not recompute.

Each actor takes one CPU (`num_cpus=1`) and runs one forward pass on one torch thread: the local path on a
2-core CPU runs two single-thread passes (see actionlab.features.torchbase), so fp32 features are the same
bits either way (tests/test_ray_extract.py checks it).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from actionlab.errors import ConfigError
from actionlab.features.store import SHARD_VIDEOS

TASK_VIDEOS = 8  # fewest videos per task: enough to batch frames across videos
TASKS_PER_WORKER = 4  # more tasks than workers, so one slow task does not leave the others idle at the end


@dataclass(frozen=True)
class TaskVideo:
    """What a worker needs of a sample: the same attribute names extract()'s local path reads."""

    path: Path
    label: int


@dataclass
class TaskResult:
    """One task's outcome: videos stored, feature rows computed, (path, reason) of those skipped."""

    done: int
    rows: int
    skipped: list[tuple[str, str]]


def _ray():
    """Import ray, or one line saying how to get it."""
    try:
        import ray
    except ImportError:
        raise ConfigError(None, "--engine ray needs Ray: pip install 'actionlab[ray]'") from None
    return ray


class _Worker:
    """A Ray actor's state: one extractor (one network) and a handle on the store directory."""

    def __init__(self, extractor: Any, store_path: str, workers: int) -> None:
        import torch

        from actionlab.features.store import FeatureStore

        torch.set_num_threads(1)
        if hasattr(extractor, "streams"):
            extractor.streams = 1  # this actor has one CPU: one pass on one thread
        self.extractor = extractor
        self.store = FeatureStore(store_path)
        self.workers = workers

    def run(self, videos: list[tuple[str, int, str]]) -> TaskResult:
        """Compute and store `videos` ((path, label, split)); failures come back as skipped, never raised."""
        from actionlab.features.base import FeatureArray
        from actionlab.features.extract import _results

        todo = [(TaskVideo(Path(p), label), split) for p, label, split in videos]
        result = TaskResult(0, 0, [])
        shard: list[tuple[Path, FeatureArray, int, str]] = []
        for sample, split, out in _results(self.extractor, todo, self.workers):
            if isinstance(out, FeatureArray):
                shard.append((sample.path, out, sample.label, split))
                result.done += 1
                result.rows += len(out.values)
                if len(shard) >= SHARD_VIDEOS:
                    self.store.put_many(shard)
                    shard = []
            else:
                result.skipped.append((str(sample.path), out.reason))
        self.store.put_many(shard)
        return result


@dataclass
class RayEngine:
    """Run extraction tasks on a Ray cluster: `address` None starts a local Ray of `workers` CPUs."""

    address: str | None = None
    workers: int | None = None
    decode_threads: int = 1

    def run(self, extractor: Any, store: Any, todo: list, summary: Any, progress: bool) -> None:
        """Extract `todo` ((sample, split) pairs) into `store`; add counts and skips to `summary`."""
        ray = _ray()
        started_here = not ray.is_initialized()
        if started_here:
            self._init(ray)
        try:
            self._run(ray, extractor, store, todo, summary, progress)
        finally:
            if started_here:
                ray.shutdown()

    def _init(self, ray: Any) -> None:
        kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "logging_level": "ERROR"}
        if self.address:
            kwargs["address"] = self.address
        else:
            kwargs["num_cpus"] = self.workers or os.cpu_count() or 1
        # Workers must import the same actionlab as the driver, also from a source checkout.
        src = str(Path(__file__).resolve().parents[2])
        kwargs["runtime_env"] = {
            "env_vars": {"PYTHONPATH": os.pathsep.join(p for p in (src, os.environ.get("PYTHONPATH", "")) if p)}
        }
        try:
            ray.init(**kwargs)
        except (ConnectionError, RuntimeError, ValueError) as err:
            where = self.address or "a local Ray"
            raise ConfigError(None, f"could not start or join {where}: {str(err).splitlines()[0]}") from None

    def _actors(self, ray: Any, extractor: Any, store: Any) -> list:
        cpus = int(ray.cluster_resources().get("CPU", 1))
        count = max(1, min(self.workers or cpus, cpus))
        actor = ray.remote(num_cpus=1)(_Worker)
        shared = ray.put(extractor)
        return [actor.remote(shared, str(store.path), self.decode_threads) for _ in range(count)]

    def _run(self, ray: Any, extractor: Any, store: Any, todo: list, summary: Any, progress: bool) -> None:
        from tqdm import tqdm

        videos = [(str(s.path), int(s.label), split) for s, split in todo]
        if not videos:
            return
        actors = self._actors(ray, extractor, store)
        # each task's pipeline fills and drains once: as few tasks as keep every worker busy to the end
        size = max(TASK_VIDEOS, -(-len(videos) // (TASKS_PER_WORKER * len(actors))))
        tasks = [videos[i : i + size] for i in range(0, len(videos), size)]
        bar = tqdm(
            total=len(videos),
            desc=f"extract {extractor.config['name']} on ray ({len(actors)} workers)",
            file=sys.stderr,
            disable=not progress,
            unit="video",
        )
        pool = ray.util.ActorPool(actors)
        for task in tasks:
            pool.submit(lambda a, v: a.run.remote(v), task)
        while pool.has_next():
            result: TaskResult = pool.get_next_unordered()
            summary.done += result.done
            summary.rows += result.rows
            for path, reason in result.skipped:
                store.add_skipped(path, reason)
                summary.skipped.append((path, reason))
            bar.update(result.done + len(result.skipped))
        bar.close()
