"""Plain (non-tensor) attributes on modules: names, recorded kwargs, frozen flags.

torch types `Module.__setattr__` for tensors and modules only; at run time it stores any other value as a plain
attribute, which is what these helpers do.
"""

from __future__ import annotations

from typing import Any

from torch import nn


def set_attr(module: nn.Module, name: str, value: Any) -> None:
    """`module.<name> = value` for a value that is neither a tensor nor a module."""
    setattr(module, name, value)
