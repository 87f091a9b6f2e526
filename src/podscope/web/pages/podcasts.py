"""The podcast pages: every podcast, and one podcast's episodes and the people heard or credited on it."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from podscope.web.auth import READ
from podscope.web.pages.base import path_id
from podscope.web.state import lib_of
from podscope.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/podcasts", response_class=HTMLResponse, dependencies=READ)
def podcasts_page(request: Request) -> HTMLResponse:
    lib = lib_of(request)
    episodes = lib.episodes()
    latest: dict[int, dt.date] = {}
    hours: dict[int, float] = {}
    for e in episodes:
        if e.published and (e.podcast_id not in latest or e.published > latest[e.podcast_id]):
            latest[e.podcast_id] = e.published
        hours[e.podcast_id] = hours.get(e.podcast_id, 0.0) + (e.duration or 0.0)
    return render(request, "podcasts.html", podcasts=lib.podcasts(), latest=latest, hours=hours)


@router.get("/podcasts/{podcast_ref}", response_class=HTMLResponse, dependencies=READ)
def podcast_page(request: Request, podcast_ref: str) -> HTMLResponse:
    lib = lib_of(request)
    podcast = lib.podcast(path_id(podcast_ref, "podcast"))
    episodes = sorted(lib.episodes(podcast.title), key=lambda e: (e.published or dt.date.min, e.id), reverse=True)
    return render(request, "podcast.html", podcast=podcast, episodes=episodes, cast=lib.cast(episodes))
