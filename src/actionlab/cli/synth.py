"""`actionlab synth OUT`: write the embedded synthetic action set; `--preview sheet.png` draws a contact sheet."""

from __future__ import annotations

import argparse
import sys

from actionlab.errors import ConfigError


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `synth` verb."""
    p = sub.add_parser("synth", help="write the embedded synthetic action dataset (real encoded videos)")
    p.add_argument("out", nargs="?", help="output folder (omit with --preview to only draw a sheet)")
    p.add_argument("--layout", choices=["folder", "ucf101", "hmdb51"], default="folder")
    p.add_argument(
        "--container",
        choices=["mp4", "avi"],
        default=None,
        help="default: mp4 (h264) for folder, avi (mpeg4) for ucf101/hmdb51",
    )
    p.add_argument("--images", action="store_true", help="write Stanford40-style stills instead of videos")
    p.add_argument("--clips-per-class", type=int, default=40)
    p.add_argument("--size", type=int, default=112)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    p.add_argument("--preview", metavar="PNG", help="write a contact sheet, one row per class")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Generate the set and/or its preview."""
    from actionlab.synth import ACTIONS, generate, preview

    if not args.out and not args.preview:
        raise ConfigError(None, "give an output folder OUT, or --preview sheet.png")
    root = None
    if args.out:
        root = generate(
            args.out,
            num_clips_per_class=args.clips_per_class,
            size=args.size,
            seed=args.seed,
            layout=args.layout,
            container=args.container,
            images=args.images,
            workers=args.workers,
        )
        kind = "stills" if args.images else "clips"
        print(f"{root}: {len(ACTIONS)} classes x {args.clips_per_class} {kind} ({args.layout} layout)")
    if args.preview:
        sheet = preview(root, args.preview, size=args.size, seed=args.seed)
        print(f"preview: {sheet}", file=sys.stdout)
    return 0
