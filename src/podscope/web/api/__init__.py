"""The JSON API under /api: a thin shell over the library, like the CLI (OpenAPI: /api/openapi.json, docs: /api/docs).

    GET  /api/search?q=...                    the complete search result (hits, highlights, context, facets)
    GET  /api/quote-check?q=...  /api/thread?q=...   was this said, and how; a topic's history
    GET  /api/podcasts[/{id}]  /api/episodes[/{id}]  /api/episodes/{id}/transcript?format=  /api/episodes/{id}/audio
    GET  /api/episodes/{id}/chapters[?format=chapters-json]
    GET  /api/people[/{name}]  /api/people/unknown  /api/review?tier=  /api/feeds  /api/jobs[/{id}]  /api/alerts
    POST/DELETE ...                           changes: admin only (see `podscope.web.auth`)

Why it looks like this:
- One module per resource; this one assembles their routes under /api, in the order they are matched.
- Each route parses its parameters, calls the library, and returns typed records (the library's dataclasses, or the
  models beside the route where the library hands out dicts), so the OpenAPI document describes every answer.
- No route handles a library error, and a parameter that cannot be parsed is a 400 like any bad input
  (`podscope.web.api.base`).
- Work that takes minutes (processing an upload, syncing feeds, re-scoring every voice) is queued as a job stored in
  the library (`podscope.jobs`) and answered with 202; POST /api/jobs/{id}/cancel cancels one.
"""

from __future__ import annotations

from fastapi import APIRouter

from podscope.web.api import (
    alerts,
    chapters,
    episodes,
    feeds,
    health,
    jobs,
    lineage,
    people,
    podcasts,
    quizzes,
    recordings,
    review,
    search,
    translations,
    uploads,
)
from podscope.web.api.base import ERRORS, Route

router = APIRouter(prefix="/api", route_class=Route, responses=ERRORS)
for module in (
    health,
    search,
    lineage,
    podcasts,
    episodes,
    chapters,
    recordings,
    uploads,
    jobs,
    people,
    review,
    feeds,
    quizzes,
    translations,
    alerts,
):
    router.include_router(module.router)
