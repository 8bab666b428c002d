"""Exact seek-based decoding: runs of wanted frames from keyframes, fed packet by packet, skipping needless work."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import av
import numpy as np

from actionlab.video.index import DECODE_ERRORS, DEMUX_EXACT, FrameIndex
from actionlab.video.opening import open_video
from actionlab.video.threads import FRAME_THREADED, slices_per_frame, worth_threads

# Codecs whose decoders honour skip_frame=NONREF without touching the pixels of the frames they still output.
SKIP_NONREF = frozenset({"h264", "hevc"})

MIN_SPLIT_FRAMES = 16
Run = tuple[int, list[int]]
Converter = Callable[[av.VideoFrame], np.ndarray]


class Inexact(Exception):
    """Seeking did not land where the index says: the caller falls back to a sequential decode."""


def plan_runs(keyframes: np.ndarray, wanted: np.ndarray) -> list[Run]:
    """Group sorted wanted frames into (keyframe, targets) runs, seeking only when that skips frames."""
    runs: list[Run] = []
    for target in (int(t) for t in wanted):
        key = int(keyframes[max(int(np.searchsorted(keyframes, target, side="right")) - 1, 0)])
        if runs and key <= runs[-1][1][-1] + 1:
            runs[-1][1].append(target)  # the keyframe is behind us: decoding on is cheaper than seeking back
        else:
            runs.append((key, [target]))
    return runs


def run_cost(run: Run) -> int:
    """Frames a run decodes: from its keyframe to its last target."""
    key, targets = run
    return targets[-1] - key + 1


def split_runs(runs: list[Run], parts: int) -> list[list[Run]]:
    """Cut the runs into at most `parts` consecutive groups of about equal decoding work."""
    costs = [run_cost(run) for run in runs]
    total, done = sum(costs), 0
    groups: list[list[Run]] = [[]]
    for run, cost in zip(runs, costs):
        if groups[-1] and len(groups) < parts and done >= total * len(groups) / parts:
            groups.append([])
        groups[-1].append(run)
        done += cost
    return groups


def decode_seeking(
    path: Path,
    container,
    stream,
    index: FrameIndex,
    wanted: np.ndarray,
    make_converter: Callable[[], Converter],
    threads: int = 1,
) -> dict[int, np.ndarray]:
    """Decode the sorted unique `wanted` frames run by run; raise Inexact if the decoder disagrees with the index.

    With `threads` > 1 the runs are shared among that many decoders when the work splits evenly (short GOPs);
    otherwise one decoder uses frame threads where they help (one long run through single-slice h264/hevc).
    """
    runs = plan_runs(index.keyframes, wanted)
    groups = split_runs(runs, threads) if threads > 1 else [runs]
    costs = [sum(map(run_cost, group)) for group in groups]
    # a second decoder costs an open of the file (~0.5 ms, a few small frames): worth it for enough work only
    if len(groups) > 1 and sum(costs) >= MIN_SPLIT_FRAMES and max(costs) <= 0.75 * sum(costs):
        return _decode_groups(path, container, stream, index, groups, make_converter)
    _set_threads(path, container, stream, index, threads)
    return _decode_runs(container, stream, index, runs, make_converter())


def _decode_groups(
    path: Path, container, stream, index: FrameIndex, groups: list[list[Run]], make_converter: Callable[[], Converter]
) -> dict[int, np.ndarray]:
    """One decoder per group, each on its own open file; PyAV releases the GIL while FFmpeg decodes."""

    def work(group: list[Run]) -> dict[int, np.ndarray]:
        own, own_stream = open_video(path)
        try:
            _set_threads(path, own, own_stream, index, 1)
            return _decode_runs(own, own_stream, index, group, make_converter())
        finally:
            own.close()

    # one thread per decoder: the parallelism is across decoders, and slice threads would oversubscribe
    _set_threads(path, container, stream, index, 1)
    with ThreadPoolExecutor(len(groups) - 1) as pool:
        others = [pool.submit(work, group) for group in groups[1:]]
        out = _decode_runs(container, stream, index, groups[0], make_converter())
        for future in others:
            out.update(future.result())  # re-raises Inexact or a decode error from the worker
    return out


def _set_threads(path: Path, container, stream, index: FrameIndex, threads: int) -> None:
    """Give a not-yet-opened decoder `threads` threads (frame threads for single-slice h264/hevc, else slice
    ones) when its frames are costly enough for threads to pay, else one."""
    codec = stream.codec_context
    if codec.is_open:
        return
    if threads > 1 and not worth_threads(codec.width, codec.height, path.stat().st_size / index.num_frames):
        threads = 1
    stream.thread_type, stream.thread_count = "SLICE", threads
    if threads > 1 and codec.name in FRAME_THREADED:
        assert index.pts is not None  # read_frames seeks only with an exact index
        container.seek(int(index.pts[index.keyframes[0]]), stream=stream, backward=True, any_frame=False)
        packet = next((p for p in container.demux(stream) if p.size), None)
        if packet is not None and slices_per_frame(codec.name, codec.extradata, bytes(packet)) == 1:
            stream.thread_type = "FRAME"


def _decode_runs(container, stream, index: FrameIndex, runs: list[Run], convert: Converter) -> dict[int, np.ndarray]:
    lookup = index.index_of()
    codec = stream.codec_context
    # Where one packet is one frame, its pts says which frame it is before decoding: decoding can stop right after
    # the last wanted packet (then drain the reorder delay) and skip non-reference frames no output needs.
    by_packet = codec.name in DEMUX_EXACT
    skip = by_packet and codec.name in SKIP_NONREF
    out: dict[int, np.ndarray] = {}
    pts = index.pts
    assert pts is not None  # read_frames seeks only with an exact index
    for key, targets in runs:
        container.seek(int(pts[key]), stream=stream, backward=True, any_frame=False)
        _decode_run(
            container, stream, lookup, {int(pts[t]) for t in targets}, set(targets), out, convert, by_packet, skip
        )
        if any(t not in out for t in targets):
            raise Inexact
    codec.skip_frame = "DEFAULT"
    return out


def _decode_run(
    container,
    stream,
    lookup: dict[int, int],
    pending: set[int],
    targets: set[int],
    out: dict[int, np.ndarray],
    convert,
    by_packet: bool,
    skip: bool,
) -> None:
    codec = stream.codec_context

    def take(frames) -> None:
        for frame in frames:
            if frame.pts is None or frame.pts not in lookup:
                raise Inexact
            number = lookup[frame.pts]
            if number in targets and number not in out:
                out[number] = convert(frame)

    for packet in container.demux(stream):
        if packet.size == 0:
            continue  # the demuxer's end marker; the drain below flushes the decoder
        if by_packet:
            wanted_packet = packet.pts in pending
            if skip:
                codec.skip_frame = "DEFAULT" if wanted_packet else "NONREF"
            pending.discard(packet.pts)
        try:
            frames = codec.decode(packet)
        except DECODE_ERRORS:
            continue  # a packet that fails to decode: the full decode the index comes from skipped it too
        take(frames)
        if targets.issubset(out):
            return  # the next run seeks, which flushes the decoder
        if by_packet and not pending:
            break
    codec.skip_frame = "DEFAULT"
    try:
        frames = codec.decode(None)  # drain the frames the decoder holds back for reordering
    except DECODE_ERRORS:
        frames = []
    take(frames)
