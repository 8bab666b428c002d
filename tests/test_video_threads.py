"""read_frames with several threads: runs shared among decoders, frame threads for single-slice h264, exact."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

import actionlab.video.seeking as seeking
from actionlab.errors import ConfigError
from actionlab.video import probe, read_frames
from actionlab.video.threads import default_threads, slices_per_frame, worth_threads
from media import frame_number, numbered_frames, write_video


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("threads")
    small, large = numbered_frames(150), numbered_frames(150, 320, 480)  # large: worth decoding threads
    return {
        "gop250": write_video(
            root / "gop250.mp4", large, codec="libx264", gop=250, bframes=2, options={"threads": "1"}
        ),  # one slice a frame, as x264 writes by default
        "small250": write_video(root / "small250.mp4", small, codec="libx264", gop=250, bframes=2),
        "gop10": write_video(root / "gop10.mp4", small, codec="libx264", gop=10, bframes=2),
        "sliced": write_video(
            root / "sliced.mp4", large, codec="libx264", gop=250, bframes=2, options={"slices": "4", "threads": "1"}
        ),
        "sliced.ts": write_video(
            root / "sliced.ts", small, codec="libx264", gop=250, bframes=2, options={"slices": "2"}
        ),
    }


def first_packet_slices(path: Path) -> int:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        packet = next(p for p in container.demux(stream) if p.size)
        return slices_per_frame(stream.codec_context.name, stream.codec_context.extradata, bytes(packet))


def test_slice_count_from_length_prefixed_and_annex_b_packets(clips: dict[str, Path]) -> None:
    assert first_packet_slices(clips["gop250"]) == 1
    assert first_packet_slices(clips["sliced"]) == 4  # mp4: avcC length-prefixed NAL units
    assert first_packet_slices(clips["sliced.ts"]) == 2  # MPEG-TS: Annex B start codes
    assert slices_per_frame("mpeg4", None, b"\x00\x00\x01\xb6") == 0


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> dict[str, list]:
    """Record which plan decode_seeking chose: groups of runs, and each decoder's thread type and count."""
    seen: dict[str, list] = {"groups": [], "decoders": []}
    real_groups, real_runs = seeking._decode_groups, seeking._decode_runs

    def groups(path, container, stream, index, groups, make_converter):
        seen["groups"].append(len(groups))
        return real_groups(path, container, stream, index, groups, make_converter)

    def runs(container, stream, index, runs, convert):
        seen["decoders"].append((stream.thread_type.name, stream.thread_count))
        return real_runs(container, stream, index, runs, convert)

    monkeypatch.setattr(seeking, "_decode_groups", groups)
    monkeypatch.setattr(seeking, "_decode_runs", runs)
    return seen


def test_short_gops_share_runs_among_decoders(clips: dict[str, Path], spy: dict[str, list]) -> None:
    indices = np.linspace(0, 149, 12).round().astype(int)
    probe(clips["gop10"])  # indexed first: a cold read converts the frames its index decode kept
    got = read_frames(clips["gop10"], indices, threads=2)
    assert [frame_number(f) for f in got] == indices.tolist()
    assert spy["groups"] == [2]
    assert spy["decoders"] == [("SLICE", 1), ("SLICE", 1)]  # one thread each: the parallelism is across files


def test_one_long_run_uses_frame_threads_only_on_single_slice_h264(
    clips: dict[str, Path], spy: dict[str, list]
) -> None:
    indices = [5, 70, 140]
    for name in ("gop250", "sliced", "small250"):
        probe(clips[name])  # indexed first: a cold read converts the frames its index decode kept
        got = read_frames(clips[name], indices, threads=2)
        assert [frame_number(f) for f in got] == indices
    assert spy["groups"] == []
    # small cheap frames decode faster on one thread than handed between two
    assert spy["decoders"] == [("FRAME", 2), ("SLICE", 2), ("SLICE", 1)]


def test_threads_one_is_one_decoder_thread(clips: dict[str, Path], spy: dict[str, list]) -> None:
    probe(clips["gop10"])
    read_frames(clips["gop10"], [3, 80, 149], threads=1)
    assert spy["groups"] == [] and spy["decoders"] == [("SLICE", 1)]


@pytest.mark.parametrize("name", ["gop250", "small250", "gop10", "sliced", "sliced.ts"])
def test_every_thread_count_gives_identical_frames(clips: dict[str, Path], name: str) -> None:
    path = clips[name]
    with av.open(str(path)) as container:
        full = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert probe(path).num_frames == len(full) == 150
    rng = np.random.default_rng(3)
    for indices in (rng.integers(0, 150, 20), np.arange(0, 150, 7), np.array([149, 0, 75, 149])):
        for threads in (1, 2, 4):
            got = read_frames(path, indices, threads=threads)
            for frame, i in zip(got, indices):
                np.testing.assert_array_equal(frame, full[i])


def test_default_threads_follow_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACTIONLAB_DECODE_THREADS", "3")
    assert default_threads() == 3
    monkeypatch.setenv("ACTIONLAB_DECODE_THREADS", "two")
    with pytest.raises(ConfigError, match="ACTIONLAB_DECODE_THREADS.*'two'"):
        default_threads()
    monkeypatch.delenv("ACTIONLAB_DECODE_THREADS")
    assert 1 <= default_threads() <= 4


def test_threads_only_for_frames_costly_to_decode() -> None:
    assert not worth_threads(320, 240, 1250)  # camera-like 320x240 at 10 kbit/frame
    assert worth_threads(320, 240, 9000)  # the same size at 70 kbit/frame
    assert worth_threads(640, 480, 0)
