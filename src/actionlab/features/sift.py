"""`sift-bow`: SIFT descriptors on sampled grayscale frames, a k-means codebook, pooled bag-of-words."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from sklearn.cluster import MiniBatchKMeans
from sklearn.metrics import pairwise_distances_argmin

from actionlab.errors import ActionlabError, FeatureError
from actionlab.features.base import Extractor, FeatureArray
from actionlab.sampling import UniformSampler
from actionlab.video import read_sampled

POOLS = ("max", "mean", "sum")


class SiftBowExtractor(Extractor):
    """Bag of SIFT words: per-frame L1 histograms over a k-word codebook, pooled to one (1, k) vector."""

    needs_fit = True

    def __init__(
        self,
        *,
        k: int = 128,
        num_frames: int = 12,
        size: int = 160,
        pool: str = "max",
        max_descriptors: int = 20000,
        seed: int = 0,
    ) -> None:
        if pool not in POOLS:
            raise FeatureError(None, f"sift-bow pool must be one of {POOLS}, got {pool!r}")
        self.k, self.size, self.pool, self.seed = k, size, pool, seed
        self.max_descriptors = max_descriptors
        self.sampler = UniformSampler(num_frames)
        self.config = {
            "name": "sift-bow",
            "k": k,
            "num_frames": num_frames,
            "size": size,
            "pool": pool,
            "max_descriptors": max_descriptors,
            "seed": seed,
        }
        self.codebook: np.ndarray | None = None
        self.fitted_on: list[Path] = []
        self.fit_skipped: list[tuple[str, str]] = []

    def descriptors(self, path: str | Path) -> tuple[list[np.ndarray], np.ndarray, float]:
        """SIFT descriptors per sampled frame, the frame indices and the fps."""
        frames, idx, info = read_sampled(path, self.sampler.sample, size=self.size, threads=1)
        return self.frame_descriptors(frames), idx, info.fps

    def frame_descriptors(self, frames: np.ndarray) -> list[np.ndarray]:
        """SIFT descriptors of each RGB frame (predict --timeline passes its windows' frames)."""
        sift = cv2.SIFT_create()
        out = []
        for frame in frames:
            _, desc = sift.detectAndCompute(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY), None)
            out.append(np.zeros((0, 128), np.float32) if desc is None else desc)
        return out

    def fit(self, paths: list[Path]) -> None:
        """Fit the codebook on descriptors of the given (training) videos, subsampled for speed.

        A video that cannot be read is left out and listed in `fit_skipped` (path, reason), as transform()'s
        failures are: one bad file never stops the fit.
        """
        self.fitted_on = [Path(p) for p in paths]
        self.fit_skipped = []
        descs = []
        for p in paths:
            try:
                descs += self.descriptors(p)[0]
            except Exception as err:  # as extract's _guarded: a codec bug is one skipped video too
                reason = err.reason if isinstance(err, ActionlabError) else f"{type(err).__name__}: {err}"
                self.fit_skipped.append((str(p), reason.splitlines()[0] if reason else type(err).__name__))
        data = np.concatenate(descs) if descs else np.zeros((0, 128), np.float32)
        if len(data) < self.k:
            raise FeatureError(
                None,
                f"sift-bow: only {len(data)} descriptors in {len(paths)} training videos, "
                f"fewer than k={self.k}; use a smaller k or more videos",
            )
        rng = np.random.default_rng(self.seed)
        if len(data) > self.max_descriptors:
            data = data[rng.choice(len(data), self.max_descriptors, replace=False)]
        km = MiniBatchKMeans(self.k, random_state=self.seed, n_init=3, batch_size=2048).fit(data)
        self.codebook = km.cluster_centers_.astype(np.float32)

    def transform(self, path: str | Path) -> FeatureArray:
        """Pooled histogram (1, k)."""
        if self.codebook is None:
            raise FeatureError(path, "sift-bow codebook not fitted: call fit() on the training videos first")
        return self.bag(*self.descriptors(path))

    def bag(self, descs: list[np.ndarray], idx: np.ndarray, fps: float) -> FeatureArray:
        """Pooled histogram (1, k) of per-frame descriptors."""
        if self.codebook is None:
            raise FeatureError(None, "sift-bow codebook not fitted: call fit() on the training videos first")
        hists = np.zeros((len(descs), self.k), np.float32)
        for i, d in enumerate(descs):
            if len(d):
                words = pairwise_distances_argmin(d, self.codebook)
                hists[i] = np.bincount(words, minlength=self.k) / len(d)
        pooled = {"max": hists.max(0), "mean": hists.mean(0), "sum": hists.sum(0)}[self.pool]
        return FeatureArray(pooled[None].astype(np.float32), idx, fps)

    def state(self) -> dict[str, np.ndarray]:
        """The codebook, saved by the store."""
        return {} if self.codebook is None else {"codebook": self.codebook}

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        """Restore the codebook."""
        if "codebook" in state:
            self.codebook = np.asarray(state["codebook"], np.float32)
