"""Declared options: each is a dataclass field with a type, a default and one line of help, validated on build.

    @dataclass(frozen=True)
    class MyOptions(Options):
        width: int = opt(16, "channels of the first stage", low=1)
        cell: str = opt("lstm", "recurrent cell", choices=("lstm", "gru"))

    o = MyOptions.build({"width": "8"}, where="clip3d")   # strings from the CLI are coerced to the field type
    MyOptions.build({"widht": 8})  -> ConfigError: unknown option 'widht'; valid: cell, width
    o.to_dict()                    # every option, as actually used (what config.json records)

One declaration is the `--set KEY=VALUE` key, the config-file key, the Python API keyword and the line that
`actionlab methods NAME` prints. Written here rather than with jsonargparse: options arrive as `--set` pairs and
JSON/TOML/YAML files keyed by method, which plain dataclasses plus a 60-line coercion cover.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from actionlab.errors import ConfigError

T = TypeVar("T", bound="Options")


def opt(
    default: Any, help: str, *, choices: tuple | None = None, low: float | None = None, high: float | None = None
) -> Any:
    """A declared option: the field's default, its help line and its allowed values or range."""
    return field(default=default, metadata={"help": help, "choices": choices, "low": low, "high": high})


@dataclass(frozen=True)
class Options:
    """Base of every option group: build() coerces and validates, to_dict() records what is used."""

    @classmethod
    def names(cls) -> list[str]:
        """The declared option names, sorted."""
        return sorted(f.name for f in dataclasses.fields(cls))

    @classmethod
    def build(
        cls: type[T], values: Mapping[str, Any] | None = None, *, where: str = "options", given: set[str] | None = None
    ) -> T:
        """An instance from `values`; ConfigError naming the valid keys for an unknown one, or the bad value.

        `given` (default: every key of `values`) are the options the user set explicitly.
        """
        values = dict(values or {})
        unknown = sorted(set(values) - set(cls.names()))
        if unknown:
            raise ConfigError(
                None, f"{where}: unknown option {', '.join(map(repr, unknown))}; valid: {', '.join(cls.names())}"
            )
        hints = typing.get_type_hints(cls)
        kwargs = {k: _coerce(v, hints[k], f"{where}: {k}") for k, v in values.items()}
        obj = cls(**kwargs)
        object.__setattr__(obj, "_given", frozenset(values if given is None else given))
        for f in dataclasses.fields(cls):
            _check_range(f, getattr(obj, f.name), where)
        obj.check()
        return obj

    @classmethod
    def restore(cls: type[T], values: Mapping[str, Any], *, where: str = "options") -> T:
        """Rebuild recorded options (config.json): the ones that differ from their default count as given."""
        defaults = {f.name: _plain(f.default) for f in dataclasses.fields(cls)}
        return cls.build(values, where=where, given={k for k, v in values.items() if defaults.get(k, v) != v})

    def check(self) -> None:
        """Cross-option checks of a subclass (raise ConfigError); subclasses call super().check()."""

    def given(self, name: str) -> bool:
        """Whether `name` was set explicitly (not left at its default)."""
        return name in getattr(self, "_given", frozenset())

    def given_dict(self) -> dict[str, Any]:
        """The explicitly set options only."""
        return {k: v for k, v in self.to_dict().items() if self.given(k)}

    def to_dict(self) -> dict[str, Any]:
        """Every option with the value used, JSON-ready."""
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}

    def replace(self: T, **changes: Any) -> T:
        """A validated copy with `changes` applied."""
        return type(self).build({**self.given_dict(), **changes}, where=type(self).__name__)

    @classmethod
    def describe(cls) -> list[tuple[str, str, Any, str]]:
        """(name, type, default, help) for every option, in declaration order."""
        hints = typing.get_type_hints(cls)
        return [(f.name, _type_name(hints[f.name]), _plain(f.default), _help(f)) for f in dataclasses.fields(cls)]


def _help(f: dataclasses.Field) -> str:
    meta = f.metadata
    extra = f" ({'|'.join(map(str, meta['choices']))})" if meta.get("choices") else ""
    return f"{meta.get('help', '')}{extra}"


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_type_name(a) for a in typing.get_args(tp))
    if origin is tuple:
        return f"list[{_type_name(typing.get_args(tp)[0])}]"
    return getattr(tp, "__name__", str(tp))


def _coerce(value: Any, tp: Any, where: str) -> Any:
    """`value` (JSON or CLI text) as type `tp`; ConfigError saying what was expected."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if type(None) in args and (value is None or (isinstance(value, str) and value.lower() in ("none", "null"))):
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return _coerce(value, arg, where)
            except ConfigError as err:
                errors.append(err.reason)
        raise ConfigError(None, errors[0])
    if origin is tuple:
        item = typing.get_args(tp)[0]
        if isinstance(value, str):
            text = value.strip().strip("[]()")
            value = [v for v in (p.strip() for p in text.split(",")) if v]
        if not isinstance(value, (list, tuple)):
            value = [value]
        return tuple(_coerce(v, item, where) for v in value)
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no", "1", "0"):
            return value.lower() in ("true", "yes", "1")
        raise ConfigError(None, f"{where} must be true or false, not {value!r}")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(value)
            except ValueError:
                pass
        raise ConfigError(None, f"{where} must be an integer, not {value!r}")
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
        raise ConfigError(None, f"{where} must be a number, not {value!r}")
    if tp is str:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
        raise ConfigError(None, f"{where} must be text, not {json.dumps(value)}")
    raise ConfigError(None, f"{where}: unsupported option type {tp!r}")


def _check_range(f: dataclasses.Field, value: Any, where: str) -> None:
    meta = f.metadata
    if value is None:
        return
    items = value if isinstance(value, tuple) else (value,)
    for v in items:
        if meta.get("choices") and v not in meta["choices"]:
            raise ConfigError(
                None, f"{where}: {f.name} must be one of {', '.join(map(str, meta['choices']))}, not {v!r}"
            )
        if meta.get("low") is not None and v < meta["low"]:
            raise ConfigError(None, f"{where}: {f.name} must be >= {meta['low']}, not {v!r}")
        if meta.get("high") is not None and v > meta["high"]:
            raise ConfigError(None, f"{where}: {f.name} must be <= {meta['high']}, not {v!r}")
