"""GET /api/podcasts[/{id}]: the podcasts, and one podcast with its episodes and the people heard on it."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from podscope.errors import NotFound
from podscope.records import Episode, Podcast
from podscope.web.api.base import Route, RowId
from podscope.web.auth import READ
from podscope.web.state import lib_of

router = APIRouter(route_class=Route)


class PodcastPerson(BaseModel):
    name: str
    episodes: int
    speaking_seconds: float


class PodcastDetail(BaseModel):
    podcast: Podcast
    episodes: list[Episode]
    people: list[PodcastPerson] = Field(description="People heard on the podcast (tier matched or better).")


@router.get("/podcasts", response_model=list[Podcast], dependencies=READ, tags=["episodes"])
def podcasts(request: Request) -> list[Podcast]:
    """Every podcast with its number of episodes."""
    return lib_of(request).podcasts()


@router.get("/podcasts/{podcast_id}", response_model=PodcastDetail, dependencies=READ, tags=["episodes"])
def podcast(request: Request, podcast_id: RowId) -> PodcastDetail:
    """A podcast, its episodes, and the people heard on it."""
    lib = lib_of(request)
    try:
        found = lib.podcast(podcast_id)
    except NotFound as exc:
        raise NotFound(f"{exc}; GET /api/podcasts lists them") from None
    episodes = lib.episodes(found.title)
    heard = sorted((c for c in lib.cast(episodes) if c.episodes), key=lambda c: (-c.episodes, -c.seconds, c.name))
    people = [PodcastPerson(name=c.name, episodes=c.episodes, speaking_seconds=round(c.seconds, 1)) for c in heard]
    return PodcastDetail(podcast=found, episodes=episodes, people=people)
