"""Decode parallelism: how many threads one read may use, and whether FFmpeg's frame threading helps a stream."""

from __future__ import annotations

import os
from collections.abc import Iterator

from actionlab.errors import ConfigError

# FFmpeg frame threads are used for single-slice h264/hevc only; other codecs, and multi-slice h264, get slice
# threads, and every codec gets runs split across decoders (benchmarks/decode_choices.py times both).
FRAME_THREADED = frozenset({"h264", "hevc"})
MAX_THREADS = 4
# Below both, a frame decodes in ~0.2 ms and handing frames between threads costs more than it saves: in
# benchmarks/decode_choices.py one thread reads 16 frames of a 320x240 camera-like h264 clip (10 kbit/frame)
# 1.18x faster than two, while at 66 kbit/frame two are 1.28x faster.
MIN_THREADED_PIXELS = 150_000
MIN_THREADED_BYTES = 4096


def default_threads() -> int:
    """Threads one read_frames call may use: $ACTIONLAB_DECODE_THREADS, else the usable cores (at most 4)."""
    value = os.environ.get("ACTIONLAB_DECODE_THREADS")
    if value:
        if not value.strip().isdigit() or int(value) < 1:
            raise ConfigError(None, f"ACTIONLAB_DECODE_THREADS must be a whole number of threads >= 1, not {value!r}")
        return int(value)
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1  # macOS
    return max(1, min(usable, MAX_THREADS))


def worth_threads(width: int, height: int, bytes_per_frame: float) -> bool:
    """Whether frames are costly enough to decode that more than one decoding thread pays."""
    return width * height >= MIN_THREADED_PIXELS or bytes_per_frame >= MIN_THREADED_BYTES


def slices_per_frame(codec_name: str, extradata: bytes | None, packet: bytes) -> int:
    """Coded slices (VCL NAL units) in one h264/hevc packet; 0 when the packet cannot be parsed."""
    if codec_name == "h264":
        length_size = extradata[4] % 4 + 1 if extradata and extradata[0] == 1 and len(extradata) > 4 else None
        return sum(1 for nal in _nal_units(packet, length_size) if nal and nal[0] & 0x1F in (1, 5))
    if codec_name == "hevc":
        length_size = extradata[21] % 4 + 1 if extradata and len(extradata) > 22 and extradata[0] == 1 else None
        return sum(1 for nal in _nal_units(packet, length_size) if nal and (nal[0] >> 1) & 0x3F < 32)
    return 0


def _nal_units(data: bytes, length_size: int | None) -> Iterator[bytes]:
    """NAL units of a packet: length-prefixed (mp4/mkv `avcC`/`hvcC`) or start-code delimited (Annex B)."""
    if length_size is not None:
        pos = 0
        while pos + length_size <= len(data):
            size = int.from_bytes(data[pos : pos + length_size], "big")
            pos += length_size
            if size <= 0 or pos + size > len(data):
                return
            yield data[pos : pos + size]
            pos += size
        return
    yield from data.split(b"\x00\x00\x01")[1:]
