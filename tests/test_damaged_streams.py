"""Streams where some packets do not decode: frame i is the i-th frame of a full sequential decode, num_frames
the number that decode, and any damage is either read exactly or a VideoError (never a hang, crash or wrong frame).

The reference is the ffmpeg tool's decode on one thread: every packet in file order, a packet that fails to
decode skipped (one thread: what FFmpeg's error concealment paints into a damaged frame depends on its threads).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import av
import numpy as np
import pytest

from actionlab.errors import VideoError
from actionlab.video import cached, probe, read_frames, read_sampled
from media import numbered_frames, write_video

SRC = str(Path(__file__).resolve().parents[1] / "src")

REFERENCE = '''
def reference(path):
    """RGB frames of a full sequential decode that skips packets which fail to decode (as the ffmpeg tool does)."""
    import av
    out = []
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, UnicodeDecodeError):
        return out
    with container:
        if not container.streams.video:
            return out
        stream = container.streams.video[0]
        if stream.codec_context is None:
            return out
        stream.thread_type, stream.thread_count = "SLICE", 1  # what FFmpeg conceals depends on its threads
        try:
            for packet in container.demux(stream):
                try:
                    out += [f.to_ndarray(format="rgb24") for f in stream.codec_context.decode(packet)]
                except av.error.FFmpegError:
                    continue
        except av.error.FFmpegError:
            try:
                out += [f.to_ndarray(format="rgb24") for f in stream.codec_context.decode(None)]
            except av.error.FFmpegError:
                pass
    return out
'''
exec(REFERENCE)  # the same reference here and in the fuzz worker's process


def _nonkey_packets(path: Path) -> list[tuple[int, int]]:
    with av.open(str(path)) as container:
        return [(p.pos, p.size) for p in container.demux(video=0) if p.size and not p.is_keyframe]


def damage_packets(src: Path, dst: Path, which: list[int], seed: int = 0) -> Path:
    """Overwrite bytes inside some non-key packets of `src` (after their first bytes, so the container stays valid).

    In MPEG-TS a packet's bytes are spread over 188-byte transport packets: the bytes overwritten are those of
    the following transport packets, away from their headers.
    """
    data = bytearray(src.read_bytes())
    rng = np.random.default_rng(seed)
    packets = _nonkey_packets(src)
    for k in which:
        pos, size = packets[k]
        if src.suffix == ".ts":
            for j in (1, 2):
                at = (pos // 188 + j) * 188 + 40
                data[at : at + 100] = rng.integers(0, 256, 100, dtype=np.uint8).tobytes()
        else:
            at = pos + min(8, size // 4)
            data[at : pos + size] = rng.integers(0, 256, pos + size - at, dtype=np.uint8).tobytes()
    dst.write_bytes(bytes(data))
    return dst


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("clips")
    frames = numbered_frames(60, 64, 80)
    return {
        ".mp4": write_video(root / "h264.mp4", frames, gop=12, bframes=2),
        ".ts": write_video(root / "h264.ts", frames, gop=12, bframes=2),
        ".mkv": write_video(root / "h264.mkv", frames, gop=12, bframes=0),
        ".avi": write_video(root / "mpeg4.avi", frames, codec="mpeg4", gop=12),
    }


def _check_exact(path: Path, full: list[np.ndarray]) -> None:
    info = probe(path)
    assert info.num_frames == len(full)
    every = np.arange(len(full))
    for threads in (1, 3):
        got = read_frames(path, every[::-1], threads=threads)
        for frame, i in zip(got, every[::-1]):
            np.testing.assert_array_equal(frame, full[i])
    frames, idx, again = read_sampled(path, lambda n: np.arange(0, n, 7), threads=1)
    assert again.num_frames == len(full)
    for frame, i in zip(frames, idx):
        np.testing.assert_array_equal(frame, full[i])
    with pytest.raises(VideoError, match="out of range"):
        read_frames(path, [len(full)])


@pytest.mark.parametrize("suffix", [".mp4", ".ts", ".mkv"])
def test_h264_with_damaged_nonkey_packets_reads_as_it_decodes(clips, suffix, tmp_path, monkeypatch) -> None:
    bad = damage_packets(clips[suffix], tmp_path / f"bad{suffix}", [3, 10, 25, 33])
    full = reference(bad)  # noqa: F821 - defined by exec(REFERENCE)
    assert 0 < len(full) <= 60
    monkeypatch.setenv("ACTIONLAB_CACHE", str(tmp_path / "cache"))
    cached.forget()  # cold: the first read indexes the file
    _check_exact(bad, full)
    cached.forget()  # the index from the disk cache, as the next process sees it
    _check_exact(bad, full)


def test_mp4_where_packets_do_not_decode_counts_only_decoded_frames(clips, tmp_path) -> None:
    bad = damage_packets(clips[".mp4"], tmp_path / "bad.mp4", [3, 10, 25, 33])
    full = reference(bad)  # noqa: F821
    assert len(full) < 60, "the damage must make some packets undecodable for this test to mean anything"
    assert probe(bad).num_frames == len(full)
    np.testing.assert_array_equal(read_frames(bad, [len(full) - 1])[0], full[-1])


def test_header_valid_file_with_garbage_payload_is_a_video_error(clips, tmp_path) -> None:
    data = bytearray(clips[".mp4"].read_bytes())
    start = data.index(b"mdat") + 4  # the box header stays valid, every sample is garbage
    end = data.index(b"moov") - 4 if data.index(b"moov") > start else len(data)
    data[start:end] = np.random.default_rng(1).integers(0, 256, end - start, dtype=np.uint8).tobytes()
    bad = tmp_path / "garbage.mp4"
    bad.write_bytes(bytes(data))
    assert reference(bad) == []  # noqa: F821
    with pytest.raises(VideoError, match="no frame decodes"):
        probe(bad)
    with pytest.raises(VideoError, match="no frame decodes"):
        read_frames(bad, [0])


FUZZ_WORKER = REFERENCE + textwrap.dedent("""
    import hashlib, json, sys, time
    from pathlib import Path
    import numpy as np
    from actionlab.errors import VideoError
    from actionlab.video import cached, probe, read_frames

    def digest(a):
        return hashlib.sha1(np.ascontiguousarray(a).tobytes()).hexdigest()

    def check(path, seed):
        want = [digest(f) for f in reference(path)]
        rng = np.random.default_rng(seed)
        for attempt in ("cold", "warm"):
            try:
                n = probe(path).num_frames
            except VideoError:
                if want:
                    return f"{attempt} probe raised although {len(want)} frames decode"
                continue
            if n != len(want):
                return f"{attempt} probe says {n} frames, {len(want)} decode"
            idx = np.unique(np.r_[0, n - 1, rng.integers(0, n, 8)])
            try:
                got = [digest(f) for f in read_frames(path, idx, threads=int(rng.integers(1, 4)))]
            except VideoError as err:
                return f"{attempt} read_frames raised: {err}"
            wrong = [int(i) for i, g in zip(idx, got) if g != want[i]]
            if wrong:
                return f"{attempt} frames {wrong[:5]} differ from the full decode"
        return None

    for line in sys.stdin:
        job = json.loads(line)
        cached.forget()
        start = time.monotonic()
        problem = check(Path(job["path"]), job["seed"])
        print(json.dumps({"path": job["path"], "problem": problem, "seconds": time.monotonic() - start}), flush=True)
""")


def mutate(data: bytes, rng: np.random.Generator) -> bytes:
    """One random mutation: overwritten runs, a truncation, zeroed runs or a deleted run (kept past the header)."""
    out = bytearray(data)
    low = min(len(out) // 8, 4096)  # keep the container header readable most of the time
    kind = int(rng.integers(0, 4))
    if kind == 0:
        for _ in range(int(rng.integers(1, 6))):
            at, n = int(rng.integers(low, len(out) - 1)), int(rng.integers(1, 64))
            out[at : at + n] = rng.integers(0, 256, len(out[at : at + n]), dtype=np.uint8).tobytes()
    elif kind == 1:
        del out[int(rng.integers(low, len(out))) :]
    elif kind == 2:
        at = int(rng.integers(low, len(out) - 1))
        out[at : at + 512] = bytes(len(out[at : at + 512]))
    else:
        at = int(rng.integers(low, len(out) - 1))
        del out[at : at + int(rng.integers(1, 300))]
    return bytes(out)


def _fuzz(sources: list[Path], per_source: int, tmp_path: Path, limit_s: float) -> None:
    rng = np.random.default_rng(2024)
    jobs = []
    for src in sources:
        data = src.read_bytes()
        for k in range(per_source):
            path = tmp_path / f"{src.stem}-{k}{src.suffix}"
            path.write_bytes(mutate(data, rng))
            jobs.append({"path": str(path), "seed": k})
    env = {"PYTHONPATH": SRC, "ACTIONLAB_CACHE": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        [sys.executable, "-c", FUZZ_WORKER],
        input="".join(json.dumps(j) + "\n" for j in jobs),
        capture_output=True,
        text=True,
        timeout=limit_s * len(jobs) + 60,
        env=env,
    )
    results = [json.loads(line) for line in proc.stdout.splitlines()]
    assert proc.returncode == 0 and len(results) == len(jobs), (
        f"worker crashed (rc {proc.returncode}): {proc.stderr[-2000:]}"
    )
    problems = [f"{r['path']}: {r['problem']}" for r in results if r["problem"]]
    assert not problems, "\n".join(problems)
    slow = [r for r in results if r["seconds"] > limit_s]
    assert not slow, f"over {limit_s} s: {slow}"


def test_fuzzed_synthetic_clips_read_exactly_or_raise(clips, tmp_path) -> None:
    _fuzz([clips[".mp4"], clips[".ts"], clips[".avi"]], 10, tmp_path, limit_s=10)


def test_fuzzed_real_clips_read_exactly_or_raise(real_clips, tmp_path) -> None:
    _fuzz([real_clips / "cup.mp4", real_clips / "Megamind.avi"], 3, tmp_path, limit_s=30)


def test_reference_of_an_intact_clip_is_every_frame(clips) -> None:
    full = reference(clips[".mp4"])  # noqa: F821
    digests = {hashlib.sha1(frame.tobytes()).hexdigest() for frame in full}
    assert len(full) == 60 and len(digests) == 60
