"""Feature extractors and the resumable feature store.

    from actionlab.features import create_extractor, extract, FeatureStore
    ex = create_extractor("cnn2d:resnet18", weights=None, num_frames=8, size=112)
    summary = extract(dataset, ex, "stores/")          # resumable; skipped videos listed, never fatal
    store = FeatureStore.open("stores/", dataset.name, ex)
    fa = store.get(sample, normalize=True)             # FeatureArray(values, indices, fps)

values: cnn2d (N frames, D), cnn3d (K clips, D), sift-bow (1, k), flow uint8 (L, H, W, 2) — restore with
dequantize_flow(values, store.config["bound"]). Training-split mean/std is applied by get(normalize=True)
to float features. A finished run also leaves everything in one HDF5 file, `store.h5_path` (see store.py).

CNN extractors batch frames/clips across videos (`batch_size`), decode the next videos in a background thread
while the network runs, and autocast to bf16 where the hardware runs it natively (`bf16=False` for fp32).
"""

from actionlab.features.base import Extractor, FeatureArray, config_hash
from actionlab.features.extract import ExtractSummary, extract
from actionlab.features.flow import dequantize_flow, quantize_flow
from actionlab.features.registry import create_extractor
from actionlab.features.store import FeatureStore, StoredItem

__all__ = [
    "ExtractSummary",
    "Extractor",
    "FeatureArray",
    "FeatureStore",
    "StoredItem",
    "config_hash",
    "create_extractor",
    "dequantize_flow",
    "extract",
    "quantize_flow",
]
