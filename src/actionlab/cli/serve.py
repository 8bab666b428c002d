"""`actionlab serve RUN [--host 127.0.0.1] [--port 8000] [--max-mb N]`: a web page and JSON API for one run."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `serve` verb."""
    p = sub.add_parser("serve", help="a web page (upload a video, see its labels) and a JSON API for one run")
    p.add_argument("run", help="run folder written by train or compare")
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind (default 127.0.0.1: this machine only; 0.0.0.0 opens it to the network)",
    )
    p.add_argument("--port", type=int, default=8000, help="TCP port (default 8000)")
    p.add_argument("--max-mb", type=float, default=100.0, help="largest upload accepted, in MB (default 100)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Validate the options, then serve until Ctrl-C."""
    from actionlab.errors import ConfigError

    if not 0 <= args.port <= 65535:
        raise ConfigError(None, f"--port must be 0-65535, not {args.port}")
    if not args.max_mb > 0:
        raise ConfigError(None, f"--max-mb must be > 0, not {args.max_mb}")
    from actionlab.serve import serve

    serve(args.run, args.host, args.port, args.max_mb)
    return 0
