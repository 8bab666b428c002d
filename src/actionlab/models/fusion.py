"""Multi-frame and multi-stream models: `frame-fusion` (late fusion), `lrcn`, `two-stream` (TwoStreamFusion)."""

from __future__ import annotations

from typing import Protocol, cast

import torch
import torch.nn.functional as F
from torch import nn

from actionlab.errors import ConfigError
from actionlab.models.base import Classifier, StagedClassifier
from actionlab.models.registry import create_model, register_model


def _frame_backbone(backbone: str, in_channels: int, backbone_kwargs: dict | None, weights: str | None) -> Classifier:
    # every registered model is a Classifier
    net = cast(
        Classifier,
        create_model(backbone, num_classes=1, in_channels=in_channels, weights=weights, **(backbone_kwargs or {})),
    )
    net.head = nn.Identity()  # only its features are used; our own head sits on top
    return net


def _per_frame(net: Classifier, x: torch.Tensor) -> torch.Tensor:
    """Apply a 2D net to (B, T, C, H, W) -> (B, T, F)."""
    b, t = x.shape[:2]
    return net.forward_features(x.flatten(0, 1)).view(b, t, -1)


class FrameFusion(Classifier):
    """A 2D model on each of T frames; features (hence logits, the head being linear) averaged over frames."""

    body: Classifier

    def __init__(self, num_classes: int, net: Classifier, dropout: float = 0.0) -> None:
        super().__init__(net, net.num_features, num_classes, dropout)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Mean per-frame features (B, F) of frames (B, T, C, H, W)."""
        return _per_frame(self.body, x).mean(1)


@register_model(name="frame-fusion")
def frame_fusion(
    *,
    num_classes: int,
    in_channels: int = 3,
    backbone: str = "resnet-small",
    backbone_kwargs: dict | None = None,
    backbone_weights: str | None = None,
    dropout: float = 0.0,
) -> nn.Module:
    """Late fusion over frames of any registered 2D model (workflow D)."""
    return FrameFusion(num_classes, _frame_backbone(backbone, in_channels, backbone_kwargs, backbone_weights), dropout)


class LRCN(Classifier):
    """2D CNN per frame, then an LSTM over the frame features; the last hidden state feeds the head."""

    body: Classifier

    def __init__(self, num_classes: int, net: Classifier, hidden: int = 128, dropout: float = 0.0) -> None:
        super().__init__(net, hidden, num_classes, dropout)
        self.rnn = nn.LSTM(net.num_features, hidden, batch_first=True)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Last LSTM hidden state (B, hidden) over frames (B, T, C, H, W)."""
        _, (h, _) = self.rnn(_per_frame(self.body, x))
        return h[-1]


@register_model(name="lrcn")
def lrcn(
    *,
    num_classes: int,
    in_channels: int = 3,
    backbone: str = "resnet-small",
    backbone_kwargs: dict | None = None,
    backbone_weights: str | None = None,
    hidden: int = 128,
    dropout: float = 0.0,
) -> nn.Module:
    """Long-term recurrent convolutional network (Donahue et al. 2015)."""
    return LRCN(num_classes, _frame_backbone(backbone, in_channels, backbone_kwargs, backbone_weights), hidden, dropout)


_MODES = ("avg", "max", "min", "concat")


def _fuse(a: torch.Tensor, b: torch.Tensor, mode: str) -> torch.Tensor:
    if mode == "concat":
        return torch.cat([a, b], dim=1)
    return {"avg": lambda: (a + b) / 2, "max": lambda: torch.maximum(a, b), "min": lambda: torch.minimum(a, b)}[mode]()


class StreamViews(nn.Module):
    """A trained stream on inputs with a views axis (B, V, ...): its features, or its maps after a stage,
    averaged over the V views (frame-cnn's test frames, a clip preset's test clips; V = 1 for one clip).

    Stage maps come from the stream's StagedClassifier: the network itself (resnet-small, r2plus1d-small), or its
    `body` (i3d inflated from resnet-small; frame-fusion and lrcn apply it per frame, and the per-frame maps are
    averaged over frames too, the LSTM of lrcn coming after any stage). Other networks have no maps
    (`stage_channels` None): late fusion only.
    """

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = cast(Classifier, net)  # every preset's network is a Classifier
        self.num_features = self.net.num_features
        self.per_frame = isinstance(net, (FrameFusion, LRCN))
        # a path, not a module attribute: a second reference would duplicate the weights in the state dict
        self.staged_path = (
            ""
            if isinstance(net, StagedClassifier)
            else "body"
            if isinstance(getattr(net, "body", None), StagedClassifier)
            else None
        )
        staged = self._staged()
        self.stage_channels: list[int] | None = None if staged is None else list(staged.stage_channels)
        self.map_dims = None if staged is None else 3 if isinstance(staged.pool, nn.AdaptiveAvgPool3d) else 2

    def _staged(self) -> StagedClassifier | None:
        if self.staged_path is None:
            return None
        return cast(StagedClassifier, self.net.get_submodule(self.staged_path))  # the path __init__ found

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Mean over views of the stream's pooled features: (B, V, ...) -> (B, num_features)."""
        b, v = x.shape[:2]
        return self.net.forward_features(x.flatten(0, 1)).view(b, v, -1).mean(1)

    def forward_maps(self, x: torch.Tensor, upto: int | None = None) -> torch.Tensor:
        """Mean over views (and frames, per-frame streams) of the maps after stage `upto`: (B, C, [T,] H, W)."""
        b, x = x.shape[0], x.flatten(0, 1)
        if self.per_frame:
            x = x.flatten(0, 1)  # (B*V*T, 3, S, S): the 2D body sees single frames
        staged = self._staged()
        assert staged is not None, "forward_maps is called for mid fusion only, which _check_maps allows with maps"
        maps = staged.forward_maps(x, upto)
        return maps.view(b, -1, *maps.shape[1:]).mean(1)


def _map_dims(stream: nn.Module) -> int:
    """2 or 3: the spatial(-temporal) dimensions of a stream's stage maps."""
    dims = getattr(stream, "map_dims", None)
    return dims if dims is not None else 3 if isinstance(getattr(stream, "pool", None), nn.AdaptiveAvgPool3d) else 2


def _resize(x: torch.Tensor, size: torch.Size) -> torch.Tensor:
    """Maps resized to `size`: averaged down when every dimension shrinks (no aliasing), else nearest."""
    if x.shape[2:] == size:
        return x
    if all(s <= t for s, t in zip(size, x.shape[2:])):
        # torch.Size is a tuple of ints, which torch's stubs do not say
        if x.dim() == 5:
            return F.adaptive_avg_pool3d(x, cast(tuple[int, int, int], size))
        return F.adaptive_avg_pool2d(x, cast(tuple[int, int], size))
    return F.interpolate(x, size=size, mode="nearest")


class _Stream(Protocol):
    """What TwoStreamFusion calls on a stream: a StreamViews or a registered model (maps: mid fusion only)."""

    def forward_features(self, x: torch.Tensor) -> torch.Tensor: ...

    def forward_maps(self, x: torch.Tensor, upto: int | None = None) -> torch.Tensor: ...


class TwoStreamFusion(Classifier):
    """Fuse an RGB and a flow stream (frozen by default) with a small trainable head; call as model(rgb, flow).

    level="late" fuses pooled features, a linear layer matching the flow width to the RGB one; level="mid" fuses
    feature maps after stage `stage` (streams need `forward_maps` and `stage_channels`), a 1x1 conv matching the
    flow channels to the RGB ones. 3D flow maps against 2D RGB maps (a frame-based RGB stream) are averaged over
    time first; flow maps are resized to the RGB maps' size.
    """

    def __init__(
        self,
        rgb: nn.Module,
        flow: nn.Module,
        num_classes: int,
        mode: str = "avg",
        level: str = "late",
        stage: int = 2,
        hidden: int = 128,
        freeze_streams: bool = True,
        dropout: float = 0.0,
    ) -> None:
        if mode not in _MODES or level not in ("late", "mid"):
            raise ConfigError(None, f"two-stream: mode must be one of {_MODES} and level 'late' or 'mid'")
        if level == "mid":
            _check_maps(rgb, flow, stage)
        super().__init__(None, hidden, num_classes, dropout)
        self.rgb, self.flow, self.mode, self.level, self.stage = rgb, flow, mode, level, stage
        self.freeze_streams = freeze_streams
        for p in list(rgb.parameters()) + list(flow.parameters()):
            p.requires_grad = not freeze_streams
        self.match: nn.Module
        if level == "late":
            rgb_width, flow_width = cast(int, rgb.num_features), cast(int, flow.num_features)
            self.match = nn.Linear(flow_width, rgb_width)
            width = rgb_width * (2 if mode == "concat" else 1)
            self.fused = nn.Sequential(nn.Linear(width, hidden), nn.ReLU(inplace=True))
        else:  # _check_maps found stage_channels on both
            c_rgb = cast(list[int], rgb.stage_channels)[stage]
            c_flow = cast(list[int], flow.stage_channels)[stage]
            three_d = _map_dims(rgb) == 3
            conv = nn.Conv3d if three_d else nn.Conv2d
            bn = nn.BatchNorm3d if three_d else nn.BatchNorm2d
            pool = nn.AdaptiveAvgPool3d(1) if three_d else nn.AdaptiveAvgPool2d(1)
            self.match = conv(c_flow, c_rgb, 1)
            width = c_rgb * (2 if mode == "concat" else 1)
            self.fused = nn.Sequential(
                conv(width, hidden, 3, padding=1), bn(hidden), nn.ReLU(inplace=True), pool, nn.Flatten()
            )

    def train(self, mode: bool = True) -> TwoStreamFusion:
        """Frozen streams stay in eval mode so their BatchNorm statistics do not drift."""
        super().train(mode)
        if self.freeze_streams:
            self.rgb.eval()
            self.flow.eval()
        return self

    def forward_features(self, rgb: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:  # type: ignore[override]  # two inputs: Classifier.forward passes both
        """Fused features (B, hidden)."""
        rgb_net, flow_net = cast(_Stream, self.rgb), cast(_Stream, self.flow)
        if self.level == "late":
            a, b = rgb_net.forward_features(rgb), self.match(flow_net.forward_features(flow))
        else:
            a = rgb_net.forward_maps(rgb, self.stage)
            b = flow_net.forward_maps(flow, self.stage)
            if b.dim() == a.dim() + 1:
                b = b.mean(2)  # 3D flow maps against 2D RGB maps: the motion of the whole window at each place
            b = _resize(self.match(b), a.shape[2:])
        return self.fused(_fuse(a, b, self.mode))


def _check_maps(rgb: nn.Module, flow: nn.Module, stage: int) -> None:
    """ConfigError unless both streams have stage maps with a stage `stage`."""
    for role, stream in (("rgb", rgb), ("flow", flow)):
        channels = getattr(stream, "stage_channels", None)
        if not hasattr(stream, "forward_maps") or channels is None:
            raise ConfigError(
                None,
                f"two-stream level='mid' needs convolution stages in the {role} stream "
                "(resnet-small, r2plus1d-small, i3d on resnet-small); use level='late'",
            )
        if not 0 <= stage < len(channels):
            raise ConfigError(None, f"two-stream: fusion stage must be 0-{len(channels) - 1}, not {stage}")


@register_model(name="two-stream")
def two_stream(
    *,
    num_classes: int,
    in_channels: int = 3,
    rgb_model: str = "resnet-small",
    flow_model: str = "resnet-small",
    flow_channels: int = 20,
    rgb_kwargs: dict | None = None,
    flow_kwargs: dict | None = None,
    mode: str = "avg",
    level: str = "late",
    stage: int = 2,
    hidden: int = 128,
    freeze_streams: bool = True,
    dropout: float = 0.0,
) -> nn.Module:
    """Two-stream fusion of two registered models (load the streams' trained weights into .rgb / .flow)."""
    rgb = create_model(rgb_model, num_classes=1, in_channels=in_channels, **(rgb_kwargs or {}))
    flow = create_model(flow_model, num_classes=1, in_channels=flow_channels, **(flow_kwargs or {}))
    return TwoStreamFusion(rgb, flow, num_classes, mode, level, stage, hidden, freeze_streams, dropout)
