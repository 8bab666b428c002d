"""create_extractor(name, **options): the one way to build an extractor from its CLI name.

A name grammar (`cnn2d:<any torchvision backbone>`), not a dict of builders: each family imports its libraries
only when chosen (why the three registries stay separate: models/registry.py).
"""

from __future__ import annotations

from typing import Any

from actionlab.errors import FeatureError
from actionlab.features.base import Extractor

NAMES = ("sift-bow", "cnn2d:<backbone>", "cnn3d:<backbone>", "flow:farneback", "flow:dis")


def create_extractor(name: str, **options: Any) -> Extractor:
    """Build `sift-bow`, `cnn2d:<backbone>`, `cnn3d:<backbone>`, `flow:farneback` or `flow:dis`."""
    kind, _, arg = name.partition(":")
    try:
        if kind == "sift-bow" and not arg:
            from actionlab.features.sift import SiftBowExtractor

            return SiftBowExtractor(**options)
        if kind == "cnn2d" and arg:
            from actionlab.features.cnn2d import Cnn2dExtractor

            return Cnn2dExtractor(arg, **options)
        if kind == "cnn3d" and arg:
            from actionlab.features.cnn3d import Cnn3dExtractor

            return Cnn3dExtractor(arg, **options)
        if kind == "flow" and arg:
            from actionlab.features.flow import FlowExtractor

            return FlowExtractor(arg, **options)
    except TypeError as err:
        raise FeatureError(None, f"bad option for extractor {name!r}: {err}") from None
    raise FeatureError(None, f"unknown extractor {name!r}; known: {', '.join(NAMES)}")
