"""The feeds page: the feeds followed with their episodes' sync status, and the form that follows a new one."""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from podscope.errors import InputError
from podscope.web.auth import ADMIN, READ
from podscope.web.forms import run_form
from podscope.web.state import lib_of
from podscope.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/feeds", response_class=HTMLResponse, dependencies=READ)
def feeds_page(request: Request) -> HTMLResponse:
    lib = lib_of(request)
    return render(request, "feeds.html", feeds=lib.feeds.list())


@router.post("/feeds", dependencies=ADMIN)
async def feeds_add(request: Request) -> RedirectResponse:
    lib = lib_of(request)

    def act(form: dict[str, str]) -> str:
        url = form.get("url", "").strip()
        if urlsplit(url).scheme not in ("http", "https"):
            raise InputError("expected the feed's http:// or https:// address")
        added = lib.feeds.add(url)
        if added.blocked:
            return f"Following {added.podcast}, but its publisher blocks aggregators: nothing will be fetched."
        return f"Following {added.podcast}: {added.items} episodes recorded; `podscope sync` processes them."

    return await run_form(request, "/feeds", act)
