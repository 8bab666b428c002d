"""`flow:farneback` / `flow:dis`: dense optical flow on a FlowWindowSampler window, stored as uint8."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from actionlab.errors import FeatureError
from actionlab.features.base import Extractor, FeatureArray
from actionlab.sampling import FlowWindowSampler
from actionlab.video import read_sampled

METHODS = ("farneback", "dis")


def quantize_flow(flow: np.ndarray, bound: float) -> np.ndarray:
    """float flow → uint8, clipped to ±bound (0 px maps to 127.5, so it round-trips within bound/255)."""
    scaled = (np.clip(flow, -bound, bound) + bound) * (255.0 / (2 * bound))
    return np.round(scaled).astype(np.uint8)


def dequantize_flow(values: np.ndarray, bound: float = 20.0) -> np.ndarray:
    """uint8 flow from the store → float32 pixels (pass the store config's `bound`)."""
    return values.astype(np.float32) * (2 * bound / 255.0) - bound


class FlowExtractor(Extractor):
    """Flow between consecutive window frames: values uint8 (L, H, W, 2), indices the L+1 frames."""

    def __init__(
        self,
        method: str = "farneback",
        *,
        num_flows: int = 16,
        step: int = 2,
        size: int | tuple[int, int] = 112,
        bound: float = 20.0,
    ) -> None:
        if method not in METHODS:
            raise FeatureError(None, f"unknown flow method {method!r}; known: {METHODS}")
        self.method, self.size, self.bound = method, size, float(bound)
        self.sampler = FlowWindowSampler(num_flows, step)
        self.config = {
            "name": f"flow:{method}",
            "num_flows": num_flows,
            "step": step,
            "size": size,
            "bound": self.bound,
            "dtype": "uint8",
        }

    def _flow(self, prev: np.ndarray, nxt: np.ndarray) -> np.ndarray:
        if self.method == "dis":
            # Created per call: DIS objects keep state and are not safe to share across decode threads.
            return cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_FAST).calc(prev, nxt, None)
        return cv2.calcOpticalFlowFarneback(prev, nxt, None, 0.5, 3, 15, 3, 5, 1.2, 0)

    def transform(self, path: str | Path) -> FeatureArray:
        """Quantised flow for the sampled window."""
        frames, idx, info = read_sampled(path, self.sampler.sample, size=self.size, threads=1)
        return FeatureArray(self.flow_fields(frames), idx, info.fps)

    def flow_fields(self, frames: np.ndarray) -> np.ndarray:
        """Quantised flow (L, H, W, 2) between consecutive RGB frames (L + 1, H, W, 3) (predict --timeline too)."""
        gray = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in frames]
        flows = np.stack([self._flow(a, b) for a, b in zip(gray[:-1], gray[1:])])
        return quantize_flow(flows, self.bound)
