"""`actionlab methods`: list the trainable methods."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `methods` verb."""
    p = sub.add_parser("methods", help="list the methods that train/compare accept")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print one line per method: name, temporal or not, description."""
    from actionlab.methods import list_methods

    for m in list_methods():
        print(f"{m.name:<16}{'temporal' if m.temporal else 'frame':<10}{m.description}")
    return 0
