"""Properties of the seeded, class-stratified, group-aware split used for validation and folder test sets."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from actionlab.data import Sample, stratified_split

samples_st = st.lists(
    st.tuples(st.integers(0, 4), st.one_of(st.none(), st.integers(0, 6))), min_size=1, max_size=60
).map(
    lambda rows: [Sample(Path(f"v{i}.mp4"), label, None if g is None else f"g{g}") for i, (label, g) in enumerate(rows)]
)


@settings(max_examples=150, deadline=None)
@given(samples_st, st.floats(0.05, 0.6), st.integers(0, 2**16))
def test_split_properties(samples: list[Sample], fraction: float, seed: int) -> None:
    keep, held = stratified_split(samples, fraction, seed)
    assert sorted(map(str, (s.path for s in keep + held))) == sorted(str(s.path) for s in samples)
    groups_keep = {s.group for s in keep if s.group is not None}
    assert not groups_keep & {s.group for s in held if s.group is not None}
    assert {s.label for s in keep} == {s.label for s in samples}  # every class keeps a training sample
    assert (keep, held) == stratified_split(samples, fraction, seed)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(2, 30), min_size=1, max_size=5), st.floats(0.1, 0.5), st.integers(0, 999))
def test_ungrouped_split_is_close_to_the_fraction_per_class(sizes: list[int], fraction: float, seed: int) -> None:
    samples = [Sample(Path(f"{c}-{i}.mp4"), c) for c, n in enumerate(sizes) for i in range(n)]
    _, held = stratified_split(samples, fraction, seed)
    counts = Counter(s.label for s in held)
    for c, n in enumerate(sizes):
        assert abs(counts[c] - n * fraction) <= 0.5 + 1e-9 or counts[c] == n - 1


def test_seed_changes_the_split_and_zero_fraction_keeps_all() -> None:
    samples = [Sample(Path(f"{i}.mp4"), i % 2, f"g{i // 2}") for i in range(40)]
    a = stratified_split(samples, 0.25, 1)[1]
    assert a != stratified_split(samples, 0.25, 2)[1]
    assert {s.label for s in a} == {0, 1}
    assert stratified_split(samples, 0.0, 1) == (samples, [])
