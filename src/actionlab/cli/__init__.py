"""The `actionlab` command: one module per verb in this package, each with `register(subparsers)`.

A verb module defines `register(sub: argparse._SubParsersAction) -> None`, which adds its parser and sets
`func=<callable(args) -> int>` as the parser default. Errors of type ActionlabError become one line on
stderr: exit code 2 for a ConfigError (a bad option, name or spec: like argparse's usage errors), 1 for the
others (unreadable files, datasets, checkpoints); any other exception is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import pkgutil
import sys
from types import ModuleType

# Set before any verb imports torch (libgomp reads it once). Waiting OpenMP threads spin ~300k iterations by
# default; while DataLoader workers decode on the same cores that spinning takes their CPU. 20k measured +5-8 %
# streaming training throughput on 2 cores, the pure compute unchanged (benchmarks/train_data.py, paired runs).
os.environ.setdefault("GOMP_SPINCOUNT", "20000")

from actionlab import __version__
from actionlab.errors import ActionlabError, ConfigError


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser with every verb module found in this package."""
    parser = argparse.ArgumentParser(
        prog="actionlab",
        description="Video action recognition: index datasets, extract features, train, compare, predict.",
    )
    parser.add_argument("--version", action="version", version=f"actionlab {__version__}")
    sub = parser.add_subparsers(dest="verb", metavar="VERB")
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    rc = 1
    try:
        rc = int(args.func(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, inside the handler below, not at interpreter exit
        return rc
    except BrokenPipeError:
        return _broken_pipe()
    except ActionlabError as err:
        print(f"actionlab {args.verb}: error: {err}", file=sys.stderr)
        return 2 if isinstance(err, ConfigError) else 1
    except KeyboardInterrupt:
        print(f"actionlab {args.verb}: interrupted", file=sys.stderr)
        return 130
    finally:
        distributed = _distributed()
        if distributed is not None:  # leave the process group while the interpreter is whole
            distributed.teardown(rc == 0)


def run() -> None:
    """The console script and `python -m actionlab`: main(), then exit with its code."""
    rc = main()
    # The interpreter's last garbage collection walks every object torch's import made: 0.6-1 s on a 2-core machine
    # for a process about to end (benchmarks/cli_exit.py); frozen objects are skipped (atexit handlers still run).
    gc.freeze()
    distributed = _distributed()
    if distributed is not None and distributed.launched():
        distributed.exit_process(rc)
    sys.exit(rc)


def _distributed() -> ModuleType | None:
    """actionlab.training.distributed once a verb has loaded torch.distributed, else None (a light verb never
    imports torch only to end)."""
    if "torch.distributed" not in sys.modules:
        return None
    from actionlab.training import distributed

    return distributed


def _broken_pipe() -> int:
    """The reader of stdout went away (`actionlab probe *.avi | head -1`): stop quietly, as `cat` does."""
    # Python flushes stdout again at exit; pointing it at /dev/null keeps that from printing an error.
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout replaced by an object without a descriptor (tests)
        pass
    finally:
        os.close(devnull)
    return 141  # 128 + SIGPIPE, what a shell reports for a tool killed by the closed pipe


if __name__ == "__main__":
    run()
