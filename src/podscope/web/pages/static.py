"""The static files (styles, scripts, icons), served by a route from a fixed list: no mount is needed in app.py."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse

from podscope.errors import NotFound
from podscope.web.templating import STATIC

STATIC_TYPES = {".css": "text/css", ".js": "text/javascript", ".svg": "image/svg+xml", ".png": "image/png"}
_STATIC_FILES = {p.name: p for p in STATIC.iterdir() if p.is_file() and p.suffix in STATIC_TYPES}

router = APIRouter(include_in_schema=False)


@router.get("/static/{name}")
def static_file(name: str) -> FileResponse:
    path = _STATIC_FILES.get(name)
    if path is None:
        raise NotFound(f"no static file {name!r}")
    return FileResponse(path, media_type=STATIC_TYPES[path.suffix], headers={"Cache-Control": "public, max-age=86400"})
