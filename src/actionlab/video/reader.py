"""read_frames: decode exactly the requested frames, seeking to keyframes when that skips work."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import av
import cv2
import numpy as np
from av.video.reformatter import VideoReformatter

from actionlab.errors import VideoError
from actionlab.video.cached import frame_index
from actionlab.video.index import DECODE_ERRORS, FrameIndex, KeptFrames, decoded_frames
from actionlab.video.info import VideoInfo
from actionlab.video.opening import is_image, open_video, read_image
from actionlab.video.probe import describe, describe_image
from actionlab.video.seeking import Inexact, decode_seeking
from actionlab.video.threads import default_threads

Size = int | tuple[int, int] | None
# Decoded frames kept while a first read_sampled indexes a file by decoding it (64 MiB: about 20 s of 320x240), so
# that read converts them instead of decoding the file a second time (read_frames keeps just the frames it wants).
KEEP_BYTES = 64 * 2**20


def target_size(height: int, width: int, size: Size) -> tuple[int, int]:
    """Output (h, w) for `size`: None keeps it, an int is the short side, a pair is (h, w)."""
    if size is None:
        return height, width
    if isinstance(size, (int, np.integer)):
        if size <= 0:
            raise ValueError(f"size must be positive, got {size}")
        scale = size / min(height, width)
        return max(1, round(height * scale)), max(1, round(width * scale))
    h, w = size
    return int(h), int(w)


def read_frames(
    path: str | Path, indices: Sequence[int] | np.ndarray, *, size: Size = None, threads: int | None = None
) -> np.ndarray:
    """Return frames `indices` (any order, duplicates allowed) as uint8 RGB (N, H, W, 3).

    `threads` bounds the decoding threads of this one read (default: `default_threads()`, the usable cores);
    callers that already decode several videos at once pass 1.
    """
    wanted = {int(i) for i in np.asarray(indices).reshape(-1)}  # known up front: an indexing decode keeps them
    return _read(Path(path), lambda info: indices, size, threads, wanted)[0]


def read_sampled(
    path: str | Path, sample: Callable[[int], np.ndarray], *, size: Size = None, threads: int | None = None
) -> tuple[np.ndarray, np.ndarray, VideoInfo]:
    """(frames, indices, info): the frames at `sample(num_frames)` and what probe() says, opening the file once.

    The same as `info = probe(path); read_frames(path, idx := sample(info.num_frames))`, minus a second open of
    the file, which costs as much as decoding a few small frames (feature extraction reads thousands of videos).
    """
    return _read(Path(path), lambda info: sample(info.num_frames), size, threads)


def _read(
    path: Path,
    pick: Callable[[VideoInfo], Sequence[int] | np.ndarray],
    size: Size,
    threads: int | None,
    wanted: set[int] | None = None,
) -> tuple[np.ndarray, np.ndarray, VideoInfo]:
    """(frames, the indices `pick(info)` chose, as chosen, info), opening the file once; `wanted`: those
    indices when known before probing."""
    if is_image(path):
        image = read_image(path)  # read once: it serves probing and the frames
        info = describe_image(path, image)
        picked = np.asarray(pick(info))
        return _image_frames(path, image, picked.astype(np.int64).reshape(-1), size), picked, info
    container, stream = open_video(path)  # one open serves indexing (on a cache miss), probing and seeking
    kept = KeptFrames(KEEP_BYTES, wanted)
    try:
        index = frame_index(path, (container, stream), kept, threads)
        info = describe(path, stream, index)
        picked = np.asarray(pick(info))
        idx = picked.astype(np.int64).reshape(-1)
        bad = idx[(idx < 0) | (idx >= index.num_frames)]
        if bad.size:
            note = f"; {index.damage}" if index.damage else ""
            raise VideoError(path, f"frame {int(bad[0])} out of range: the video has {index.num_frames} frames{note}")
        if idx.size == 0:
            return np.zeros((0, 0, 0, 3), dtype=np.uint8), picked, info
        if kept.covers(np.unique(idx)):
            # a never-seen file: indexing decoded it from the start, convert the frames it kept
            convert = _converter(size)
            frames = kept.frames
            assert frames is not None  # covers() says so
            decoded = {int(i): convert(frames[int(i)]) for i in np.unique(idx)}
        else:
            decoded = _decode(
                path,
                container,
                stream,
                index,
                np.unique(idx),
                size,
                default_threads() if threads is None else max(1, threads),
            )
    finally:
        kept.frames = None
        container.close()
    return np.stack([decoded[int(i)] for i in idx]), picked, info


def _image_frames(path: Path, image: np.ndarray, idx: np.ndarray, size: Size) -> np.ndarray:
    if np.any(idx != 0):
        raise VideoError(path, f"frame {int(idx[idx != 0][0])} out of range: a still image has 1 frame")
    h, w = target_size(image.shape[0], image.shape[1], size)
    if (h, w) != image.shape[:2]:
        image = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
    return np.repeat(image[None], len(idx), axis=0)


def _decode(
    path: Path, container, stream, index: FrameIndex, wanted: np.ndarray, size: Size, threads: int
) -> dict[int, np.ndarray]:
    """Decode the sorted unique `wanted` frames; `container` may be at any position (seeking starts with a seek)."""
    if index.pts is not None and len(index.keyframes):
        try:
            return decode_seeking(path, container, stream, index, wanted, lambda: _converter(size), threads)
        except (Inexact, *DECODE_ERRORS):
            pass  # the index disagrees with what the decoder produced: the sequential decode is always exact
    container, stream = open_video(path)
    try:
        return _decode_sequential(path, container, stream, wanted, _converter(size))
    finally:
        container.close()


def _converter(size: Size):
    """RGB conversion with one swscale context reused across frames (a fresh one per frame costs ~1 ms).

    One swscale thread: PyAV's default starts one per core, whose hand-offs cost more CPU than the conversion
    itself on frames up to 320x240, and they compete with the decoding threads read_frames already runs.
    """
    reformatter = VideoReformatter()

    def convert(frame: av.VideoFrame) -> np.ndarray:
        h, w = target_size(frame.height, frame.width, size)
        return reformatter.reformat(frame, width=w, height=h, format="rgb24", threads=1).to_ndarray()

    return convert


def _decode_sequential(path: Path, container, stream, wanted: np.ndarray, convert) -> dict[int, np.ndarray]:
    # No frame threading here: closing a frame-threaded h264 decoder after stopping mid-stream deadlocked
    # in FFmpeg's thread teardown (seen with PyAV 18), and stopping early is the point of this function.
    stream.thread_type, stream.thread_count = "SLICE", 1  # the reference decode: concealment depends on threads
    wanted_set = {int(i) for i in wanted}
    last = int(wanted[-1])
    out: dict[int, np.ndarray] = {}
    count = 0
    errors: list[str] = []
    frames = decoded_frames(container, stream, errors)  # the same decode the index counted
    for frame in frames:
        if count in wanted_set:
            out[count] = convert(frame)
        count += 1
        if count > last:
            break
    frames.close()
    missing = sorted(wanted_set - out.keys())
    if missing:
        damage = f"; {len(errors)} packet(s) do not decode (first: {errors[0]})" if errors else ""
        raise VideoError(path, f"frame {missing[0]} does not decode: only {count} frames decode{damage}")
    return out
