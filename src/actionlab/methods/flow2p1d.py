"""flow2p1d: the residual (2+1)D network on L stacked optical-flow fields (2 x L channels), workflow B's motion stream.

Flow comes from the features package's FlowExtractor (DIS by default, `flow=farneback` in the config) on a
FlowWindowSampler window (L pairs every 2nd frame around the middle, every frame when the video is too short),
cached per video under cache_dir("flow") so a compare computes each video's flow once.
"""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from actionlab.errors import ActionlabError, ConfigError
from actionlab.features.base import config_hash
from actionlab.features.flow import METHODS, FlowExtractor, dequantize_flow
from actionlab.methods.clips import cached_array
from actionlab.methods.base import register_method
from actionlab.methods.frame_cnn import shift
from actionlab.methods.netmethod import NetMethod, create

# Flow is clipped at +-BOUND px: at the 48-112 px this method trains on, real motion between two sampled frames
# stays well inside it, and a small bound keeps the uint8 quantisation step (2*BOUND/255 px) fine.
BOUND = 8.0
# Dividing by this puts typical flow values near unit scale for the network.
SCALE = 2.0
FLOW_DEFAULTS: dict[str, Any] = {"flow": "dis", "num_flows": 16, "flow_step": 2}


def flow_extractor(cfg: dict[str, Any]) -> FlowExtractor:
    """The FlowExtractor a flow2p1d config asks for (square frames of `size` px so every video stacks)."""
    method = str(cfg.get("flow", FLOW_DEFAULTS["flow"]))
    if method not in METHODS:
        raise ConfigError(None, f"flow2p1d: flow must be one of {', '.join(METHODS)}, not {method!r}")
    size = int(cfg["size"])
    return FlowExtractor(method, num_flows=int(cfg.get("num_flows", FLOW_DEFAULTS["num_flows"])),
                         step=int(cfg.get("flow_step", FLOW_DEFAULTS["flow_step"])), size=(size, size), bound=BOUND)


def video_flow(path: str | Path, extractor: FlowExtractor) -> np.ndarray:
    """uint8 quantised flow (L, H, W, 2) of one video, cached on disk keyed by file and extractor config."""
    path = Path(path)
    return cached_array(path, "flow", config_hash(extractor.config), lambda: extractor.transform(path).values)


def _one(path: str | Path, extractor: FlowExtractor) -> np.ndarray | str:
    try:
        return video_flow(path, extractor)
    except ActionlabError as err:
        return err.reason
    except (OSError, ValueError) as err:
        return str(err) or type(err).__name__


def flow_many(paths: Sequence[str | Path], extractor: FlowExtractor, desc: str = "flow",
              workers: int = 2) -> tuple[np.ndarray, list[int], dict[str, str]]:
    """Stacked flow for the readable paths, their positions in `paths`, and a reason for each other path."""
    flows, kept, errors = [], [], {}
    # decoding and OpenCV flow release the GIL, so threads use both cores
    with ThreadPoolExecutor(max(1, workers)) as pool:
        results = pool.map(lambda p: _one(p, extractor), paths)
        for i, (p, out) in enumerate(tqdm(zip(paths, results), total=len(paths), desc=desc, file=sys.stderr,
                                          leave=False, disable=len(paths) < 2)):
            if isinstance(out, str):
                errors[str(p)] = out
            else:
                flows.append(out)
                kept.append(i)
    n, s = extractor.sampler.num_flows, extractor.config["size"]
    empty = np.zeros((0, n, *s, 2), np.uint8)
    return (np.stack(flows) if flows else empty), kept, errors


def flow_tensor(flows: np.ndarray) -> torch.Tensor:
    """uint8 flow (B, L, H, W, 2) -> float (B, 2, L, H, W) in units of SCALE pixels."""
    x = torch.from_numpy(dequantize_flow(np.ascontiguousarray(flows), BOUND) / SCALE)
    return x.permute(0, 4, 1, 2, 3).contiguous()


class Flow2P1D(NetMethod):
    """r2plus1d-small with in_channels=2 on (2, L, H, W) stacked flow."""

    name = "flow2p1d"
    description = "residual (2+1)D CNN on 16 stacked optical-flow fields (config flow=dis|farneback, num_flows)"
    temporal = True

    def build(self, num_classes: int, cfg: dict[str, Any]) -> nn.Module:
        # width 8: flow is a simpler signal than RGB, and half the width is ~3x faster on CPU at equal accuracy
        return create("r2plus1d-small", num_classes=num_classes, in_channels=2, width=int(cfg.get("width", 8)))

    def inputs(self, paths: Sequence[str | Path], cfg: dict[str, Any], desc: str) -> tuple[np.ndarray, list[int],
                                                                                          dict[str, str]]:
        """Quantised flow (N, L, H, W, 2) per readable path (computed once, then from the flow cache)."""
        return flow_many(paths, flow_extractor(cfg), desc.replace("decode", "flow"))

    def batch(self, flows: np.ndarray, rng: np.random.Generator | None) -> tuple[torch.Tensor, ...]:
        x = flow_tensor(flows)
        if rng is not None:
            # translation only: a horizontal flip would also have to negate x-flow and swap left/right classes
            x = shift(x.transpose(1, 2), rng).transpose(1, 2)
        return (x.contiguous(),)


FLOW2P1D = register_method(Flow2P1D())
