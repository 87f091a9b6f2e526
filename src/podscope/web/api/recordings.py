"""GET /api/episodes/{id}/audio: an episode's recording, with Range requests so players can seek.

The route serves a recording only from the home's media folders, or the very file the episode was added from; a path
that now resolves anywhere else (a symlink swapped in) is refused. Range requests are served by Starlette's
`FileResponse`; a Range it cannot satisfy is answered here, as JSON, with 416.
"""

from __future__ import annotations

import mimetypes
import re
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse

from podscope.errors import NotFound
from podscope.library import Library
from podscope.records import Episode
from podscope.web.api.base import Route
from podscope.web.auth import READ
from podscope.web.state import _lib

MEDIA_FOLDERS = ("samples", "downloads", "uploads")  # where the home keeps recordings
RANGE_SPEC = re.compile(r"^\s*(\d*)\s*-\s*(\d*)\s*$")
MAX_RANGES = 100  # Starlette's own limit
# Media types of the recordings podscope accepts; anything else (a transcript an episode was imported from) is not
# served as audio.
AUDIO_TYPES = {
    ".mp3": "audio/mpeg",
    ".m4a": "audio/mp4",
    ".m4b": "audio/mp4",
    ".aac": "audio/aac",
    ".ogg": "audio/ogg",
    ".oga": "audio/ogg",
    ".opus": "audio/ogg",
    ".flac": "audio/flac",
    ".wav": "audio/wav",
    ".aif": "audio/aiff",
    ".aiff": "audio/aiff",
    ".mp4": "video/mp4",
    ".m4v": "video/mp4",
    ".mov": "video/quicktime",
    ".webm": "video/webm",
    ".mkv": "video/x-matroska",
}

router = APIRouter(route_class=Route)


def _audio_type(path: Path) -> str | None:
    known = AUDIO_TYPES.get(path.suffix.lower())
    if known:
        return known
    guessed = mimetypes.guess_type(path.name)[0]
    return guessed if guessed and guessed.split("/")[0] in ("audio", "video") else None


def has_recording(lib: Library, episode: Episode) -> bool:
    if not episode.source or _audio_type(Path(episode.source)) is None:
        return False
    path = _servable(lib, Path(episode.source))
    return path is not None and path.is_file()


def _servable(lib: Library, recorded: Path) -> Path | None:
    """The file to serve for a recorded source path: one inside the home's media folders, or exactly the file the
    episode was added from (the library records it resolved); None when it now resolves anywhere else."""
    real = recorded.resolve()
    home = lib.home.resolve()
    if any(real.is_relative_to(home / folder) for folder in MEDIA_FOLDERS) or real == recorded:
        return real
    return None


def _check_range(header: str | None, size: int) -> None:
    """Refuse (416, JSON) a Range that FileResponse could not serve; valid ones it serves itself."""
    if header is None:
        return
    unit, _, specs = header.partition("=")
    matches = [RANGE_SPEC.match(s) for s in specs.split(",")] if unit.strip().lower() == "bytes" else [None]
    ok = 0 < len(matches) <= MAX_RANGES
    for m in matches:
        if m is None or not (m[1] or m[2]):
            ok = False
        elif m[1]:
            ok = ok and int(m[1]) < size and not (m[2] and int(m[2]) < int(m[1]))
        else:
            ok = ok and int(m[2]) > 0 and size > 0
    if not ok:
        raise HTTPException(
            416,
            f"Range {header!r} cannot be served: expected bytes=START-END, bytes=START- or bytes=-LENGTH within the"
            f" recording's {size} bytes",
            headers={"Content-Range": f"bytes */{size}"},
        )


AUDIO_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The whole recording.", "content": {"audio/*": {}, "video/*": {}}},
    206: {"description": "The requested byte range (Range: bytes=START-END, START- or -LENGTH)."},
}


@router.get(
    "/episodes/{episode_id}/audio",
    response_class=FileResponse,
    responses=AUDIO_RESPONSES,
    dependencies=READ,
    tags=["episodes"],
)
@router.head("/episodes/{episode_id}/audio", response_class=FileResponse, dependencies=READ, include_in_schema=False)
def episode_audio(request: Request, episode_id: int) -> FileResponse:
    """The episode's recording, with HTTP Range support so players can seek."""
    lib = _lib(request)
    found = lib.episode(episode_id)
    media_type = _audio_type(Path(found.source)) if found.source else None
    if media_type is None:
        raise NotFound(f"episode {episode_id} has no recording in the library (it was imported from a transcript)")
    path = _servable(lib, Path(found.source))
    if path is None:
        raise HTTPException(
            403,
            f"the recording of episode {episode_id} resolves outside the podscope home and is not the file it was"
            " added from; it is not served",
        )
    try:
        stat = path.stat()
    except OSError:
        raise NotFound(f"the recording of episode {episode_id} is no longer on disk") from None
    _check_range(request.headers.get("range"), stat.st_size)
    return FileResponse(
        path,
        media_type=media_type,
        stat_result=stat,
        filename=f"episode-{episode_id}{path.suffix.lower()}",
        content_disposition_type="inline",
    )
