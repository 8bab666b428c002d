"""Pose trajectories of the synthetic actions: joint angles over time for an articulated front-view figure.

A pose is a float vector (see POSE_FIELDS). Angles are radians measured from straight down; a positive angle
moves a right-side limb towards image right, and the left side is mirrored, so equal values give a symmetric
pose (the figure has no facing cue). Reversal pairs are exact time reversals of each other's trajectory.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

POSE_FIELDS = ("dx", "dy", "lean", "r_sh", "r_el", "l_sh", "l_el", "r_hip", "r_knee", "l_hip", "l_knee")
POSE_SIZE = len(POSE_FIELDS)

ACTIONS: list[str] = [
    "wave",
    "clap",
    "jump",
    "squat",
    "punch",
    "kick",
    "run",
    "jumping_jacks",
    "sit_down",
    "stand_up",
    "raise_arms",
    "lower_arms",
    "walk_left",
    "walk_right",
]
# second -> first: the second action is the first one played backwards
REVERSALS: dict[str, str] = {"stand_up": "sit_down", "lower_arms": "raise_arms", "walk_right": "walk_left"}
# actions with a stool in the scene (both members of the pair, so the stool does not tell them apart)
WITH_STOOL = frozenset({"sit_down", "stand_up"})

SIT_DROP = 0.32  # how far the hips drop when sitting, in figure heights: the stool's seat is drawn to match
REST = np.array([0, 0, 0, 0.12, 0.05, 0.12, 0.05, 0.06, 0.0, 0.06, 0.0], dtype=np.float64)


@dataclass(frozen=True)
class Timing:
    """How one clip plays its action: length, speed factor, phase and the holds around a one-shot motion."""

    num_frames: int
    fps: float
    speed: float
    phase: float
    hold_start: float  # fraction of the clip before a one-shot motion starts
    hold_end: float  # fraction of the clip after it ends

    def swapped(self) -> Timing:
        """The same timing with the two holds exchanged (what a time reversal does to them)."""
        return Timing(self.num_frames, self.fps, self.speed, self.phase, self.hold_end, self.hold_start)


def _smooth(u: np.ndarray) -> np.ndarray:
    u = np.clip(u, 0.0, 1.0)
    return u * u * (3 - 2 * u)


def _pose(n: int, **fields: np.ndarray | float) -> np.ndarray:
    poses = np.tile(REST, (n, 1))
    for name, value in fields.items():
        poses[:, POSE_FIELDS.index(name)] = value
    return poses


def _periodic(action: str, t: np.ndarray, timing: Timing) -> np.ndarray:
    """Cyclic actions; t in seconds. A cycle is ~0.5-1.2 s so every clip holds several."""
    n = len(t)
    s = timing.speed
    w = lambda hz: 2 * np.pi * hz * s * t + timing.phase
    if action == "wave":
        # the whole arm sways, not just the hand: a forearm alone moves ~4 px at 48 px and drowns in noise
        c = np.sin(w(2.0))
        return _pose(n, r_sh=2.3 + 0.4 * c, r_el=0.3 + 1.1 * c, l_sh=0.12)
    if action == "clap":
        # front view: forearms swing in and out in front of the chest
        c = 0.5 + 0.5 * np.sin(w(1.8))
        return _pose(n, r_sh=1.2 - 0.4 * c, r_el=-0.3 - 1.8 * c, l_sh=1.2 - 0.4 * c, l_el=-0.3 - 1.8 * c)
    if action == "jump":
        c = np.sin(w(1.2))
        up = np.clip(c, 0, None)
        crouch = np.clip(-c, 0, None)
        return _pose(
            n,
            dy=-0.18 * up + 0.10 * crouch,
            r_sh=0.3 + 1.6 * up,
            l_sh=0.3 + 1.6 * up,
            r_hip=0.06 + 0.45 * crouch,
            r_knee=-0.9 * crouch,
            l_hip=0.06 + 0.45 * crouch,
            l_knee=-0.9 * crouch,
        )
    if action == "squat":
        c = 0.5 - 0.5 * np.cos(w(0.8))
        return _pose(
            n,
            dy=0.26 * c,
            r_sh=0.12 + 1.3 * c,
            l_sh=0.12 + 1.3 * c,
            r_hip=0.06 + 1.1 * c,
            r_knee=-1.9 * c,
            l_hip=0.06 + 1.1 * c,
            l_knee=-1.9 * c,
        )
    if action == "punch":
        # alternating straight punches to the sides; the idle fist stays guarded at the chest
        a = np.clip(np.sin(w(1.5)), 0, None) ** 0.6
        b = np.clip(-np.sin(w(1.5)), 0, None) ** 0.6
        return _pose(n, r_sh=0.6 + 1.0 * a, r_el=-2.2 * (1 - a), l_sh=0.6 + 1.0 * b, l_el=-2.2 * (1 - b))
    if action == "kick":
        k = np.clip(np.sin(w(1.0)), 0, None) ** 0.7
        return _pose(n, r_hip=0.06 + 1.3 * k, r_knee=-0.5 * (1 - k), lean=-0.25 * k, r_sh=0.4, l_sh=0.9 * k + 0.2)
    if action == "run":
        c = np.sin(w(2.2))
        up, down = np.clip(c, 0, None), np.clip(-c, 0, None)
        return _pose(
            n,
            dy=-0.08 * np.abs(c),
            r_hip=0.05 + 0.9 * up,
            r_knee=-1.6 * up,
            l_hip=0.05 + 0.9 * down,
            l_knee=-1.6 * down,
            r_sh=0.6 + 0.7 * c,
            r_el=-1.4,
            l_sh=0.6 - 0.7 * c,
            l_el=-1.4,
        )
    if action == "jumping_jacks":
        c = 0.5 - 0.5 * np.cos(w(1.1))
        return _pose(
            n,
            dy=-0.08 * np.sin(np.pi * c),
            r_sh=0.15 + 2.6 * c,
            l_sh=0.15 + 2.6 * c,
            r_hip=0.05 + 0.45 * c,
            l_hip=0.05 + 0.45 * c,
        )
    raise KeyError(action)


def _one_shot(action: str, u: np.ndarray) -> np.ndarray:
    """Forward members of the reversal pairs; u runs 0 -> 1 over the motion."""
    n = len(u)
    u = np.clip(u, 0.0, 1.0)  # the holds: still before and after the motion
    p = _smooth(u)
    if action == "sit_down":
        # front view of sitting: hips drop to stool height, thighs foreshortened and splayed, hands to the knees
        return _pose(
            n,
            dy=SIT_DROP * p,
            r_hip=0.06 + 1.2 * p,
            r_knee=-1.2 * p,
            l_hip=0.06 + 1.2 * p,
            l_knee=-1.2 * p,
            r_sh=0.12 + 0.8 * p,
            r_el=-0.4 * p,
            l_sh=0.12 + 0.8 * p,
            l_el=-0.4 * p,
        )
    if action == "raise_arms":
        return _pose(n, r_sh=0.12 + 2.85 * p, l_sh=0.12 + 2.85 * p, r_el=0.05 - 0.05 * p, l_el=0.05 - 0.05 * p)
    if action == "walk_left":
        # the body crosses most of the frame (~2/3 of its width); steps have no direction cue of their own
        steps = 2 * np.pi * 3.0 * u
        c = np.sin(steps)
        return _pose(
            n,
            dx=0.42 - 0.84 * u,
            dy=-0.03 * np.abs(np.sin(steps)),
            r_hip=0.06 + 0.35 * np.clip(c, 0, None),
            r_knee=-0.6 * np.clip(c, 0, None),
            l_hip=0.06 + 0.35 * np.clip(-c, 0, None),
            l_knee=-0.6 * np.clip(-c, 0, None),
            r_sh=0.2 + 0.25 * c,
            l_sh=0.2 - 0.25 * c,
        )
    raise KeyError(action)


def pose_trajectory(action: str, timing: Timing) -> np.ndarray:
    """Poses (num_frames, POSE_SIZE) of `action` played with `timing`."""
    if action in REVERSALS:
        return pose_trajectory(REVERSALS[action], timing.swapped())[::-1].copy()
    n = timing.num_frames
    if action in ("sit_down", "raise_arms", "walk_left"):
        frac = np.arange(n) / max(n - 1, 1)
        motion = max(1.0 - timing.hold_start - timing.hold_end, 1e-3)
        return _one_shot(action, (frac - timing.hold_start) / motion)
    if action not in ACTIONS:
        raise KeyError(action)
    return _periodic(action, np.arange(n) / timing.fps, timing)
