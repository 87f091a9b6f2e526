"""POST /api/episodes: a recording uploaded as a multipart form, kept in HOME/uploads and processed as a stored job
(the file stays there until the job ends: as the episode's recording, or removed)."""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path
from typing import IO, Any

from fastapi import APIRouter, HTTPException, Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from podscope.errors import AudioError, InputError
from podscope.feeds.fetch import safe_filename
from podscope.library import Library, parse_published
from podscope.web.api.base import Route
from podscope.web.api.jobs import JobOut, queued
from podscope.web.auth import ADMIN
from podscope.web.state import lib_of

FORM_OVERHEAD = 64 * 1024  # multipart boundaries and the other fields, beyond the file itself

router = APIRouter(route_class=Route)


UPLOAD_FORM = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file", "podcast"],
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "The recording: audio (or video with sound) that ffmpeg can decode.",
                        },
                        "podcast": {
                            "type": "string",
                            "pattern": r"\S",
                            "description": "The podcast (created if new).",
                        },
                        "title": {"type": "string", "description": "The episode's title (default: the file name)."},
                        "published": {"type": "string", "format": "date", "description": "YYYY-MM-DD"},
                    },
                }
            }
        },
    }
}


def _field(form: Any, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _keep_upload(lib: Library, source: IO[bytes], filename: str, title: str, limit: int) -> Path:
    """Copy an upload into HOME/uploads under a name that cannot leave it, once it proves to be a recording no longer
    than the library takes (judged by its content, never by its name)."""
    uploads = lib.home / "uploads"
    uploads.mkdir(parents=True, exist_ok=True)
    incoming = uploads / f".incoming-{uuid.uuid4().hex}"
    digest = hashlib.sha256()
    size = 0
    try:
        with incoming.open("wb") as out:
            while chunk := source.read(1 << 20):
                size += len(chunk)
                if size > limit:
                    raise HTTPException(
                        413, f"the upload is larger than {limit // 1_000_000} MB (setting max_upload_mb)"
                    )
                digest.update(chunk)
                out.write(chunk)
        try:
            info = lib.check_recording(incoming)
        except AudioError as exc:  # said of the file the client sent, not of where this server keeps it
            raise type(exc)(str(exc).replace(str(incoming), f"the upload {filename!r}")) from None
        default_ext = "." + info.format_name.split(",")[0]
        target = uploads / safe_filename(title, f"upload:{digest.hexdigest()}/{filename}", default_ext=default_ext)
        os.replace(incoming, target)
        return target
    finally:
        incoming.unlink(missing_ok=True)


@router.post(
    "/episodes",
    status_code=202,
    response_model=JobOut,
    dependencies=ADMIN,
    openapi_extra=UPLOAD_FORM,
    tags=["episodes"],
)
async def upload_episode(request: Request, response: Response) -> JobOut:
    """Upload a recording (multipart: file, podcast, title, published): it is kept in HOME/uploads and processed in
    the background; follow the job at the returned address."""
    lib = lib_of(request)
    limit = int(lib.settings.max_upload_mb) * 1_000_000
    length = request.headers.get("content-length", "")
    if not length.isdigit():
        raise HTTPException(411, "an upload needs a Content-Length header")
    if int(length) > limit + FORM_OVERHEAD:
        raise HTTPException(413, f"the upload is larger than {limit // 1_000_000} MB (setting max_upload_mb)")
    async with request.form(max_files=1, max_fields=10) as form:
        file = form.get("file")
        if not isinstance(file, UploadFile):
            raise InputError(
                "expected a multipart form with the recording in a field named file, the podcast in podcast, and"
                " optionally title and published (YYYY-MM-DD)"
            )
        podcast, published = _field(form, "podcast"), _field(form, "published") or None
        title = _field(form, "title") or Path(file.filename or "").stem.strip()
        if not podcast:
            raise InputError("podcast name is empty: expected a form field podcast")
        if not title:
            raise InputError("episode title is empty: expected a form field title")
        parse_published(published)
        path = await run_in_threadpool(_keep_upload, lib, file.file, file.filename or "", title, limit)

    try:
        job = lib.jobs.upload(path, podcast=podcast, title=title, published=published, filename=file.filename or "")
    except BaseException:
        path.unlink(missing_ok=True)  # no job holds it
        raise
    return queued(request, response, job)
