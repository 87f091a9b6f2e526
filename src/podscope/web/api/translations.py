"""GET /api/episodes/{id}/translation: every segment beside its translation."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from podscope.web.api.base import Route, RowId
from podscope.web.auth import READ
from podscope.web.state import lib_of

router = APIRouter(route_class=Route)


@router.get("/episodes/{episode_id}/translation", dependencies=READ, tags=["translation"])
def episode_translation(
    request: Request, episode_id: RowId, to: str = "es", source: Annotated[str | None, Query(alias="from")] = None
) -> dict[str, Any]:
    """Every segment beside its translation (cached per segment and language)."""
    pairs = lib_of(request).translations.translate_episode(episode_id, to, source)
    return {
        "episode_id": episode_id,
        "to": to,
        "segments": [
            {"start": seg.start, "end": seg.end, "speaker": seg.speaker, "text": seg.text, "translation": text}
            for seg, text in pairs
        ],
    }
