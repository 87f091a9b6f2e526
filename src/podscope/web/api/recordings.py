"""GET /api/episodes/{id}/audio: an episode's recording, with Range requests so players can seek.

The route serves a recording only where `podscope.recordings` allows it (the home's media folders, or the very file
the episode was added from); a path that now resolves anywhere else (a symlink swapped in) is refused with 403.
Range requests are served by Starlette's `FileResponse`; a Range it cannot satisfy is answered here, as JSON, with
416.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse

from podscope.errors import NotFound
from podscope.recordings import media_type, servable
from podscope.web.api.base import Route, RowId
from podscope.web.auth import READ
from podscope.web.state import lib_of

RANGE_SPEC = re.compile(r"^\s*(\d*)\s*-\s*(\d*)\s*$")
MAX_RANGES = 100  # Starlette's own limit

router = APIRouter(route_class=Route)


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
def episode_audio(request: Request, episode_id: RowId) -> FileResponse:
    """The episode's recording, with HTTP Range support so players can seek."""
    lib = lib_of(request)
    found = lib.episode(episode_id)
    kind = media_type(Path(found.source)) if found.source else None
    if kind is None:
        raise NotFound(f"episode {episode_id} has no recording in the library (it was imported from a transcript)")
    path = servable(lib.home, Path(found.source))
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
        media_type=kind,
        stat_result=stat,
        filename=f"episode-{episode_id}{path.suffix.lower()}",
        content_disposition_type="inline",
    )
