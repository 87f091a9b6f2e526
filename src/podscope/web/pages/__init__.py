"""Server-rendered pages: search, episodes with a synced player, people, podcasts, review, feeds, jobs, alerts.

Why it looks like this:
- One module per page family; this one assembles their routes, in the order they are matched.
- Every page is a template rendered by `podscope.web.templating` (autoescaped); forms are checked and answered by
  `podscope.web.forms` (CSRF token, redirect with a one-time message).
- Pages read the library directly and work without JavaScript; a small script (static/app.js) adds the inline
  players, the transcript that follows playback, and seeking.
- The pages follow the API's rules (`podscope.web.auth`): reading them is open unless `api_read_requires_key`, and a
  form that changes the library is accepted from this machine, or from a browser signed in at /login with an admin
  key (`podscope.web.pages.session`).
"""

from __future__ import annotations

from fastapi import APIRouter

from podscope.web.pages import (
    alerts,
    episodes,
    feeds,
    jobs,
    lineage,
    people,
    podcasts,
    quiz,
    review,
    search,
    session,
    static,
)

router = APIRouter(include_in_schema=False)
for module in (search, lineage, episodes, quiz, people, podcasts, review, feeds, jobs, alerts, session, static):
    router.include_router(module.router)
