"""The model registry: `@register_model` builders, `create_model(name, ...)`, `list_models()`.

Kept apart from the method and extractor registries on purpose: each is a plain dict with a typed lookup (here
builder functions, there preset instances with Options, and a `family:backbone` name grammar whose lazy imports
keep torch/OpenCV out of the families not asked for); one generic Registry would erase those signatures.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from actionlab.errors import ConfigError
from actionlab.models.meta import set_attr

_BUILDERS: dict[str, Callable[..., nn.Module]] = {}


def register_model(fn: Callable[..., nn.Module] | None = None, *, name: str | None = None):
    """Register a builder `fn(*, num_classes, in_channels, **kwargs) -> nn.Module` under `name` (default: fn name)."""

    def deco(f: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        key = name or f.__name__.replace("_", "-")
        if key in _BUILDERS:
            raise ConfigError(None, f"model {key!r} is registered twice")
        _BUILDERS[key] = f
        return f

    return deco(fn) if fn is not None else deco


def list_models() -> list[str]:
    """Names accepted by `create_model`, sorted."""
    return sorted(_BUILDERS)


def create_model(
    name: str, *, num_classes: int, in_channels: int = 3, weights: str | None = None, **kwargs
) -> nn.Module:
    """Build a registered model; `weights` is None, "imagenet" or a .safetensors/.pt path (see load_weights)."""
    if name not in _BUILDERS:
        raise ConfigError(None, f"unknown model {name!r}; choose one of {', '.join(list_models())}")
    if num_classes < 1 or in_channels < 1:
        raise ConfigError(None, f"model {name!r}: num_classes and in_channels must be >= 1")
    try:
        model = _BUILDERS[name](num_classes=num_classes, in_channels=in_channels, **kwargs)
    except TypeError as exc:  # unknown keyword: report it as a config problem, not a traceback
        raise ConfigError(None, f"model {name!r}: {exc}") from exc
    set_attr(model, "model_name", name)
    set_attr(model, "model_kwargs", dict(kwargs, num_classes=num_classes, in_channels=in_channels))
    if weights is not None:
        from actionlab.models.weights import load_weights

        load_weights(model, weights)
    return model
