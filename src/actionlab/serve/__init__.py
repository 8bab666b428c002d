"""`actionlab serve`: a small web page and JSON API over one trained run (FastAPI + uvicorn).

See docs/SERVE.md. `create_app(run_dir, workdir, max_mb)` builds the app (tests drive it with a TestClient);
`serve(run_dir, host, port, max_mb)` runs it with uvicorn inside its own temporary folder.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path

from actionlab.serve.app import create_app

__all__ = ["create_app", "serve"]


def serve(run_dir: str | Path, host: str = "127.0.0.1", port: int = 8000, max_mb: float = 100.0) -> None:
    """Serve the run until interrupted; everything the process writes stays in one temporary folder."""
    import uvicorn

    workdir = Path(tempfile.mkdtemp(prefix="actionlab-serve-"))
    try:
        # The server writes nothing outside workdir: uploads, Starlette's spooled form parts (tempfile), and
        # actionlab's caches (probe index, flow) all go under it, and it is removed on exit.
        uploads = workdir / "uploads"
        uploads.mkdir()
        tempfile.tempdir = str(workdir)
        os.environ["ACTIONLAB_CACHE"] = str(workdir / "cache")
        app = create_app(run_dir, uploads, max_mb)
        print(
            f"actionlab serve: http://{host}:{port}/ ({app.title}; uploads up to {max_mb:g} MB; Ctrl-C stops)",
            file=sys.stderr,
        )
        # uvicorn shuts down gracefully on SIGTERM, then re-raises it to the handler found at start: make that
        # one exit through Python, so the finally below removes the folder (the default would kill the process)
        previous = signal.signal(signal.SIGTERM, _exit)
        try:
            uvicorn.run(app, host=host, port=port, log_level="warning")
        finally:
            signal.signal(signal.SIGTERM, previous)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _exit(signum: int, frame: object) -> None:
    raise SystemExit(0)
