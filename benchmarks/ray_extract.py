"""Ray extraction against local extraction of the same store config, in the same run.

    python benchmarks/ray_extract.py [--clips-per-class 24] [--features cnn2d:resnet18] [--workers 2]

Prints both wall times, the ratio ray/local (goal on a 2-core machine: <= 1.3, the engine's overhead: two cores
cannot show a speed-up), whether the fp32 features are bit-identical, and the decode cost per video measured
here (the number docs/SCALING.md sizes workers with). Ray's start-up (a local cluster, one actor per worker
that imports torch and receives the network) is inside the ray time: about 11 s here, so the default set is 336
videos (1.18 measured); 84 videos (`--clips-per-class 6`) gave 1.84.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np


def _extract(dataset, features: str, store: Path, engine) -> tuple[float, Path]:
    from actionlab.features import create_extractor, extract

    extractor = create_extractor(features, bf16=False)
    start = time.perf_counter()
    summary = extract(dataset, extractor, store, progress=False, engine=engine)
    return time.perf_counter() - start, summary.store


def _decode_ms(dataset, features: str) -> float:
    from actionlab.features import create_extractor

    extractor = create_extractor(features, bf16=False)
    paths = [s.path for s in dataset.train[:20]]
    start = time.perf_counter()
    for path in paths:
        extractor.decode(path)
    return 1000 * (time.perf_counter() - start) / len(paths)


def main() -> None:
    """Run both engines on one synthetic set and print the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips-per-class", type=int, default=24)
    parser.add_argument("--features", default="cnn2d:resnet18")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    from actionlab.data import dataset_from_spec
    from actionlab.features.ray_engine import RayEngine
    from actionlab.features.store import FeatureStore
    from actionlab.synth import generate

    work = Path(tempfile.mkdtemp(prefix="actionlab-ray-bench-"))
    try:
        root = generate(work / "set", num_clips_per_class=args.clips_per_class, size=112, seed=5)
        dataset = dataset_from_spec(f"folder:{root}")
        samples = dataset.train + dataset.test
        local_s, local_store = _extract(dataset, args.features, work / "local", None)
        ray_s, ray_store = _extract(dataset, args.features, work / "ray", RayEngine(workers=args.workers))
        a, b = FeatureStore(local_store), FeatureStore(ray_store)
        same = all(np.array_equal(a.get(s, normalize=False).values, b.get(s, normalize=False).values) for s in samples)
        print(f"videos: {len(samples)}  features: {args.features} fp32  ray workers: {args.workers}")
        print(f"local: {local_s:.1f} s ({len(samples) / local_s:.2f} videos/s)")
        print(f"ray:   {ray_s:.1f} s ({len(samples) / ray_s:.2f} videos/s)")
        print(f"ratio ray/local: {ray_s / local_s:.2f} (goal <= 1.3)")
        print(f"features bit-identical: {same}")
        print(f"decode per video (one thread): {_decode_ms(dataset, args.features):.1f} ms")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
