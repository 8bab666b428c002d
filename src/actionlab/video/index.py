"""Frame index of a video: frame count and pts → frame-number map, from demuxing (exact codecs) or decoding."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import av
import numpy as np

from actionlab.errors import VideoError
from actionlab.video.opening import open_video

# Codecs where one non-empty packet is exactly one frame; others (mpeg4 packed B-frames, damaged streams) decode.
DEMUX_EXACT = frozenset({"h264", "hevc", "vp8", "vp9", "av1", "mjpeg", "mpeg2video", "mpeg1video"})
DECODE_ERRORS = (av.error.InvalidDataError, av.error.FFmpegError, ValueError)


class KeptFrames:
    """Frames decoded while indexing, kept in order up to `budget` bytes (then all dropped: a long video)."""

    def __init__(self, budget: int) -> None:
        self.frames: list[av.VideoFrame] | None = []
        self.budget, self.used = budget, 0

    def fits(self, claimed_frames: int, codec) -> bool:
        """Whether the header's frame count of 8-bit 4:2:0 frames fits the budget (True when unknown)."""
        return claimed_frames * codec.width * codec.height * 3 // 2 <= self.budget

    def add(self, frame: av.VideoFrame) -> None:
        """Keep one more decoded frame, or give up keeping once over budget."""
        if self.frames is None:
            return
        self.used += sum(plane.buffer_size for plane in frame.planes)
        if self.used > self.budget:
            self.frames = None
        else:
            self.frames.append(frame)


@dataclass(frozen=True)
class FrameIndex:
    """Presentation timestamps of every decodable frame and the frame numbers of keyframes (seek points)."""

    num_frames: int
    pts: np.ndarray | None  # sorted frame pts, or None when seeking cannot be made exact
    keyframes: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    damage: str | None = None  # why decoding stopped early, if it did

    def index_of(self) -> dict[int, int]:
        """Map pts → frame number."""
        return {int(p): i for i, p in enumerate(self.pts)} if self.pts is not None else {}


def build_index(path: Path, opened: tuple | None = None, keep: KeptFrames | None = None) -> FrameIndex:
    """Index a video by demuxing when that is exact, otherwise by a full decode (no RGB conversion).

    `opened` is a (container, stream) pair of `path` to use (and leave open, at an unspecified position) instead
    of opening the file again: opening costs as much as demuxing a short clip. When indexing decodes, `keep`
    collects the decoded frames (within its byte budget) so the caller need not decode them a second time.
    """
    container, stream = opened or open_video(path)
    try:
        claimed = _claimed_frames(container, stream)
        index = None
        if stream.codec_context.name in DEMUX_EXACT:
            index = _demux_index(path, container, stream)
            # An intact file's header agrees with its packet count; only a disagreement (truncation, damage)
            # is worth decoding the last GOP to confirm the packets really decode.
            suspicious = index is not None and not _agrees(claimed, index.num_frames)
            if suspicious and not _tail_decodes(container, stream, index):
                index = None
    finally:
        if opened is None:
            container.close()
    if index is None:
        fresh, fresh_stream = open_video(path)
        try:
            if keep is not None and not keep.fits(claimed, fresh_stream.codec_context):
                keep = None  # keeping frames that will not fit only costs allocations
            index = _decode_index(path, fresh, fresh_stream, keep)
        finally:
            fresh.close()
    if index.damage is None and claimed > index.num_frames and not _agrees(claimed, index.num_frames):
        damage = f"the header claims {claimed} frames but only {index.num_frames} decode (truncated or damaged file)"
        index = replace(index, damage=damage)
    return index


def _agrees(claimed: int, counted: int) -> bool:
    """Header estimates (duration x rate) are approximate: allow 10% plus two frames."""
    return claimed > 0 and abs(claimed - counted) <= 0.1 * counted + 2


def _claimed_frames(container: av.container.InputContainer, stream) -> int:
    """Frame count the header claims (frame count field, else duration x rate); 0 when unknown."""
    if stream.frames:
        return int(stream.frames)
    rate = stream.average_rate or stream.guessed_rate
    if container.duration and rate:
        return int(round(container.duration / av.time_base * float(rate)))
    return 0


def _demux_index(path: Path, container: av.container.InputContainer, stream) -> FrameIndex | None:
    pts, keys = [], []
    try:
        for packet in container.demux(stream):
            if packet.size == 0 or packet.pts is None:
                if packet.size and packet.pts is None:
                    return None
                continue
            if packet.is_corrupt:
                return None
            pts.append(packet.pts)
            if packet.is_keyframe:
                keys.append(packet.pts)
    except DECODE_ERRORS:
        return None
    if not pts or len(set(pts)) != len(pts):
        return None
    order = np.sort(np.asarray(pts, dtype=np.int64))
    keyframes = np.searchsorted(order, np.asarray(sorted(keys), dtype=np.int64))
    return FrameIndex(len(order), order, keyframes)


def _tail_decodes(container: av.container.InputContainer, stream, index: FrameIndex) -> bool:
    """Decode from the last keyframe to the end: a truncated or damaged tail makes the demux count wrong."""
    if len(index.keyframes) == 0:
        return False
    last_key = int(index.keyframes[-1])
    lookup = index.index_of()
    try:
        container.seek(int(index.pts[last_key]), stream=stream, backward=True, any_frame=False)
        seen = set()
        for frame in container.decode(stream):
            if frame.pts is None or frame.pts not in lookup:
                return False
            seen.add(lookup[frame.pts])
    except DECODE_ERRORS:
        return False
    return all(i in seen for i in range(last_key, index.num_frames))


def _decode_index(path: Path, container: av.container.InputContainer, stream,
                  keep: KeptFrames | None = None) -> FrameIndex:
    count, pts, keys, damage = 0, [], [], None
    try:
        for frame in container.decode(stream):
            if frame.key_frame:
                keys.append(count)
            count += 1
            pts.append(frame.pts)
            if keep is not None:
                keep.add(frame)
    except DECODE_ERRORS as err:
        damage = f"stream is damaged after frame {count} ({str(err).splitlines()[0][:120]})"
    if count == 0:
        raise VideoError(path, damage or "no frame decodes from the video stream")
    exact = None not in pts and len(set(pts)) == len(pts) and pts == sorted(pts)
    if not exact:
        return FrameIndex(count, None, damage=damage)
    return FrameIndex(count, np.asarray(pts, dtype=np.int64), np.asarray(keys, dtype=np.int64), damage)
