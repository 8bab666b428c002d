"""Frame index of a video: frame count, pts → frame-number map and keyframes, from one full sequential decode.

Frame i is the i-th frame that decodes, the way the ffmpeg tool decodes: packets in file order, a packet that
fails to decode skipped. Packet counts and header claims are never trusted: a damaged packet yields no frame.
"""

from __future__ import annotations

import contextlib
from collections.abc import Generator
from dataclasses import dataclass, field, replace
from pathlib import Path

import av
import numpy as np

from actionlab.errors import VideoError
from actionlab.video.opening import open_video
from actionlab.video.threads import FRAME_THREADED, default_threads, worth_threads

# Codecs where one non-empty packet holds at most one frame, whose pts is the packet's: seeking reads stop right
# after the last wanted packet (others, such as mpeg4 with packed B-frames, decode on to the end of a run).
DEMUX_EXACT = frozenset({"h264", "hevc", "vp8", "vp9", "av1", "mjpeg", "mpeg2video", "mpeg1video"})
DECODE_ERRORS = (av.error.InvalidDataError, av.error.FFmpegError, ValueError)


class KeptFrames:
    """Frames decoded while indexing, by frame number: the `wanted` ones when the caller knows them, else all of
    them up to `budget` bytes (then all dropped: a long video)."""

    def __init__(self, budget: int, wanted: set[int] | None = None) -> None:
        self.frames: dict[int, av.VideoFrame] | None = {}
        self.budget, self.used, self.wanted, self.count = budget, 0, wanted, 0

    def fits(self, claimed_frames: int, codec) -> bool:
        """Whether keeping can work: wanted frames always fit (the caller holds them anyway), all frames when the
        header's frame count of 8-bit 4:2:0 frames fits the budget (True when unknown)."""
        return self.wanted is not None or claimed_frames * codec.width * codec.height * 3 // 2 <= self.budget

    def add(self, frame: av.VideoFrame) -> None:
        """Count one more decoded frame and keep it if wanted, or give up keeping once over budget."""
        number, self.count = self.count, self.count + 1
        if self.frames is None or (self.wanted is not None and number not in self.wanted):
            return
        self.used += sum(plane.buffer_size for plane in frame.planes)
        if self.used > self.budget and self.wanted is None:
            self.frames = None
        else:
            self.frames[number] = frame

    def covers(self, numbers: np.ndarray) -> bool:
        """Whether every frame in `numbers` was kept."""
        return self.frames is not None and all(int(i) in self.frames for i in numbers)


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


def build_index(
    path: Path, opened: tuple | None = None, keep: KeptFrames | None = None, threads: int | None = None
) -> FrameIndex:
    """Index a video by a full sequential decode (no RGB conversion): only decoding tells which packets yield a
    frame, so counting packets, or trusting the header, numbers frames wrongly after a damaged packet.

    `opened` is a freshly opened (container, stream) pair of `path` to use (and leave open, its decoder flushed)
    instead of opening the file again: opening costs as much as decoding a few small frames. `keep` collects the
    decoded frames (within its byte budget) so the caller need not decode them a second time; `threads` bounds
    the decoding threads (default: `default_threads()`).
    """
    container, stream = opened or open_video(path)
    try:
        claimed = _claimed_frames(container, stream)
        if keep is not None and not keep.fits(claimed, stream.codec_context):
            keep = None  # keeping frames that will not fit only costs allocations
        _index_threads(path, stream, claimed, default_threads() if threads is None else max(1, threads))
        index = _decode_index(path, container, stream, keep)
    finally:
        if opened is None:
            container.close()
    if index.damage is None and claimed > index.num_frames and not _agrees(claimed, index.num_frames):
        damage = f"the header claims {claimed} frames but only {index.num_frames} decode (truncated or damaged file)"
        index = replace(index, damage=damage)
    return index


def _index_threads(path: Path, stream, claimed: int, threads: int) -> None:
    """Frame threads for single-slice-friendly h264/hevc, slice threads otherwise, one for cheap frames.

    The index decode runs to the end and drains the decoder, so frame threads are safe here (stopping a
    frame-threaded decoder mid-stream is what deadlocked, see reader._decode_sequential).
    """
    codec = stream.codec_context
    if codec.is_open:
        return
    per_frame = path.stat().st_size / claimed if claimed else 0.0
    if threads > 1 and not worth_threads(codec.width, codec.height, per_frame):
        threads = 1
    stream.thread_type = "FRAME" if threads > 1 and codec.name in FRAME_THREADED else "SLICE"
    stream.thread_count = threads


def decoded_frames(container: av.container.InputContainer, stream, errors: list[str]) -> Generator[av.VideoFrame]:
    """Every frame of a full sequential decode, in order, as the ffmpeg tool decodes: a packet that fails to
    decode is skipped (its reason appended to `errors`) and decoding goes on; a demuxing error ends the stream.
    The decoder is drained at the end."""
    codec = stream.codec_context
    try:
        for packet in container.demux(stream):
            try:
                frames = codec.decode(packet)  # the demuxer's empty end packet drains the decoder
            except DECODE_ERRORS as err:
                errors.append(_first_line(err))
                continue
            yield from frames
    except DECODE_ERRORS as err:
        errors.append(f"the file is unreadable from here: {_first_line(err)}")
    with contextlib.suppress(*DECODE_ERRORS):  # EOFError: already drained by the end packet
        yield from codec.decode(None)


def _first_line(err: BaseException) -> str:
    return str(err).splitlines()[0][:120] if str(err) else type(err).__name__


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


def _decode_index(
    path: Path, container: av.container.InputContainer, stream, keep: KeptFrames | None = None
) -> FrameIndex:
    errors: list[str] = []
    count, pts, keys, concealed = 0, [], [], 0
    for frame in decoded_frames(container, stream, errors):
        if frame.key_frame:
            keys.append(count)
        count += 1
        concealed += frame.is_corrupt
        pts.append(frame.pts)
        if keep is not None:
            keep.add(frame)
    if count == 0:
        raise VideoError(path, "no frame decodes from the video stream" + (f" ({errors[0]})" if errors else ""))
    if errors or concealed:
        # What the decoder conceals depends on its threading (FFmpeg's error concealment differs between frame,
        # slice and no threads), and seeking changes what it conceals from: a damaged stream is read by the
        # reference decode itself, one thread from the start (pts None), and frames kept from a threaded
        # decode are dropped.
        if keep is not None and stream.codec_context.thread_count != 1:
            keep.frames = None
        parts = ([f"{len(errors)} packet(s) do not decode (first: {errors[0]})"] if errors else []) + (
            [f"{concealed} frame(s) are concealed"] if concealed else []
        )
        return FrameIndex(
            count, None, damage="damaged stream: " + ", ".join(parts) + "; frames are numbered as they decode"
        )
    exact = None not in pts and len(set(pts)) == len(pts) and pts == sorted(pts)
    if not exact:
        return FrameIndex(count, None)
    return FrameIndex(count, np.asarray(pts, dtype=np.int64), np.asarray(keys, dtype=np.int64))
