"""The FastAPI app: the page ("/"), and the JSON API (POST /predict, GET /health, GET /classes).

The run is loaded once when the app is made. Every upload is written into `workdir` (the server's own
temporary folder) and removed when its request ends; a bad request is a 4xx whose "detail" is one line, and
the server goes on serving. Inference runs on a worker thread, one forward pass at a time.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.concurrency import run_in_threadpool

from actionlab import __version__
from actionlab.errors import ActionlabError
from actionlab.serve.extras import page_extras
from actionlab.serve.page import Result, render_page
from actionlab.serve.predictor import Predictor
from actionlab.serve.uploads import saved_upload


def _reason(err: Exception) -> tuple[int, str]:
    """(status, one-line reason) of an error raised while handling an upload."""
    if isinstance(err, HTTPException):
        return err.status_code, str(err.detail)
    reason = getattr(err, "reason", None) or str(err)
    return 422, f"{getattr(err, 'path', None) or 'upload'}: {reason}".splitlines()[0]


def create_app(run_dir: str | Path, workdir: str | Path, max_mb: float = 100.0) -> FastAPI:
    """An app serving the run in `run_dir`; uploads go under `workdir` (which must exist)."""
    predictor = Predictor(run_dir)
    workdir, limit = Path(workdir), int(max_mb * 2**20)
    app = FastAPI(title=f"actionlab {predictor.method}", version=__version__)

    def page(result: Result | None = None, error: str | None = None, status: int = 200) -> HTMLResponse:
        html = render_page(predictor.method, predictor.classes, max_mb, predictor.run_dir.name, result, error)
        return HTMLResponse(html, status_code=status)

    @app.get("/", response_class=HTMLResponse)
    async def index() -> HTMLResponse:
        return page()

    @app.post("/", response_class=HTMLResponse)
    async def index_upload(request: Request) -> HTMLResponse:
        try:
            async with saved_upload(request, workdir, limit) as (path, name):
                ranked = await run_in_threadpool(predictor.rank, path, name)
                extras = await run_in_threadpool(page_extras, predictor, path, workdir)
        except (HTTPException, ActionlabError) as err:
            status, reason = _reason(err)
            return page(error=reason, status=status)
        return page(Result(name, ranked, extras))

    @app.post("/predict")
    async def predict(request: Request, k: int = Query(5, ge=1, description="classes returned, best first")):
        try:
            async with saved_upload(request, workdir, limit) as (path, name):
                ranked = await run_in_threadpool(predictor.rank, path, name, min(k, len(predictor.classes)))
        except (HTTPException, ActionlabError) as err:
            status, reason = _reason(err)
            return JSONResponse({"detail": reason}, status_code=status)
        return {"file": name, "method": predictor.method, "top": ranked.to_list()}

    @app.get("/health")
    async def health() -> dict[str, object]:
        return {
            "status": "ok",
            "method": predictor.method,
            "run": str(predictor.run_dir),
            "max_mb": max_mb,
            "version": __version__,
        }

    @app.get("/classes")
    async def classes() -> dict[str, list[str]]:
        return {"classes": predictor.classes}

    return app
