"""The articulated stick figure: actor appearance and drawing one pose with OpenCV."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import cv2
import numpy as np

from actionlab.synth.actions import POSE_FIELDS

SHIFT = 4  # fixed-point bits for sub-pixel drawing, so slow motion moves smoothly
_ONE = 1 << SHIFT


@dataclass(frozen=True)
class Appearance:
    """A stable look of one actor (group): proportions in figure heights, thickness and colours (RGB)."""

    head: float
    torso: float
    upper_arm: float
    forearm: float
    thigh: float
    shin: float
    shoulder: float
    hip: float
    limb: float  # limb thickness as a fraction of the figure height
    skin: tuple[int, int, int]
    shirt: tuple[int, int, int]
    pants: tuple[int, int, int]


def _vivid(rng: np.random.Generator, sat: tuple[float, float], val: tuple[float, float]) -> tuple[int, int, int]:
    hsv = np.array([[[rng.integers(0, 180), rng.uniform(*sat) * 255, rng.uniform(*val) * 255]]], dtype=np.uint8)
    r, g, b = (int(c) for c in cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0])
    return r, g, b


def actor_appearance(seed: int, group: int) -> Appearance:
    """The appearance of actor `group` (1-based) for `seed`; independent of the action."""
    rng = np.random.default_rng([seed, 7919, group])
    j = lambda x: x * rng.uniform(0.88, 1.12)
    skin = tuple(int(c) for c in np.array([224, 172, 140]) * rng.uniform(0.45, 1.12))
    return Appearance(
        head=j(0.085),
        torso=j(0.29),
        upper_arm=j(0.17),
        forearm=j(0.16),
        thigh=j(0.24),
        shin=j(0.23),
        shoulder=j(0.10),
        hip=j(0.06),
        limb=rng.uniform(0.045, 0.07),
        skin=cast(tuple[int, int, int], tuple(min(c, 255) for c in skin)),  # skin has three channels
        shirt=_vivid(rng, (0.5, 1.0), (0.55, 1.0)),
        pants=_vivid(rng, (0.3, 0.9), (0.3, 0.8)),
    )


def joints(pose: np.ndarray, look: Appearance) -> dict[str, np.ndarray]:
    """Joint positions in figure units (x right, y down) with the hips' centre at the origin at rest."""
    p = dict(zip(POSE_FIELDS, pose))
    down = lambda a: np.array([np.sin(a), np.cos(a)])
    hip = np.array([p["dx"], p["dy"]])
    neck = hip + look.torso * np.array([np.sin(p["lean"]), -np.cos(p["lean"])])
    out = {
        "hip": hip,
        "neck": neck,
        "head": neck + (look.head + 0.03) * np.array([np.sin(p["lean"]), -np.cos(p["lean"])]),
    }
    for side, sign in (("r", 1.0), ("l", -1.0)):
        sh = neck + np.array([sign * look.shoulder, 0.02])
        el = sh + look.upper_arm * down(sign * p[f"{side}_sh"])
        out[f"{side}_shoulder"], out[f"{side}_elbow"] = sh, el
        out[f"{side}_hand"] = el + look.forearm * down(sign * (p[f"{side}_sh"] + p[f"{side}_el"]))
        hp = hip + np.array([sign * look.hip, 0.0])
        kn = hp + look.thigh * down(sign * p[f"{side}_hip"])
        out[f"{side}_hip"], out[f"{side}_knee"] = hp, kn
        out[f"{side}_foot"] = kn + look.shin * down(sign * (p[f"{side}_hip"] + p[f"{side}_knee"]))
    return out


def _pt(xy: np.ndarray) -> tuple[int, int]:
    return int(round(xy[0] * _ONE)), int(round(xy[1] * _ONE))


def draw_figure(img: np.ndarray, pts: dict[str, np.ndarray], look: Appearance, px: float) -> None:
    """Draw the figure in place; `pts` are pixel positions, `px` pixels per figure unit."""
    t = max(2, int(round(look.limb * px)))
    aa = cv2.LINE_AA
    for side in ("l", "r"):
        for a, b in (("hip", "knee"), ("knee", "foot")):
            cv2.line(img, _pt(pts[f"{side}_{a}"]), _pt(pts[f"{side}_{b}"]), look.pants, t, aa, SHIFT)
    torso = np.array([pts["l_shoulder"], pts["r_shoulder"], pts["r_hip"], pts["l_hip"]]) * _ONE
    cv2.fillConvexPoly(img, torso.round().astype(np.int32), look.shirt, aa, SHIFT)
    for side in ("l", "r"):
        cv2.line(img, _pt(pts[f"{side}_shoulder"]), _pt(pts[f"{side}_elbow"]), look.shirt, t, aa, SHIFT)
        cv2.line(img, _pt(pts[f"{side}_elbow"]), _pt(pts[f"{side}_hand"]), look.skin, t, aa, SHIFT)
        cv2.circle(img, _pt(pts[f"{side}_hand"]), int(t * 0.6 * _ONE), look.skin, -1, aa, SHIFT)
    cv2.line(img, _pt(pts["neck"]), _pt(pts["head"]), look.skin, max(1, t // 2 + 1), aa, SHIFT)
    cv2.circle(img, _pt(pts["head"]), int(look.head * px * _ONE), look.skin, -1, aa, SHIFT)
