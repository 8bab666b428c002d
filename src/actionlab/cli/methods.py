"""`actionlab methods [NAME]`: list the presets, or one preset's options (name, type, default, help)."""

from __future__ import annotations

import argparse
import json
from typing import Any


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `methods` verb."""
    p = sub.add_parser("methods", help="list the methods that train/compare accept, or one method's options")
    p.add_argument("name", nargs="?", help="print this method's options (the --set KEY=VALUE keys)")
    p.set_defaults(func=run)


def _show(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def options_table(preset: Any) -> str:
    """One row per declared option: name, type, default, help."""
    rows = [
        (name, tp.replace("NoneType", "None"), _show(default), text)
        for name, tp, default, text in preset.Options.describe()
    ]
    widths = [max(len(r[i]) for r in rows + [("option", "type", "default", "")]) for i in range(3)]
    head = f"{'option':<{widths[0]}}  {'type':<{widths[1]}}  {'default':<{widths[2]}}  help"
    return "\n".join([head, *(f"{n:<{widths[0]}}  {t:<{widths[1]}}  {d:<{widths[2]}}  {h}" for n, t, d, h in rows)])


def run(args: argparse.Namespace) -> int:
    """Print one line per method (name, frame or temporal, description), or NAME's options."""
    from actionlab.methods import get_method, list_methods

    if args.name:
        preset = get_method(args.name)
        print(f"{preset.name} ({'temporal' if preset.temporal else 'frame'}): {preset.description}")
        print(options_table(preset))
        return 0
    for m in list_methods():
        print(f"{m.name:<16}{'temporal' if m.temporal else 'frame':<10}{m.description}")
    return 0
