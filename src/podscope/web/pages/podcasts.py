"""The podcast pages: every podcast, and one podcast's episodes and the people heard or credited on it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from podscope.errors import NotFound
from podscope.records import SHOWN_TIERS, TIERS
from podscope.web.auth import READ
from podscope.web.pages.base import path_id
from podscope.web.state import _lib
from podscope.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/podcasts", response_class=HTMLResponse, dependencies=READ)
def podcasts_page(request: Request) -> HTMLResponse:
    lib = _lib(request)
    episodes = lib.episodes()
    latest: dict[int, dt.date] = {}
    hours: dict[int, float] = {}
    for e in episodes:
        if e.published and (e.podcast_id not in latest or e.published > latest[e.podcast_id]):
            latest[e.podcast_id] = e.published
        hours[e.podcast_id] = hours.get(e.podcast_id, 0.0) + (e.duration or 0.0)
    return render(request, "podcasts.html", podcasts=lib.podcasts(), latest=latest, hours=hours)


def _cast_entry(name: str, tier: str | None) -> dict[str, Any]:
    return {"name": name, "episodes": 0, "seconds": 0.0, "tier": tier, "roles": set()}


@router.get("/podcasts/{podcast_ref}", response_class=HTMLResponse, dependencies=READ)
def podcast_page(request: Request, podcast_ref: str) -> HTMLResponse:
    lib = _lib(request)
    podcast_id = path_id(podcast_ref, "podcast")
    podcast = next((p for p in lib.podcasts() if p.id == podcast_id), None)
    if podcast is None:
        raise NotFound(f"no podcast with id {podcast_id}")
    episodes = sorted(lib.episodes(podcast.title), key=lambda e: (e.published or dt.date.min, e.id), reverse=True)
    people: dict[str, dict[str, Any]] = {}
    order = {t: i for i, t in enumerate(TIERS)}
    for e in episodes:
        for a in lib.people.attributions(episode_id=e.id, tiers=SHOWN_TIERS):
            entry = people.setdefault(a.person, _cast_entry(a.person, a.tier))
            entry["episodes"] += 1
            entry["seconds"] += a.speaking_time
            if order[a.tier] < order[entry["tier"]]:
                entry["tier"] = a.tier
        for c in lib.credits(e.id):
            people.setdefault(c.name, _cast_entry(c.name, None))["roles"].add(c.role)
    cast = sorted(people.values(), key=lambda p: (-p["seconds"], -p["episodes"], p["name"].lower()))
    return render(request, "podcast.html", podcast=podcast, episodes=episodes, cast=cast)
