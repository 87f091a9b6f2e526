"""Server-rendered pages: search, episodes with a synced player, people, podcasts, review, feeds, jobs, alerts.

Why it looks like this:
- One module per page family; this one assembles their routes, in the order they are matched.
- Every page is a template rendered by `podscope.web.templating` (autoescaped); forms are checked and answered by
  `podscope.web.forms` (CSRF token, redirect with a one-time message).
- Pages read the library directly and work without JavaScript; a small script (static/app.js) adds the inline
  players, the transcript that follows playback, and seeking.
- The pages follow the API's rules (`podscope.web.auth`): reading them is open unless `api_read_requires_key`, and a
  form that changes the library is accepted from this machine (or not at all: a browser form cannot send an API key).
"""

from __future__ import annotations

from fastapi import APIRouter

from podscope.web.pages import alerts, episodes, feeds, jobs, people, podcasts, quiz, review, search, static

router = APIRouter(include_in_schema=False)
for module in (search, episodes, quiz, people, podcasts, review, feeds, jobs, alerts, static):
    router.include_router(module.router)
