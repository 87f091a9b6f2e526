"""GET /api/episodes/{id}/chapters: an episode's chapters and key moments, or its Podcasting 2.0 chapters file."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel

from podscope.chapters import EpisodeChapters
from podscope.formats import chapters as chapters_json
from podscope.web.api.base import Route, RowId
from podscope.web.auth import READ
from podscope.web.state import lib_of

router = APIRouter(route_class=Route)


class PodcastChapter(BaseModel):
    startTime: float  # the Podcasting 2.0 field names
    title: str
    endTime: float | None = None
    url: str | None = None
    img: str | None = None
    toc: bool | None = None


class PodcastChapters(BaseModel):
    """`?format=chapters-json`: the Podcasting 2.0 chapters file (version 1.2.0) that `<podcast:chapters>` links to."""

    version: str
    title: str | None = None
    podcastName: str | None = None
    chapters: list[PodcastChapter]


CHAPTER_TYPES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Without `format`: the chapters shown (the publisher's when the feed gives them, else found"
        " where the topic shifts), the key moments and podscope's own chapters. With `format=chapters-json`: the"
        f" Podcasting 2.0 chapters file, as {chapters_json.MEDIA_TYPE}.",
        "content": {chapters_json.MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/PodcastChapters"}}},
    }
}


@router.get(
    "/episodes/{episode_id}/chapters",
    response_model=EpisodeChapters | PodcastChapters,
    responses=CHAPTER_TYPES,
    dependencies=READ,
    tags=["episodes"],
)
def chapters(
    request: Request,
    episode_id: RowId,
    fmt: Annotated[
        Literal["chapters-json"] | None,
        Query(alias="format", description="chapters-json: the Podcasting 2.0 chapters file; omit it for everything."),
    ] = None,
    download: Annotated[bool, Query(description="Ask the browser to save the chapters file.")] = False,
) -> Any:
    """The episode's chapters (each with its start in seconds and an extractive title: a phrase said in it) and its
    key moments (the most central statement of a chapter, at most one a chapter, with who said it and when)."""
    lib = lib_of(request)
    if fmt is None:
        return lib.chapters.episode(episode_id)
    disposition = "attachment" if download else "inline"
    return Response(
        lib.chapters.export(episode_id),
        media_type=chapters_json.MEDIA_TYPE,
        headers={"Content-Disposition": f'{disposition}; filename="episode-{episode_id}-chapters.json"'},
    )
