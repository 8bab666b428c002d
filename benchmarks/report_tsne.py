"""t-SNE of 1,000 test videos for the compare report: actionlab's settings against sklearn's defaults.

    .venv/bin/python benchmarks/report_tsne.py [--points 1000] [--dim 512] [--classes 51]

Random class-clustered features stand in for a run's embeddings.npz. actionlab: PCA to 50 dimensions, Barnes-Hut
on one OpenMP thread, 500 iterations (report.plots.tsne_embedding, the figure drawn too); baseline: sklearn's
TSNE defaults on the raw features (all threads, 1,000 iterations). Goal: <= 30 s per method on a shared 2-core
machine.
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def main() -> None:
    """Time both and print seconds and the ratio."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--points", type=int, default=1000, help="test videos (default 1000)")
    p.add_argument("--dim", type=int, default=512, help="feature dimension (default 512)")
    p.add_argument("--classes", type=int, default=51, help="classes (default 51)")
    p.add_argument("--no-baseline", action="store_true", help="time actionlab's settings only")
    args = p.parse_args()
    from sklearn.manifold import TSNE

    from actionlab.report.plots import tsne_png

    rng = np.random.default_rng(0)
    y = rng.integers(0, args.classes, args.points)
    centres = rng.normal(size=(args.classes, args.dim)) * 2
    x = (rng.normal(size=(args.points, args.dim)) + centres[y]).astype(np.float32)
    classes = [f"class_{i}" for i in range(args.classes)]
    t0 = time.perf_counter()
    tsne_png(x, y, classes, title="benchmark")
    ours = time.perf_counter() - t0
    print(f"actionlab t-SNE + figure, {args.points} x {args.dim}: {ours:.1f} s")
    if args.no_baseline:
        return
    t0 = time.perf_counter()
    TSNE(n_components=2, init="pca", random_state=0).fit_transform(x)
    base = time.perf_counter() - t0
    print(f"sklearn TSNE defaults (embedding only): {base:.1f} s; ratio baseline/actionlab {base / ours:.2f}")


if __name__ == "__main__":
    main()
