"""Uploads: read with a byte limit into the server's temporary folder, removed when the request is done.

The limit is enforced twice: a Content-Length over it is refused before anything is read, and the body is
counted as it streams in (a chunked upload has no length), so an oversized upload never fills the disk.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import HTTPException, Request
from starlette.datastructures import UploadFile

from actionlab.predict import VIDEO_EXTS

FORM_SLACK = 64 * 1024  # multipart headers and boundaries around the file
CHUNK = 1 << 20


def limited_request(request: Request, limit: int) -> Request:
    """The same request whose body raises 413 once more than `limit` bytes have arrived."""
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit + FORM_SLACK:
        raise HTTPException(413, f"upload too large: {int(length) / 2**20:.1f} MB, the limit is {limit / 2**20:.0f} MB")
    seen = 0
    receive = request.receive

    async def counting():
        nonlocal seen
        message = await receive()
        seen += len(message.get("body", b""))
        if seen > limit + FORM_SLACK:
            raise HTTPException(413, f"upload too large: the limit is {limit / 2**20:.0f} MB")
        return message

    return Request(request.scope, counting)


def safe_suffix(filename: str | None) -> str:
    """The upload's extension when it is a known media one (still images are told apart by it), else none."""
    suffix = Path(filename or "").suffix.lower()
    return suffix if suffix in VIDEO_EXTS and re.fullmatch(r"\.[a-z0-9]+", suffix) else ""


def display_name(filename: str | None) -> str:
    """The upload's base name, printable and short, for messages (never used as a path)."""
    name = Path(filename or "upload").name
    return re.sub(r"[^\w.\- ]", "_", name)[:80] or "upload"


@asynccontextmanager
async def saved_upload(request: Request, folder: Path, limit: int) -> AsyncIterator[tuple[Path, str]]:
    """(temporary path, display name) of the form's `file` field, deleted on exit; 4xx for a bad request."""
    form = await limited_request(request, limit).form(max_files=1, max_fields=8)
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise HTTPException(400, "no file: send the video as the multipart field 'file'")
        fd, name = tempfile.mkstemp(dir=folder, prefix="upload-", suffix=safe_suffix(upload.filename))
        path = Path(name)
        try:
            with os.fdopen(fd, "wb") as out:
                size = 0
                while chunk := await upload.read(CHUNK):
                    size += len(chunk)
                    if size > limit:
                        raise HTTPException(413, f"upload too large: the limit is {limit / 2**20:.0f} MB")
                    out.write(chunk)
            if size == 0:
                raise HTTPException(400, f"{display_name(upload.filename)}: the file is empty")
            yield path, display_name(upload.filename)
        finally:
            path.unlink(missing_ok=True)
    finally:
        await form.close()
