"""Exact seek-based decoding: runs of wanted frames from keyframes, fed packet by packet, skipping needless work."""

from __future__ import annotations

from typing import Callable

import av
import numpy as np

from actionlab.video.index import DEMUX_EXACT, FrameIndex

# Codecs whose decoders honour skip_frame=NONREF without touching the pixels of the frames they still output.
SKIP_NONREF = frozenset({"h264", "hevc"})


class Inexact(Exception):
    """Seeking did not land where the index says: the caller falls back to a sequential decode."""


def plan_runs(keyframes: np.ndarray, wanted: np.ndarray) -> list[tuple[int, list[int]]]:
    """Group sorted wanted frames into (keyframe, targets) runs, seeking only when that skips frames."""
    runs: list[tuple[int, list[int]]] = []
    for target in (int(t) for t in wanted):
        key = int(keyframes[max(np.searchsorted(keyframes, target, side="right") - 1, 0)])
        if runs and key <= runs[-1][1][-1] + 1:
            runs[-1][1].append(target)  # the keyframe is behind us: decoding on is cheaper than seeking back
        else:
            runs.append((key, [target]))
    return runs


def decode_seeking(container, stream, index: FrameIndex, wanted: np.ndarray,
                   convert: Callable[[av.VideoFrame], np.ndarray]) -> dict[int, np.ndarray]:
    """Decode the sorted unique `wanted` frames run by run; raise Inexact if the decoder disagrees with the index."""
    lookup = index.index_of()
    codec = stream.codec_context
    # Where one packet is one frame, its pts says which frame it is before decoding: decoding can stop right after
    # the last wanted packet (then drain the reorder delay) and skip non-reference frames no output needs.
    by_packet = codec.name in DEMUX_EXACT
    skip = by_packet and codec.name in SKIP_NONREF
    out: dict[int, np.ndarray] = {}
    for key, targets in plan_runs(index.keyframes, wanted):
        container.seek(int(index.pts[key]), stream=stream, backward=True, any_frame=False)
        _decode_run(container, stream, lookup, {int(index.pts[t]) for t in targets}, set(targets), out,
                    convert, by_packet, skip)
        if any(t not in out for t in targets):
            raise Inexact
    codec.skip_frame = "DEFAULT"
    return out


def _decode_run(container, stream, lookup: dict[int, int], pending: set[int], targets: set[int],
                out: dict[int, np.ndarray], convert, by_packet: bool, skip: bool) -> None:
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
        take(codec.decode(packet))
        if targets.issubset(out):
            return  # the next run seeks, which flushes the decoder
        if by_packet and not pending:
            break
    codec.skip_frame = "DEFAULT"
    take(codec.decode(None))  # drain the frames the decoder holds back for reordering
