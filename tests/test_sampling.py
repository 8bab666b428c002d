"""Samplers: index arithmetic checked by examples and Hypothesis properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actionlab.errors import ConfigError
from actionlab.sampling import (
    PAD_POLICIES,
    DenseClipSampler,
    FlowWindowSampler,
    MiddleFrameSampler,
    MultiClipSampler,
    UniformSampler,
    pad_indices,
)

frames = st.integers(min_value=1, max_value=500)
small = st.integers(min_value=1, max_value=20)
pads = st.sampled_from(PAD_POLICIES)
seeds = st.integers(min_value=0, max_value=2**31)


def samplers() -> st.SearchStrategy:
    return st.one_of(
        st.builds(UniformSampler, small),
        st.just(MiddleFrameSampler()),
        st.builds(DenseClipSampler, small, small, pads),
        st.builds(MultiClipSampler, st.integers(1, 5), small, small, pads),
        st.builds(FlowWindowSampler, small, st.integers(1, 4), pads),
    )


def expected_shape(sampler) -> tuple[int, ...]:
    if isinstance(sampler, UniformSampler):
        return (sampler.num_segments,)
    if isinstance(sampler, MiddleFrameSampler):
        return (1,)
    if isinstance(sampler, DenseClipSampler):
        return (sampler.clip_len,)
    if isinstance(sampler, MultiClipSampler):
        return (sampler.num_clips, sampler.clip_len)
    return (sampler.num_flows + 1,)


@settings(max_examples=300, deadline=None)
@given(samplers(), frames, seeds)
def test_indices_in_range_with_right_shape_and_deterministic(sampler, num_frames, seed) -> None:
    for rng_seed in (None, seed):

        def draw():
            rng = None if rng_seed is None else np.random.default_rng(rng_seed)
            return sampler.sample(num_frames, rng)

        first, second = draw(), draw()
        assert first.dtype == np.int64
        assert first.shape == expected_shape(sampler)
        assert first.min() >= 0 and first.max() < num_frames
        np.testing.assert_array_equal(first, second)


@given(samplers(), seeds)
def test_single_frame_video_gives_all_zero(sampler, seed) -> None:
    assert not sampler.sample(1, np.random.default_rng(seed)).any()
    assert not sampler.sample(1).any()


@given(st.integers(0, 10_000), st.integers(1, 50), pads)
def test_pad_keeps_in_range_indices_unchanged(pos, n, pad) -> None:
    out = pad_indices(np.array([pos]), n, pad)[0]
    assert 0 <= out < n
    if pos < n:
        assert out == pos


@given(st.integers(2, 40), st.integers(1, 200))
def test_mirror_moves_one_frame_at_a_time(n, length) -> None:
    out = pad_indices(np.arange(length), n, "mirror")
    assert np.all(np.abs(np.diff(out)) == 1)


def test_pad_policies_examples() -> None:
    pos = np.arange(8)
    assert pad_indices(pos, 3, "loop").tolist() == [0, 1, 2, 0, 1, 2, 0, 1]
    assert pad_indices(pos, 3, "repeat-last").tolist() == [0, 1, 2, 2, 2, 2, 2, 2]
    assert pad_indices(pos, 3, "mirror").tolist() == [0, 1, 2, 1, 0, 1, 2, 1]


def test_uniform_centres_segments_in_test_mode_and_stays_inside_them_in_training() -> None:
    assert UniformSampler(4).sample(40).tolist() == [5, 15, 25, 35]
    rng = np.random.default_rng(0)
    for _ in range(50):
        out = UniformSampler(4).sample(40, rng)
        assert [i // 10 for i in out] == [0, 1, 2, 3]


def test_uniform_more_segments_than_frames_repeats_frames() -> None:
    assert UniformSampler(6).sample(3).tolist() == [0, 0, 1, 1, 2, 2]


def test_middle_frame() -> None:
    assert MiddleFrameSampler().sample(11).tolist() == [5]
    assert MiddleFrameSampler().sample(10).tolist() == [4]


def test_dense_clip_is_centred_and_strided() -> None:
    assert DenseClipSampler(4, stride=2).sample(17).tolist() == [5, 7, 9, 11]
    assert DenseClipSampler(5, pad="repeat-last").sample(3).tolist() == [0, 1, 2, 2, 2]


def test_multi_clip_spreads_clips_over_the_video() -> None:
    out = MultiClipSampler(3, 4, stride=2).sample(100)
    assert out.shape == (3, 4)
    assert out[0, 0] == 0 and out[-1, -1] == 99
    assert np.all(np.diff(out, axis=1) == 2)


def test_flow_window_centred_step_two_then_step_one_then_pad() -> None:
    long = FlowWindowSampler(num_flows=4, step=2).sample(21)
    assert long.tolist() == [6, 8, 10, 12, 14]
    assert FlowWindowSampler(num_flows=4, step=2).sample(7).tolist() == [1, 2, 3, 4, 5]
    short = FlowWindowSampler(num_flows=4, step=2, pad="mirror").sample(3)
    assert short.tolist() == [0, 1, 2, 1, 0]


def test_training_mode_varies_with_seed() -> None:
    sampler = DenseClipSampler(8)
    draws = {tuple(sampler.sample(200, np.random.default_rng(s))) for s in range(20)}
    assert len(draws) > 5


@pytest.mark.parametrize(
    "build",
    [
        lambda: UniformSampler(0),
        lambda: DenseClipSampler(0),
        lambda: DenseClipSampler(4, stride=0),
        lambda: DenseClipSampler(4, pad="wrap"),
        lambda: MultiClipSampler(0, 4),
        lambda: FlowWindowSampler(num_flows=0),
        lambda: FlowWindowSampler(step=-1),
        lambda: UniformSampler(2.5),
    ],
)
def test_bad_parameters_raise_config_error(build) -> None:
    with pytest.raises(ConfigError):
        build()


def test_zero_frames_raises_config_error() -> None:
    with pytest.raises(ConfigError):
        UniformSampler(3).sample(0)
