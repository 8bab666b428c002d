"""The three maps of one stream, per time step: activation, Grad-CAM and guided backpropagation.

- activation: the channel mean of |activation| of the last convolutional stage (the last with maps of at
  least 2 x 2, see target.py), min-max scaled over the video
  (a mean, not a first PCA component: it has no sign ambiguity and no fit per video).
- Grad-CAM: ReLU(sum_c w_c A_c) with w_c the mean gradient of the class score over each item's positions
  (a frame for 2D streams, the whole clip for 3D ones), scaled by its maximum over the video.
- guided: channel-summed |guided gradient| of the class score w.r.t. the input, averaged over K sub-stride
  translations of the input (edge-replicated shifts; clips also in time), scaled by its 99.5th percentile. The average
  removes the lattice that strided 1x1 shortcut convolutions print on a plain guided gradient (see guided.py).

Hand-written rather than pytorch-grad-cam/Captum: neither is installed, and the streams' stacked views,
frame/clip layouts and two-stream scores need this glue around either of them anyway.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import torch
import torch.nn.functional as F

from actionlab.errors import ConfigError
from actionlab.explain.guided import GuidedMode
from actionlab.explain.streams import Stream
from actionlab.transforms.augment import move

METHODS = ("activation", "gradcam", "guided")


@dataclass
class StreamMaps:
    """One stream's maps, all (F, H, W) float32 in [0, 1] at the input resolution (None when not asked)."""

    name: str  # "rgb" or "flow"
    layer: str  # the explained layer's qualified name in the run's network
    labels: list[str]  # one per time step ("frame 12", "flow 10-12")
    frames: np.ndarray  # uint8 (F, H, W, 3): the input as the network saw it (flow: its magnitude, grey)
    activation: np.ndarray | None = None
    gradcam: np.ndarray | None = None
    guided: np.ndarray | None = None
    guided_grad: np.ndarray | None = None  # float32 (F, c, H, W): the raw shift-averaged guided gradient


Choice = Callable[[torch.Tensor], int]  # logits (V, C) -> the class to explain


def forward_pass(
    stream: Stream, choose: Choice, want_grad: bool
) -> tuple[str, torch.Tensor, torch.Tensor | None, int, torch.Size]:
    """(layer name, its activation, the activation's gradient for the chosen class or None, class, the shape of
    the last stage's output).

    Every candidate stage is hooked; the last whose maps are at least 2 x 2 is the one explained."""
    store: dict[int, torch.Tensor] = {}

    def keeper(i: int):
        def keep(_m: torch.nn.Module, _args: tuple, output: torch.Tensor) -> torch.Tensor:
            store[i] = output
            return output.clone()  # later in-place ops (c3d's ReLU after its last conv) must not touch it

        return keep

    handles = [m.register_forward_hook(keeper(i)) for i, (_, m) in enumerate(stream.layers)]
    try:
        with torch.enable_grad():
            x = stream.inputs[None].detach().clone().requires_grad_(want_grad)
            logits = stream.call(x)[0]
            ran = [i for i in sorted(store) if isinstance(store[i], torch.Tensor) and store[i].ndim >= 4]
            if not ran:
                raise ConfigError(
                    None, f"none of {stream.layers[-1][0]} and the stages before it took part in computing the scores"
                )
            wide = [i for i in ran if min(store[i].shape[-2:]) >= 2]
            pick = (wide or ran)[-1]
            cls = choose(logits.detach())
            act = store[pick]
            grad = torch.autograd.grad(logits[:, cls].sum(), act)[0] if want_grad else None
    finally:
        for h in handles:
            h.remove()
    return stream.layers[pick][0], act.detach(), grad, cls, store[ran[-1]].shape


def to_steps(maps: torch.Tensor, count: int, size: tuple[int, int]) -> torch.Tensor:
    """Per-item maps (N, h, w) or (N, t, h, w) -> (count, H, W) time steps at the input resolution."""
    if maps.ndim == 3:
        out = F.interpolate(maps[:, None].float(), size=size, mode="bilinear", align_corners=False)[:, 0]
    else:
        steps = count // len(maps)
        out = F.interpolate(maps[:, None].float(), size=(steps, *size), mode="trilinear", align_corners=False)
        out = out[:, 0].flatten(0, 1)
    if len(out) != count:
        raise ConfigError(None, f"{len(out)} map steps for {count} input steps: unexpected stream layout")
    return out


def activation_map(act: torch.Tensor, count: int, size: tuple[int, int]) -> np.ndarray:
    """Channel mean of |activation|, min-max scaled over the whole video."""
    m = to_steps(act.abs().mean(1), count, size)
    m = (m - m.min()) / (m.max() - m.min()).clamp_min(1e-12)
    return m.numpy().astype(np.float32)


def gradcam_map(act: torch.Tensor, grad: torch.Tensor, count: int, size: tuple[int, int]) -> np.ndarray:
    """Grad-CAM per item, scaled by its maximum over the video (all zero: no positive evidence)."""
    weights = grad.mean(dim=tuple(range(2, grad.ndim)), keepdim=True)
    cam = to_steps(F.relu((weights * act).sum(1)), count, size)
    return (cam / cam.max().clamp_min(1e-12)).numpy().astype(np.float32)


def shifts_for(count: int, periods: tuple[int, ...]) -> list[tuple[int, ...]]:
    """`count` translations, one amount per axis, distinct modulo its period (axes: dy, dx, and dt for clips), in Morton
    order over the axes whose period is above 1 (time first): the first 2**axes cover every phase of a
    stride-2 lattice, the next ones the stride-4 phases (the finest lattices print the sharpest dots)."""
    # time first: a 3D network's temporal strides leave whole frames without gradient, the worst lattice
    axes = [a for a in (2, 0, 1) if a < len(periods)]
    # bit b of the shift number moves axis `axis` by `step`; an axis gets bits only while its period exceeds them
    bits = [(a, 1 << k) for k in range(12) for a in axes if periods[a] > 1 << k] or [(0, 1)]
    out = []
    for i in range(count):
        amount = [0] * len(periods)
        for b, (axis, step) in enumerate(bits):
            if (i >> b) & 1:
                amount[axis] += step
        # 0, 1, 2, 3 -> 0, -1, 1, -2: the same phases, centred, so neither edge of the picture (or clip) is
        # always the one shifted out
        out.append(tuple(-(d + 1) // 2 if d % 2 else d // 2 for d in (a % p for a, p in zip(amount, periods))))
    return out


def shift(x: torch.Tensor, amounts: tuple[int, ...]) -> torch.Tensor:
    """x moved down, right (and later in time, for a third amount: axis -3 of a clip) by `amounts`."""
    for axis, d in zip((-2, -1, -3), amounts):
        x = move(x, axis, d)
    return x


def guided_maps(stream: Stream, cls: int, shifts: list[tuple[int, ...]]) -> tuple[np.ndarray, np.ndarray]:
    """(energy (F, H, W) in [0, 1], raw gradient (F, c, H, W)): the guided gradient of the class score averaged
    over the shifted copies (autograd maps each copy's gradient back to the unshifted input)."""
    x = stream.inputs.detach().clone().requires_grad_(True)
    with torch.enable_grad(), GuidedMode():
        xs = torch.stack([shift(x, s) for s in shifts])
        score = stream.call(xs)[..., cls].sum() / len(shifts)
    grad = torch.autograd.grad(score, x)[0]
    steps = stream.steps(grad).float()
    energy = steps.abs().sum(1)
    scale = (
        torch.quantile(energy.flatten(), 0.995).clamp_min(1e-12)
        if energy.numel() < 2**24
        else energy.max().clamp_min(1e-12)
    )
    return (energy / scale).clamp(0, 1).numpy().astype(np.float32), steps.numpy().astype(np.float32)


def display_frames(stream: Stream) -> np.ndarray:
    """uint8 (F, H, W, 3): RGB inputs un-normalised; flow as its magnitude (grey, scaled over the video)."""
    steps = stream.steps(stream.inputs).float()
    if stream.norm is not None:
        mean, std = (torch.tensor(v).view(1, -1, 1, 1) for v in stream.norm)
        img = (steps * std + mean).clamp(0, 1) * 255
    else:
        mag = steps.pow(2).sum(1, keepdim=True).sqrt()
        img = (mag / mag.max().clamp_min(1e-12) * 255).expand(-1, 3, -1, -1)
    return img.round().byte().permute(0, 2, 3, 1).contiguous().numpy()


def pick_steps(labels: list[str], count: int | None) -> np.ndarray:
    """Indices of `count` time steps spread evenly over the video, in frame order (all when None or fewer)."""
    numbers = [int(m.group()) if (m := re.search(r"\d+", s)) else i for i, s in enumerate(labels)]
    order = np.argsort(numbers, kind="stable")
    if count is None or count >= len(order):
        return order
    return order[np.linspace(0, len(order) - 1, count).round().astype(int)]


def explain_stream(
    stream: Stream, methods: tuple[str, ...], choose: Choice, shifts: int = 8, frames: int | None = None
) -> tuple[StreamMaps, int]:
    """(the stream's maps at `frames` time steps spread over the video, the class explained)."""
    layer, act, grad, cls, last = forward_pass(stream, choose, "gradcam" in methods)
    every = display_frames(stream)
    count, size = len(every), tuple(every.shape[1:3])
    idx = pick_steps(stream.labels, frames)
    maps = StreamMaps(stream.name, layer, [stream.labels[i] for i in idx], every[idx])
    if "activation" in methods:
        maps.activation = activation_map(act, count, size)[idx]
    if grad is not None:
        maps.gradcam = gradcam_map(act, grad, count, size)[idx]
    if "guided" in methods:
        # the whole network's strides (the gradient comes back through every stage): the lattices to average
        # out, in time too for clips
        periods: tuple[int, ...] = (max(1, size[0] // last[-2]), max(1, size[1] // last[-1]))
        if stream.layout == "3d":
            periods += (max(1, stream.inputs.shape[-3] // last[-3]),)
        moves = shifts_for(shifts, periods)
        if stream.layout == "frame":  # frames are independent: back-propagate only the shown ones
            energy, raw = guided_maps(replace(stream, inputs=stream.inputs[idx]), cls, moves)
        else:
            energy, raw = guided_maps(stream, cls, moves)
            energy, raw = energy[idx], raw[idx]
        maps.guided, maps.guided_grad = energy, raw
    return maps, cls
