"""How sure a comparison is: bootstrap CIs of top-1 and McNemar's paired test over the same test videos.

McNemar's test uses the exact binomial distribution (scipy.stats.binom) of the discordant pairs and its mid-p
version (less conservative, still valid at small counts); Holm's step-down adjusts the best-vs-others p-values
for the number of comparisons, so the one-line conclusion does not over-claim.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from actionlab.errors import ConfigError

ALPHA = 0.05


@dataclass(frozen=True)
class Interval:
    """Top-1 with its percentile-bootstrap confidence interval over test videos."""

    top1: float
    low: float
    high: float
    n: int


@dataclass(frozen=True)
class Paired:
    """McNemar's test of `best` against `other` on the videos both scored."""

    best: str
    other: str
    n: int
    best_only: int  # videos only `best` gets right (b)
    other_only: int  # videos only `other` gets right (c)
    p_exact: float
    p_mid: float
    p_holm: float  # p_mid adjusted with Holm's step-down over all comparisons with `best`

    @property
    def distinguishable(self) -> bool:
        """The difference is significant at ALPHA after Holm's adjustment."""
        return self.p_holm < ALPHA


def bootstrap_ci(
    correct: Sequence[int] | np.ndarray, level: float = 0.95, resamples: int = 2000, seed: int = 0
) -> Interval:
    """Top-1 of 0/1 correctness and its percentile bootstrap CI (resampling test videos with replacement)."""
    c = np.asarray(correct, dtype=np.float64).reshape(-1)
    if c.size == 0:
        raise ConfigError(None, "bootstrap: no test video")
    rng = np.random.default_rng(seed)
    means = c[rng.integers(0, c.size, size=(resamples, c.size))].mean(axis=1)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return Interval(float(c.mean()), float(low), float(high), int(c.size))


def mcnemar(b: int, c: int) -> tuple[float, float]:
    """(exact two-sided p, mid-p) of McNemar's test from the discordant counts b and c."""
    from scipy.stats import binom  # imported late: only the report's comparison needs it

    n, k = b + c, min(b, c)
    if n == 0:
        return 1.0, 1.0
    exact = min(1.0, 2 * float(binom.cdf(k, n, 0.5)))
    mid = min(1.0, exact - float(binom.pmf(k, n, 0.5)))
    return exact, mid


def _holm(pvalues: list[float]) -> list[float]:
    order = np.argsort(pvalues, kind="stable")
    adjusted, running = [0.0] * len(pvalues), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(pvalues) - rank) * pvalues[i]))
        adjusted[i] = running
    return adjusted


def paired_tests(correct: Mapping[str, Mapping[str, int]], best: str) -> list[Paired]:
    """McNemar's test of `best` against every other method, each on the videos both scored (keyed by path)."""
    if best not in correct:
        raise ConfigError(None, f"paired tests: {best!r} has no per-video results")
    raw = []
    for name, other in correct.items():
        if name == best:
            continue
        common = sorted(set(correct[best]) & set(other))
        a = np.array([correct[best][p] for p in common], dtype=bool)
        o = np.array([other[p] for p in common], dtype=bool)
        b, c = int((a & ~o).sum()), int((~a & o).sum())
        raw.append((name, len(common), b, c, *mcnemar(b, c)))
    holm = _holm([r[5] for r in raw])
    return [Paired(best, name, n, b, c, pe, pm, ph) for (name, n, b, c, pe, pm), ph in zip(raw, holm)]


def _p(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def conclusion(intervals: Mapping[str, Interval], tests: Sequence[Paired]) -> str:
    """One sentence that says which differences from the best method are real (Holm-adjusted mid-p < 0.05)."""
    if not tests:
        return "Only one method was scored: nothing to compare."
    best = tests[0].best
    n = intervals[best].n
    tied = [t.other for t in tests if not t.distinguishable]
    beaten = [t for t in tests if t.distinguishable and t.best_only > t.other_only]
    parts = []
    if tied:
        names = " and ".join([best, ", ".join(tied)]) if len(tied) > 1 else f"{best} and {tied[0]}"
        parts.append(f"{names} are not distinguishable on {n} test videos")
    if beaten:
        worst_p = max(t.p_holm for t in beaten)
        # only best-vs-other pairs are tested, so only the best method's wins are claimed
        parts.append(f"{best} beats {', '.join(t.other for t in beaten)} ({_p(worst_p)}, McNemar mid-p, Holm-adjusted)")
    if not beaten and tied:
        parts[-1] += " (McNemar mid-p, Holm-adjusted, all p >= 0.05)"
    return "; ".join(parts) + "."
