"""Progress that reads well wherever stderr goes: tqdm bars on a terminal, plain lines in files and CI logs.

On a terminal a finished bar can keep its last line (the epoch's loss/accuracy); anywhere else tqdm's carriage
returns turn into thousands of fragments, so `Bar` prints one plain line every PLAIN_INTERVAL seconds of work and
one when the pass ends, with no carriage return.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TextIO, TypeVar

from tqdm import tqdm

T = TypeVar("T")
PLAIN_INTERVAL = 10.0  # seconds between two plain progress lines of one pass


def is_terminal(stream: TextIO | None = None) -> bool:
    """Whether `stream` (stderr by default) is an interactive terminal."""
    stream = stream or sys.stderr
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # closed or replaced stream (pytest capture, a pipe wrapper)
        return False


class Bar:
    """Progress of one pass of `total` steps; `step(text)` per step, `close(final)` at the end.

    `text` is a callable, called only when a line is shown (on CUDA reading a loss waits for the GPU). The bar
    itself is transient; `final` (e.g. the epoch's loss and accuracy) is the line that stays, in both modes.
    """

    def __init__(self, total: int | None, desc: str, enabled: bool = True, stream: TextIO | None = None) -> None:
        self.stream, self.desc, self.total = stream or sys.stderr, desc, total
        self.enabled, self.done = enabled, 0
        self.tty = enabled and is_terminal(self.stream)
        self.start = self.last = time.perf_counter()
        self.bar = tqdm(total=total, desc=desc, file=self.stream, leave=False, dynamic_ncols=True) if self.tty else None

    def step(self, text: Callable[[], str] | None = None, n: int = 1) -> None:
        """Count n steps; show `text()` now and then."""
        self.done += n
        if not self.enabled:
            return
        now = time.perf_counter()
        if self.bar is not None:
            self.bar.update(n)
            if text is not None and now - self.last > 0.5:
                self.bar.set_postfix_str(text(), refresh=False)
                self.last = now
        elif now - self.last >= PLAIN_INTERVAL:
            self.last = now
            of = f"/{self.total}" if self.total else ""
            more = f" {text()}" if text is not None else ""
            print(f"{self.desc}: {self.done}{of}{more} ({now - self.start:.0f} s)", file=self.stream, flush=True)

    def close(self, final: str | None = None) -> None:
        """End the pass: the bar goes, `final` (when given) stays as one line."""
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.close()
        if final is not None:
            line(final, self.stream)


def line(text: str, stream: TextIO | None = None) -> None:
    """One line that stays: through tqdm on a terminal (so it does not tear an open bar), else printed."""
    stream = stream or sys.stderr
    if is_terminal(stream):
        tqdm.write(text, file=stream)
    else:
        print(text, file=stream, flush=True)


def iterate(items: Iterable[T], total: int | None, desc: str, enabled: bool = True) -> Iterator[T]:
    """Yield `items`, showing progress as a transient bar (terminal) or plain lines (elsewhere)."""
    bar = Bar(total, desc, enabled)
    try:
        for item in items:
            yield item
            bar.step()
    finally:
        bar.close()


def clock(seconds: float) -> str:
    """12 s, 3m05s, 1h02m."""
    s = int(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


def overall(i: int, n: int, what: str, elapsed: float, finished: int) -> str:
    """ "method 2 of 5 (clip3d), 3m05s elapsed, about 6m10s left" (the estimate: mean time of the finished)."""
    left = f", about {clock(elapsed / finished * (n - i + 1))} left" if finished else ""
    return f"method {i} of {n} ({what}), {clock(elapsed)} elapsed{left}"
