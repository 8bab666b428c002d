"""The served run: loaded once, then every upload goes through the evaluator's own reader and views."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, cast

from actionlab.data.dataset import Sample
from actionlab.errors import VideoError

if TYPE_CHECKING:
    from actionlab.models.joint import JointHeads


@dataclass(frozen=True)
class Ranked:
    """One video's classes, best first: (label, score) pairs."""

    labels: list[tuple[str, float]]

    def to_list(self) -> list[dict[str, float | str]]:
        """JSON-ready [{label, score}]."""
        return [{"label": label, "score": score} for label, score in self.labels]


class Predictor:
    """A run's network and reader, built once; `rank(path)` scores one file (one forward pass at a time)."""

    def __init__(self, run_dir: str | Path) -> None:
        from actionlab.methods.evaluation import AllHeads, load_run, make_reader

        self.run_dir = Path(run_dir)
        preset, model, o, rc = load_run(self.run_dir)
        # one upload per call: DataLoader worker processes would cost more to start than the read itself
        self.options = o.replace(workers=0) if "workers" in o.names() else o
        self.preset, self.rc = preset, rc
        self.classes = list(rc.classes)
        self.reader = make_reader(preset, self.options, self.classes, False, self.run_dir, rc.extra, rc.datasets)
        self.model = AllHeads(cast("JointHeads", model)) if rc.datasets else model  # load_run wraps joint runs
        self._lock = threading.Lock()  # torch already uses every core for one forward pass

    @property
    def method(self) -> str:
        """The run's method name."""
        return self.rc.method

    def rank(self, path: Path, name: str, k: int = 5) -> Ranked:
        """Top-k classes of the file at `path` (`name`: what error messages call it); VideoError if unreadable."""
        from actionlab.methods.evaluation import score_samples

        with self._lock:
            views, kept, errors, _ = score_samples(
                self.preset,
                self.model,
                self.options,
                [Sample(path, 0)],
                self.classes,
                self.run_dir,
                self.rc.extra,
                False,
                self.reader,
            )
        if not kept:
            reason = next(iter(errors.values()), "could not be read").replace(str(path), name)
            raise VideoError(name, f"not a readable video or image ({reason})")
        scores = views["video"][0]
        order = scores.argsort()[::-1][:k]
        return Ranked([(self.classes[i], float(scores[i])) for i in order])
