"""`actionlab cache`: where the cache is, how big each part is; `actionlab cache clean [PART...] [--older-than D]`."""

from __future__ import annotations

import argparse
import time


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `cache` verb."""
    p = sub.add_parser(
        "cache",
        help="show where the cache is and its size per part; `cache clean` empties it",
        description="Without an action: the cache folder ($ACTIONLAB_CACHE or ~/.cache/actionlab) "
        "and each part's size. Everything in it is regenerated when missing.",
    )
    p.set_defaults(func=show)
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    clean = actions.add_parser("clean", help="remove cached data (all of it, some parts, or what is old)")
    clean.add_argument("parts", nargs="*", metavar="PART", help="parts to clean (default: all; see `actionlab cache`)")
    clean.add_argument(
        "--older-than",
        type=float,
        metavar="DAYS",
        help="only entries (a store, a dataset, a file) whose newest file is older than DAYS days",
    )
    clean.add_argument("--dry-run", action="store_true", help="say what would be removed, remove nothing")
    clean.set_defaults(func=run_clean)


def show(args: argparse.Namespace) -> int:
    """Print the cache root, then one line per part: size, files, last use, what it holds."""
    from actionlab.cache import array_limit_bytes, cache_parts, cache_root, human_bytes

    parts = cache_parts()
    total = sum(p.bytes for p in parts)
    print(
        f"cache: {cache_root()} ({human_bytes(total)}); flow is bounded at {human_bytes(array_limit_bytes())} "
        "(ACTIONLAB_CACHE_MAX_GB)"
    )
    if not parts:
        print("(empty)")
    width = max((len(p.name) for p in parts), default=0)
    for p in parts:
        age = f"{(time.time() - p.newest) / 86400:.1f} days ago" if p.files else "never"
        print(
            f"  {p.name:<{width}}  {human_bytes(p.bytes):>9}  {p.files:>6} files  last written {age:<15}  "
            f"{p.description}"
        )
    return 0


def run_clean(args: argparse.Namespace) -> int:
    """Remove the chosen entries; print how many and how much."""
    from actionlab.cache import cache_root, clean_cache, human_bytes
    from actionlab.errors import ConfigError

    if args.older_than is not None and args.older_than < 0:
        raise ConfigError(None, f"--older-than must be >= 0 days, not {args.older_than}")
    done = clean_cache(args.parts or None, older_than_days=args.older_than, dry_run=args.dry_run)
    verb = "would remove" if args.dry_run else "removed"
    print(f"cache: {verb} {done.entries} entries, {human_bytes(done.bytes)} from {cache_root()}")
    return 0
