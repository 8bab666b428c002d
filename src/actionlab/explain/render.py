"""Pictures of explanations: one grid PNG per video (time steps across, frame/maps down) and the report strip.

Drawn with OpenCV (already a dependency; composing small uint8 tiles is a few array copies, no figure engine).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from actionlab.atomic import atomic_write
from actionlab.errors import ConfigError
from actionlab.explain.gradcam import overlay
from actionlab.explain.maps import StreamMaps

ROW_NAMES = {"frames": "frame", "activation": "activation", "gradcam": "Grad-CAM", "guided": "guided backprop"}
LEFT, HEAD, FONT = 118, 18, cv2.FONT_HERSHEY_SIMPLEX


def cell_size(frames: np.ndarray, minimum: int = 96) -> int:
    """Tile side: the frames' size, enlarged by an integer factor to at least `minimum` px."""
    side = max(frames.shape[1:3])
    return side * max(1, -(-minimum // side))


def tiles(maps: StreamMaps, row: str) -> np.ndarray:
    """uint8 (F, H, W, 3) tiles of one row: the frames, a heat-map overlay, or the guided energy in grey."""
    if row == "frames":
        return maps.frames
    if row == "guided" and maps.guided is not None:
        grey = (np.clip(maps.guided, 0, 1) * 255).astype(np.uint8)
        return np.repeat(grey[..., None], 3, axis=-1)
    return overlay(maps.frames, getattr(maps, row), alpha=0.5)


def stream_rows(maps: StreamMaps) -> list[str]:
    """The rows a stream has: its frames, then every map that was computed."""
    return ["frames"] + [r for r in ("activation", "gradcam", "guided") if getattr(maps, r) is not None]


def text(img: np.ndarray, s: str, x: int, y: int, scale: float = 0.4, colour: tuple = (20, 20, 20)) -> None:
    """Draw `s` with its baseline at (x, y) (RGB colour)."""
    cv2.putText(img, s, (x, y), FONT, scale, colour, 1, cv2.LINE_AA)


def strip_row(images: np.ndarray, side: int, gap: int = 2) -> np.ndarray:
    """F tiles side by side, each scaled (nearest: the pixels the network saw) to side x side."""
    row = np.full((side, len(images) * (side + gap) - gap, 3), 255, np.uint8)
    for i, img in enumerate(images):
        row[:, i * (side + gap) : i * (side + gap) + side] = cv2.resize(
            img, (side, side), interpolation=cv2.INTER_NEAREST
        )
    return row


def grid(title: str, streams: list[StreamMaps]) -> np.ndarray:
    """The video's grid: a title line, then per stream a header of step labels and one row per map."""
    if not streams:
        raise ConfigError(None, "nothing to draw: no stream was explained")
    side = cell_size(streams[0].frames)
    blocks = []
    for maps in streams:
        rows = [strip_row(tiles(maps, r), side) for r in stream_rows(maps)]
        width = LEFT + rows[0].shape[1]
        block = np.full((HEAD + len(rows) * (side + 2), width, 3), 255, np.uint8)
        for i, label in enumerate(maps.labels):
            text(block, label, LEFT + i * (side + 2) + 2, HEAD - 5, 0.35)
        for k, (name, row) in enumerate(zip(stream_rows(maps), rows)):
            y = HEAD + k * (side + 2)
            block[y : y + side, LEFT:] = row
            text(block, f"{maps.name}: {ROW_NAMES[name]}" if len(streams) > 1 else ROW_NAMES[name], 4, y + side // 2)
        blocks.append(block)
    width = max(b.shape[1] for b in blocks)
    head = np.full((24, width, 3), 255, np.uint8)
    text(head, title, 4, 16, 0.45)
    padded = [np.pad(b, ((0, 4), (0, width - b.shape[1]), (0, 0)), constant_values=255) for b in blocks]
    return np.concatenate([head, *padded])


def write_png(path: str | Path, image: np.ndarray) -> Path:
    """Write an RGB uint8 image as PNG, atomically."""

    def write(tmp: Path) -> None:
        if not cv2.imwrite(str(tmp), cv2.cvtColor(image, cv2.COLOR_RGB2BGR)):
            raise OSError(f"OpenCV could not write {tmp}")

    return atomic_write(path, write)
