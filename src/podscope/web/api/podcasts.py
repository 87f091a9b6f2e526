"""GET /api/podcasts[/{id}]: the podcasts, and one podcast with its episodes and the people heard on it."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from podscope.errors import NotFound
from podscope.records import SHOWN_TIERS, Episode, Podcast
from podscope.web.api.base import Route
from podscope.web.auth import READ
from podscope.web.state import _lib

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
    return _lib(request).podcasts()


@router.get("/podcasts/{podcast_id}", response_model=PodcastDetail, dependencies=READ, tags=["episodes"])
def podcast(request: Request, podcast_id: int) -> PodcastDetail:
    """A podcast, its episodes, and the people heard on it."""
    lib = _lib(request)
    found = next((p for p in lib.podcasts() if p.id == podcast_id), None)
    if found is None:
        raise NotFound(f"no podcast with id {podcast_id}; GET /api/podcasts lists them")
    episodes = lib.episodes(found.title)
    ids = {e.id for e in episodes}
    heard: dict[str, tuple[set[int], float]] = {}
    for a in lib.people.attributions(tiers=SHOWN_TIERS):
        if a.episode_id in ids:
            seen, seconds = heard.get(a.person, (set(), 0.0))
            heard[a.person] = (seen | {a.episode_id}, seconds + a.speaking_time)
    people = [
        PodcastPerson(name=name, episodes=len(seen), speaking_seconds=round(seconds, 1))
        for name, (seen, seconds) in sorted(heard.items(), key=lambda kv: (-len(kv[1][0]), -kv[1][1], kv[0]))
    ]
    return PodcastDetail(podcast=found, episodes=episodes, people=people)
