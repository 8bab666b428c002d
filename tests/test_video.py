"""probe/read_frames on small real encoded videos: exact frames for every codec/container, typed errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from actionlab.cli import main
from actionlab.errors import VideoError
from actionlab.video import probe, read_frames
from media import frame_number, numbered_frames, write_image, write_video

SRC = str(Path(__file__).resolve().parents[1] / "src")


def write_timed(path: Path, frames: np.ndarray, pts: list[int], *, container_fmt: str | None = None) -> Path:
    """h264 with B-frames and explicit millisecond timestamps (variable rate, non-zero start)."""
    with av.open(str(path), "w", format=container_fmt) as container:
        stream = container.add_stream("libx264", rate=Fraction(25))
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        stream.codec_context.time_base = Fraction(1, 1000)
        stream.max_b_frames, stream.gop_size = 2, 10
        stream.options = {"crf": "18", "preset": "ultrafast"}
        for frame, t in zip(frames, pts):
            vf = av.VideoFrame.from_ndarray(frame, format="rgb24")
            vf.pts, vf.time_base = t, Fraction(1, 1000)
            for packet in stream.encode(vf):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def full_decode(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


VARIANTS = {
    "h264-gop250-bframes.mp4": dict(codec="libx264", gop=250, bframes=2, n=300),
    "h264-gop12-bframes.mp4": dict(codec="libx264", gop=12, bframes=3, n=120),
    "h264-gop12.mkv": dict(codec="libx264", gop=12, bframes=0, n=60),
    "mpeg4.avi": dict(codec="mpeg4", gop=12, n=60),
    "mpeg4-bframes.avi": dict(codec="mpeg4", gop=12, n=60, options={"bf": "2"}),
    "msmpeg4.avi": dict(codec="msmpeg4", gop=12, n=60),
    "mjpeg.avi": dict(codec="mjpeg", pix_fmt="yuvj420p", n=40),
    "vp9.webm": dict(codec="libvpx-vp9", gop=10, n=30, options={"deadline": "realtime", "cpu-used": "8"}),
}


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("videos")
    out = {}
    for name, spec in VARIANTS.items():
        spec = dict(spec)
        n = spec.pop("n")
        out[name] = write_video(root / name, numbered_frames(n), **spec)
    frames = numbered_frames(50)
    vfr = list(np.cumsum([0] + [40 if i % 3 else 90 for i in range(49)]))
    out["vfr.mkv"] = write_timed(root / "vfr.mkv", frames, [int(t) for t in vfr])
    out["start-offset.mp4"] = write_timed(root / "start-offset.mp4", frames, [5000 + 40 * i for i in range(50)])
    out["start-offset.ts"] = write_timed(root / "start-offset.ts", frames, [5000 + 40 * i for i in range(50)])
    return out


@pytest.mark.parametrize("threads", [1, 3])
@pytest.mark.parametrize("name", [*VARIANTS, "vfr.mkv", "start-offset.mp4", "start-offset.ts"])
def test_random_reads_equal_full_decode(videos: dict[str, Path], name: str, threads: int) -> None:
    path = videos[name]
    full = full_decode(path)
    assert [frame_number(f) for f in full] == list(range(len(full)))
    assert probe(path).num_frames == len(full)
    rng = np.random.default_rng(len(name))
    index_sets = [rng.integers(0, len(full), 12) for _ in range(3)]
    index_sets += [np.array([len(full) - 1, 0, len(full) - 1]), np.sort(rng.choice(len(full), 8, replace=False))]
    for indices in index_sets:
        got = read_frames(path, indices, threads=threads)
        assert got.dtype == np.uint8 and got.shape == (len(indices), 64, 80, 3)
        assert [frame_number(f) for f in got] == indices.tolist()
        for frame, i in zip(got, indices):
            np.testing.assert_array_equal(frame, full[i])


@pytest.mark.parametrize("name", ["h264-gop250-bframes.mp4", "h264-gop12-bframes.mp4", "vp9.webm", "vfr.mkv"])
def test_seekable_formats_never_fall_back_to_a_full_decode(videos, name, monkeypatch) -> None:
    import actionlab.video.reader as reader

    def refuse(*args, **kwargs):
        raise AssertionError("fell back to a sequential decode")

    monkeypatch.setattr(reader, "_decode_sequential", refuse)
    n = probe(videos[name]).num_frames
    indices = np.array([n - 1, n // 2, 1, n - 2])
    assert [frame_number(f) for f in read_frames(videos[name], indices)] == indices.tolist()


def test_probe_reports_stream_facts(videos: dict[str, Path]) -> None:
    info = probe(videos["h264-gop12-bframes.mp4"])
    assert (info.num_frames, info.width, info.height, info.codec) == (120, 80, 64, "h264")
    assert info.fps == pytest.approx(25.0)
    assert info.duration == pytest.approx(4.8)
    assert not info.is_image and info.rotation == 0


def test_size_short_side_and_explicit(videos: dict[str, Path]) -> None:
    path = videos["h264-gop12-bframes.mp4"]
    assert read_frames(path, [3], size=32).shape == (1, 32, 40, 3)
    small = read_frames(path, [3, 77], size=(20, 50))
    assert small.shape == (2, 20, 50, 3)
    assert [frame_number(f) for f in small] == [3, 77]


def test_out_of_range_raises(videos: dict[str, Path]) -> None:
    path = videos["h264-gop12-bframes.mp4"]
    for bad in ([120], [-1], [0, 500]):
        with pytest.raises(VideoError, match="out of range.*120 frames"):
            read_frames(path, bad)


def test_images_are_one_frame_videos(tmp_path: Path) -> None:
    frame = numbered_frames(6, 60, 80)[5]
    for suffix in (".png", ".jpg", ".bmp", ".webp"):
        path = write_image(tmp_path / f"still{suffix}", frame)
        info = probe(path)
        assert (info.num_frames, info.is_image, info.width, info.height) == (1, True, 80, 60)
        got = read_frames(path, [0, 0], size=30)
        assert got.shape == (2, 30, 40, 3) and frame_number(got[0]) == 5
        with pytest.raises(VideoError, match="out of range"):
            read_frames(path, [1])


def test_truncated_video_reads_what_decodes_and_names_the_damage(videos: dict[str, Path], tmp_path: Path) -> None:
    data = videos["h264-gop12.mkv"].read_bytes()
    path = tmp_path / "truncated.mkv"
    path.write_bytes(data[: len(data) // 2])
    full = full_decode(path)
    assert 0 < len(full) < 60
    assert probe(path).num_frames == len(full)
    got = read_frames(path, [0, len(full) - 1])
    assert [frame_number(f) for f in got] == [0, len(full) - 1]
    with pytest.raises(VideoError, match="truncated or damaged"):
        read_frames(path, [55])


def test_corrupted_middle_counts_only_decodable_frames(videos: dict[str, Path], tmp_path: Path) -> None:
    data = bytearray(videos["mpeg4.avi"].read_bytes())
    middle = len(data) // 2
    data[middle : middle + 2000] = np.random.default_rng(0).integers(0, 256, 2000, dtype=np.uint8).tobytes()
    path = tmp_path / "corrupt.avi"
    path.write_bytes(bytes(data))
    try:
        full = full_decode(path)
    except av.error.FFmpegError:
        pytest.skip("this FFmpeg build refuses the corrupted file outright")
    assert probe(path).num_frames == len(full)
    got = read_frames(path, [0, len(full) - 1])
    np.testing.assert_array_equal(got[1], full[-1])


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda p: p, "file not found"),
        (lambda p: (p.write_bytes(b""), p)[1], "empty"),
        (lambda p: (p.write_text("hello, not a video\n" * 50), p)[1], "not a video"),
    ],
)
def test_bad_files_raise_video_error(tmp_path: Path, make, reason: str) -> None:
    path = make(tmp_path / "bad.mp4")
    for call in (lambda: probe(path), lambda: read_frames(path, [0])):
        with pytest.raises(VideoError, match=reason) as err:
            call()
        assert str(path) in str(err.value)


def test_audio_only_file_has_no_video_stream(tmp_path: Path) -> None:
    path = tmp_path / "tone.wav"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("pcm_s16le", rate=8000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 800), dtype=np.int16), format="s16", layout="mono")
        frame.sample_rate = 8000
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    with pytest.raises(VideoError, match="no video stream"):
        probe(path)


def test_absurd_dimensions_rejected(videos: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACTIONLAB_MAX_PIXELS", "1000")
    with pytest.raises(VideoError, match="exceeds the limit"):
        read_frames(videos["mjpeg.avi"], [0])


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root can read a chmod 000 file")
def test_unreadable_file(videos: dict[str, Path], tmp_path: Path) -> None:
    path = tmp_path / "locked.mp4"
    path.write_bytes(videos["h264-gop12.mkv"].read_bytes())
    path.chmod(0)
    try:
        with pytest.raises(VideoError, match="permission denied"):
            probe(path)
    finally:
        path.chmod(0o644)


def test_cli_probe_json_and_bad_file(videos: dict[str, Path], tmp_path: Path, capsys) -> None:
    missing = tmp_path / "missing.mp4"
    assert main(["probe", str(videos["vp9.webm"]), str(missing), "--json"]) == 0
    out, err = capsys.readouterr()
    info = json.loads(out.strip())
    assert (info["num_frames"], info["codec"], info["width"]) == (30, "vp9", 80)
    assert err.strip().splitlines() == [f"actionlab probe: error: {missing}: file not found"]
    assert main(["probe", str(missing)]) == 1


def test_index_is_cached_on_disk_across_processes(videos: dict[str, Path], monkeypatch, tmp_path: Path) -> None:
    import actionlab.video.cached as cached

    path = videos["h264-gop12-bframes.mp4"]
    monkeypatch.setenv("ACTIONLAB_CACHE", str(tmp_path / "cache"))
    cached.forget()
    # another process indexes the file, and this one must not index it again
    code = "import sys; from actionlab.video import read_frames; read_frames(sys.argv[1], [5, 100])"
    subprocess.run([sys.executable, "-c", code, str(path)], check=True, env=os.environ | {"PYTHONPATH": SRC})
    expected = full_decode(path)

    def refuse(*args):
        raise AssertionError("re-indexed a file whose index is on disk")

    monkeypatch.setattr(cached, "build_index", refuse)
    assert probe(path).num_frames == 120
    np.testing.assert_array_equal(read_frames(path, [5, 100]), np.stack([expected[5], expected[100]]))
    path.touch()  # a changed mtime must invalidate the entry
    cached.forget()
    with pytest.raises(AssertionError, match="re-indexed"):
        probe(path)


def test_index_cache_stores_timestamps_as_runs() -> None:
    from actionlab.video.cached import _expand, _runs

    assert _runs(np.arange(0, 512 * 300, 512)) == [[0, 512, 300]]  # constant frame rate: one run, any length
    rng = np.random.default_rng(0)
    for values in (np.cumsum(rng.integers(1, 5, 200)), np.array([7]), np.zeros(0, np.int64), np.array([0, 3, 7, 8])):
        np.testing.assert_array_equal(_expand(_runs(values)), values)


def test_index_cache_skips_torn_lines_and_merges_many_logs(
    videos: dict[str, Path], monkeypatch, tmp_path: Path
) -> None:
    import actionlab.video.cached as cached

    monkeypatch.setenv("ACTIONLAB_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "cache" / "probe"
    names = ["h264-gop12-bframes.mp4", "vp9.webm", "mpeg4.avi"]
    counts = {}
    for name in names:  # one process per video: one log each
        cached.forget()
        counts[name] = probe(videos[name]).num_frames
    logs = sorted(folder.glob("*.jsonl"))
    assert len(logs) == 3
    with logs[0].open("a") as fh:
        fh.write('0123abcd\t{"num_frames":1,"pts":[0,')  # a writer killed mid-line
    for i in range(cached.MAX_LOGS):
        (folder / f"other-{i}.jsonl").write_text("")
    cached.forget()
    monkeypatch.setattr(cached, "build_index", lambda *a: pytest.fail("re-indexed a cached file"))
    assert {name: probe(videos[name]).num_frames for name in names} == counts
    merged = list(folder.glob("*.jsonl"))
    assert len(merged) == 1 and len(merged[0].read_text().splitlines()) == 3


def test_runs_seek_only_when_that_skips_frames() -> None:
    from actionlab.video.seeking import plan_runs

    keys = np.array([0, 12, 24, 36])
    assert plan_runs(keys, np.array([3, 5, 13, 30, 31])) == [(0, [3, 5]), (12, [13]), (24, [30, 31])]
    # frame 12 right after 11: decoding on costs nothing extra, a seek would only add work
    assert plan_runs(keys, np.array([11, 12, 40])) == [(0, [11, 12]), (36, [40])]


def test_cold_read_opens_the_file_once(videos: dict[str, Path], monkeypatch, tmp_path: Path) -> None:
    import actionlab.video.cached as cached

    opened = []
    real_open = av.open
    monkeypatch.setattr(av, "open", lambda *a, **k: opened.append(a[0]) or real_open(*a, **k))
    monkeypatch.setenv("ACTIONLAB_CACHE", str(tmp_path / "cache"))
    cached.forget()
    path = videos["h264-gop250-bframes.mp4"]
    got = read_frames(path, [250, 10, 299])
    assert [frame_number(f) for f in got] == [250, 10, 299]
    assert opened == [str(path)]  # indexing and seeking share one open container


@pytest.mark.parametrize("name", ["h264-gop12-bframes.mp4", "mpeg4.avi", "vp9.webm"])
def test_read_sampled_is_probe_plus_read_frames_with_one_open(videos, name, monkeypatch) -> None:
    import actionlab.video.reader as reader
    from actionlab.video import read_sampled

    path = videos[name]
    info = probe(path)
    expected = read_frames(path, np.arange(2, info.num_frames, 9))
    opened = []
    real_open = reader.open_video
    monkeypatch.setattr(reader, "open_video", lambda p: opened.append(p) or real_open(p))
    frames, idx, got = read_sampled(path, lambda n: np.arange(2, n, 9), threads=1)
    assert got == info and idx.tolist() == list(range(2, info.num_frames, 9))
    np.testing.assert_array_equal(frames, expected)
    assert len(opened) == 1


def test_read_sampled_on_a_still_image(tmp_path: Path) -> None:
    from actionlab.video import read_sampled

    path = write_image(tmp_path / "still.png", numbered_frames(1)[0])
    frames, idx, info = read_sampled(path, lambda n: np.zeros(3, np.int64), size=32)
    assert frames.shape == (3, 32, 40, 3) and info.is_image and info.num_frames == 1 and idx.tolist() == [0, 0, 0]


@pytest.mark.parametrize("name", ["mpeg4.avi", "mpeg4-bframes.avi", "msmpeg4.avi"])
def test_first_read_of_a_decode_indexed_file_decodes_it_once(videos, name, tmp_path, monkeypatch) -> None:
    import actionlab.video.reader as reader
    from actionlab.video import cached

    full = full_decode(videos[name])
    indices = np.array([len(full) - 1, 3, 3, 40])
    monkeypatch.setenv("ACTIONLAB_CACHE", str(tmp_path / "cache"))
    cached.forget()  # a never-seen file: indexing decodes every frame, and the read converts from those
    with monkeypatch.context() as patch:
        patch.setattr(reader, "_decode", lambda *a: pytest.fail("decoded the file a second time"))
        cold = read_frames(videos[name], indices)
    warm = read_frames(videos[name], indices)  # index cached: the usual seeking read
    for a, b, i in zip(cold, warm, indices):
        np.testing.assert_array_equal(a, full[i])
        np.testing.assert_array_equal(b, full[i])
