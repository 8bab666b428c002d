"""Frame samplers: pure index arithmetic from a frame count to the frame indices to decode."""

from actionlab.sampling.padding import PAD_POLICIES, pad_indices
from actionlab.sampling.samplers import (
    DenseClipSampler,
    FlowWindowSampler,
    MiddleFrameSampler,
    MultiClipSampler,
    UniformSampler,
)

__all__ = [
    "PAD_POLICIES",
    "DenseClipSampler",
    "FlowWindowSampler",
    "MiddleFrameSampler",
    "MultiClipSampler",
    "UniformSampler",
    "pad_indices",
]
