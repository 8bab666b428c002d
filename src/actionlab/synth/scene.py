"""One clip's randomised scene (background, placement, camera, noise, timing) and its rendering to frames."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from actionlab.synth.actions import ACTIONS, SIT_DROP, WITH_STOOL, Timing, pose_trajectory
from actionlab.synth.figure import Appearance, actor_appearance, draw_figure, joints

FPS = 25.0
REST_LEGS = 0.47  # hip height above the feet at rest, in figure units (thigh + shin, roughly)


@dataclass(frozen=True)
class ClipSpec:
    """Identity of one clip: everything else is derived from it deterministically."""

    seed: int
    label: int
    group: int  # actor, 1-based like UCF101's gXX
    index: int  # clip number within the class
    size: int

    @property
    def action(self) -> str:
        """The class name."""
        return ACTIONS[self.label]

    def rng(self, stream: int) -> np.random.Generator:
        """One of the clip's random streams (0: timing, 1: scene), independent of every other clip."""
        return np.random.default_rng([self.seed, 104729, self.label, self.index, stream])


def clip_timing(spec: ClipSpec) -> Timing:
    """Length, speed, phase and holds of a clip (the first draws of its random stream)."""
    rng = spec.rng(0)
    num_frames = int(rng.integers(int(2 * FPS), int(4 * FPS) + 1))  # the same draw: FPS is whole
    hold_start, hold_end = rng.uniform(0.05, 0.25, size=2)
    return Timing(
        num_frames,
        FPS,
        float(rng.uniform(0.7, 1.3)),
        float(rng.uniform(0, 2 * np.pi)),
        float(hold_start),
        float(hold_end),
    )


def _background(rng: np.random.Generator, s: int) -> np.ndarray:
    base = rng.integers(40, 215, size=3)
    kind = rng.integers(0, 4)
    if kind == 0:
        img = np.full((s, s, 3), base, dtype=np.float32)
    elif kind == 1:
        other = rng.integers(40, 215, size=3)
        angle = rng.uniform(0, 2 * np.pi)
        yy, xx = np.mgrid[0:s, 0:s] / s
        ramp = np.clip(0.5 + (xx - 0.5) * np.cos(angle) + (yy - 0.5) * np.sin(angle), 0, 1)[..., None]
        img = base * (1 - ramp) + other * ramp
    else:
        blobs = rng.normal(0, 22, size=(4, 4, 3)).astype(np.float32)
        img = base + cv2.resize(blobs, (s, s), interpolation=cv2.INTER_CUBIC)
    img = np.ascontiguousarray(np.clip(img, 0, 255), dtype=np.uint8)
    if kind == 3:  # static clutter: shapes that never move
        for _ in range(rng.integers(3, 8)):
            colour = tuple(int(c) for c in rng.integers(30, 225, size=3))
            x, y = (int(v) for v in rng.integers(0, s, size=2))
            r = int(rng.integers(s // 20, s // 6))
            if rng.random() < 0.5:
                cv2.rectangle(img, (x - r, y - r // 2), (x + r, y + r), colour, -1)
            else:
                cv2.circle(img, (x, y), r, colour, -1, cv2.LINE_AA)
    return img


def _separate(background: np.ndarray, look: Appearance, min_distance: float = 60.0) -> np.ndarray:
    """Pull a background that camouflages the figure halfway to black or white, whichever the figure is not."""
    colours = np.array([look.skin, look.shirt, look.pants], dtype=np.float32)
    mean = background.reshape(-1, 3).mean(axis=0)
    if np.linalg.norm(colours - mean, axis=1).min() >= min_distance:
        return background
    # at 48 px a limb is two pixels wide: a figure of the background's colour would move invisibly
    target = 0.0 if colours.mean() > 127 else 255.0
    return np.clip(background.astype(np.float32) * 0.5 + target * 0.5, 0, 255).astype(np.uint8)


def _stool(img: np.ndarray, foot_x: float, foot_y: float, px: float, colour: tuple[int, ...]) -> None:
    seat_y = foot_y - (REST_LEGS - SIT_DROP + 0.04) * px  # level with the sitting pelvis, behind it
    w = 0.2 * px
    t = max(2, int(0.035 * px))
    cv2.line(img, (int(foot_x - w), int(seat_y)), (int(foot_x + w), int(seat_y)), colour, t + 1, cv2.LINE_AA)
    for sx in (-0.8, 0.8):
        cv2.line(
            img, (int(foot_x + sx * w), int(seat_y)), (int(foot_x + sx * w * 1.1), int(foot_y)), colour, t, cv2.LINE_AA
        )


@dataclass
class _Camera:
    shake: np.ndarray  # (N, 2) pixel offsets, smooth
    zoom: np.ndarray  # (N,)

    @classmethod
    def draw(cls, rng: np.random.Generator, n: int, s: int) -> _Camera:
        amp = rng.uniform(0.0, 0.015) * s
        walk = np.cumsum(rng.normal(0, 1, size=(n, 2)), axis=0)
        walk = cv2.GaussianBlur(walk.astype(np.float32), (1, 9), 3).astype(np.float64)
        walk *= amp / max(np.abs(walk).max(), 1e-6)
        z0, z1 = rng.uniform(0.93, 1.07, size=2)
        return cls(walk, np.linspace(z0, z1, n))

    def matrix(self, i: int, s: int) -> np.ndarray:
        c = s / 2
        z = self.zoom[i]
        return np.array([[z, 0, c - z * c + self.shake[i, 0]], [0, z, c - z * c + self.shake[i, 1]]])


def render_clip(spec: ClipSpec, look: Appearance | None = None) -> np.ndarray:
    """Render the clip to RGB uint8 frames (N, size, size, 3)."""
    look = look or actor_appearance(spec.seed, spec.group)
    timing = clip_timing(spec)
    rng = spec.rng(1)
    s, n = spec.size, timing.num_frames
    poses = pose_trajectory(spec.action, timing)
    px = rng.uniform(0.66, 0.8) * s  # figure height in pixels
    feet = np.array([rng.uniform(0.42, 0.58) * s, rng.uniform(0.9, 0.96) * s])
    if spec.action.startswith("walk"):
        feet[0] = s / 2
    background = _separate(_background(rng, s), look)
    if spec.action in WITH_STOOL:
        _stool(background, feet[0], feet[1], px, tuple(int(c) for c in rng.integers(40, 200, size=3)))
    camera = _Camera.draw(rng, n, s)
    sigma = rng.uniform(1.5, 6.0)
    pad = 16
    noise = np.clip(rng.normal(0, sigma, size=(s + pad, s + pad, 3)), -127, 127).astype(np.int16)
    offsets = rng.integers(0, pad, size=(n, 2))
    frames = np.empty((n, s, s, 3), dtype=np.uint8)
    hips = feet - np.array([0.0, REST_LEGS * px])
    for i in range(n):
        m = camera.matrix(i, s)
        img = cv2.warpAffine(background, m, (s, s), borderMode=cv2.BORDER_REFLECT)
        pts = {k: m[:, :2] @ (hips + v * px) + m[:, 2] for k, v in joints(poses[i], look).items()}
        draw_figure(img, pts, look, px * m[0, 0])
        oy, ox = offsets[i]
        frames[i] = np.clip(img + noise[oy : oy + s, ox : ox + s], 0, 255)
    return frames
