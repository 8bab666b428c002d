"""`actionlab probe FILE... [--json]`: print what probe() finds; unreadable files are listed, not fatal."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys

from actionlab.errors import ActionlabError


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `probe` verb."""
    parser = sub.add_parser("probe", help="print frame count, fps, size and codec of videos or images")
    parser.add_argument("files", nargs="+", metavar="FILE")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Probe each file; exit 1 only when none could be read."""
    from actionlab.video import probe

    ok = 0
    for name in args.files:
        try:
            info = probe(name)
        except ActionlabError as err:
            print(f"actionlab probe: error: {err}", file=sys.stderr)
            continue
        ok += 1
        if args.json:
            print(json.dumps(dataclasses.asdict(info)))
        else:
            print(
                f"{info.path}: {info.num_frames} frames, {info.fps:.3f} fps, {info.width}x{info.height}, "
                f"{info.duration:.2f} s, {info.codec}, rotation {info.rotation}" + (", image" if info.is_image else "")
            )
    return 0 if ok else 1
