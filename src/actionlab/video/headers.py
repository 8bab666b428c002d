"""Image dimensions from the file header, read before any decoding (decompression-bomb check).

Hand-written because OpenCV has no header-only API (cv2.imread decodes the whole image before its size is
known) and Pillow's open enforces its own, separate pixel limit; a few bytes of PNG/JPEG/BMP/WebP header suffice.
"""

from __future__ import annotations

import struct
from pathlib import Path

HEADER_BYTES = 64
MAX_JPEG_SCAN = 1 << 20  # a JPEG's frame header follows its metadata segments: stop looking after 1 MiB
# JPEG start-of-frame markers (SOF0..SOF15 minus DHT, JPG and DAC, which share the range)
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def image_size(path: Path) -> tuple[int, int] | None:
    """(width, height) that the header of a PNG, JPEG, BMP or WebP file claims; None when it is none of them."""
    with open(path, "rb") as f:
        head = f.read(HEADER_BYTES)
        if head.startswith(b"\xff\xd8"):
            return _jpeg_size(f)
    if head.startswith(b"\x89PNG\r\n\x1a\n") and head[12:16] == b"IHDR":
        return struct.unpack(">II", head[16:24])
    if head.startswith(b"BM") and len(head) >= 26:
        width, height = struct.unpack("<ii", head[18:26])
        return abs(width), abs(height)  # a negative height means top-down rows
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return _webp_size(head)
    return None


def _jpeg_size(f) -> tuple[int, int] | None:
    f.seek(2)
    while f.tell() < MAX_JPEG_SCAN:
        marker = f.read(2)
        if len(marker) < 2 or marker[0] != 0xFF:
            return None
        if marker[1] == 0xFF:  # fill byte before a marker
            f.seek(-1, 1)
            continue
        if marker[1] in (0x01, *range(0xD0, 0xD8)):  # markers without a length
            continue
        length = f.read(2)
        if len(length) < 2:
            return None
        if marker[1] in _SOF:
            body = f.read(5)
            if len(body) < 5:
                return None
            height, width = struct.unpack(">HH", body[1:5])
            return width, height
        f.seek(struct.unpack(">H", length)[0] - 2, 1)
    return None


def _webp_size(head: bytes) -> tuple[int, int] | None:
    kind = head[12:16]
    if kind == b"VP8 " and len(head) >= 30:
        width, height = struct.unpack("<HH", head[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if kind == b"VP8L" and len(head) >= 25:
        bits = int.from_bytes(head[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if kind == b"VP8X" and len(head) >= 30:
        return int.from_bytes(head[24:27], "little") + 1, int.from_bytes(head[27:30], "little") + 1
    return None
