"""One sequential decode of a long video into a bounded ring buffer, handing out each window's frames.

The file is decoded once, front to back (no seek per window): a frame is converted to RGB only at the sizes
and positions some window reads, kept while a pending window still needs it, and dropped after. Memory is
bounded by one window's frames whatever the video's length. Frame i is the i-th frame of a full sequential
decode, the same numbering as video.read_frames, and conversion uses the same swscale call, so windows see
exactly the pixels `predict` sees.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
from av.video.reformatter import VideoReformatter

from actionlab.timeline.inputs import Need
from actionlab.video.index import DECODE_ERRORS
from actionlab.video.opening import open_video
from actionlab.video.reader import Size, target_size


@dataclass
class DecodeState:
    """What the decode reached: frames decoded and, when it stopped early, why."""

    decoded: int = 0
    damage: str | None = None
    peak_frames: int = 0  # most converted frames held at once (all sizes): bounded by the window, not the video


def converter(size: Size) -> Callable[[av.VideoFrame], np.ndarray]:
    """RGB conversion at `size`, one swscale context and thread (as video.reader converts for read_frames)."""
    reformatter = VideoReformatter()

    def convert(frame: av.VideoFrame) -> np.ndarray:
        h, w = target_size(frame.height, frame.width, size)
        return reformatter.reformat(frame, width=w, height=h, format="rgb24", threads=1).to_ndarray()

    return convert


class RingBuffer:
    """Converted frames of one size, by frame number, for the frames some window still needs."""

    def __init__(self, used: np.ndarray, size: Size) -> None:
        self.used, self.convert = used, converter(size)
        self.frames: dict[int, np.ndarray] = {}
        self.order: deque[int] = deque()

    def offer(self, i: int, frame: av.VideoFrame) -> None:
        """Keep frame i (converted) when a window reads it."""
        if i < len(self.used) and self.used[i]:
            self.frames[i] = self.convert(frame)
            self.order.append(i)

    def drop_before(self, first: int) -> None:
        """Forget frames no pending window reads (all windows from now on start at or after `first`)."""
        while self.order and self.order[0] < first:
            del self.frames[self.order.popleft()]

    def gather(self, positions: np.ndarray) -> np.ndarray:
        """(len(positions), H, W, 3) frames at these frame numbers."""
        return np.stack([self.frames[int(i)] for i in positions])


def used_frames(starts: np.ndarray, offsets: np.ndarray, num_frames: int) -> np.ndarray:
    """Boolean mask over the video's frames: read by some window at these starts with these offsets."""
    used = np.zeros(num_frames, dtype=bool)
    pos = (starts[:, None] + offsets.reshape(-1)[None, :]).reshape(-1)
    used[pos[(pos >= 0) & (pos < num_frames)]] = True
    return used


def stream_windows(
    path: Path,
    num_frames: int,
    starts: np.ndarray,
    span: int,
    needs: list[Need],
    state: DecodeState,
    on_frame: Callable[[int], None] | None = None,
) -> Iterator[tuple[int, list[np.ndarray]]]:
    """(window number, one frame array per need) for each window, in order, as soon as its frames decoded.

    A damaged stream ends the iteration early with `state.damage` set; later windows are not yielded.
    """
    keys = {repr(n.size): n.size for n in needs}  # needs of one size share a buffer
    offsets = {k: np.concatenate([n.offsets.reshape(-1) for n in needs if repr(n.size) == k]) for k in keys}
    buffers = {k: RingBuffer(used_frames(starts, offsets[k], num_frames), keys[k]) for k in keys}
    container, stream = open_video(path)
    k = 0
    try:
        for i, frame in enumerate(container.decode(stream)):
            if i >= num_frames or k >= len(starts):
                break
            for buf in buffers.values():
                buf.offer(i, frame)
            state.decoded = i + 1
            state.peak_frames = max(state.peak_frames, sum(len(b.frames) for b in buffers.values()))
            while k < len(starts) and starts[k] + span - 1 <= i:
                yield k, [buffers[repr(n.size)].gather(starts[k] + n.offsets.reshape(-1)) for n in needs]
                k += 1
                for buf in buffers.values():
                    buf.drop_before(int(starts[k]) if k < len(starts) else num_frames)
            if on_frame is not None:
                on_frame(i + 1)
    except DECODE_ERRORS as err:
        state.damage = f"the stream is damaged after frame {state.decoded} ({str(err).splitlines()[0][:120]})"
    finally:
        container.close()
    if k < len(starts) and state.damage is None:
        state.damage = f"only {state.decoded} of {num_frames} frames decode"
