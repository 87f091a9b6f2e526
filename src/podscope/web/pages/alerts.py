"""The alerts page: saved searches with their endpoints, a form to add one (its webhook secret shown once) or remove
one, each alert's events and delivery log; and each alert's Atom feed, `/alerts/{id}/feed.xml`, which a feed reader
reads with the read key in its URL (`?key=`) when reading needs a key."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from podscope.alert_records import ALERT_MODES
from podscope.web.auth import ADMIN, READ, is_local
from podscope.web.forms import run_form
from podscope.web.state import lib_of
from podscope.web.templating import render

router = APIRouter(include_in_schema=False)


def feed_reader(request: Request, key: Annotated[str | None, Query()] = None) -> None:
    """Reading a feed: a feed reader cannot send headers, so its read key comes in the URL (`?key=`)."""
    lib = lib_of(request)
    if key is not None and lib.keys.verify(key) is None:
        raise HTTPException(401, "unknown or revoked API key in ?key=; `podscope keys list` shows the keys")
    open_here = is_local(request) and lib.settings.api_open_admin_on_loopback
    if key is None and lib.settings.api_read_requires_key and not open_here:
        raise HTTPException(401, "this feed needs a read key: add ?key=<key> (podscope keys create --scope read)")


@router.get("/alerts", response_class=HTMLResponse, dependencies=READ)
def alerts_page(request: Request) -> HTMLResponse:
    lib = lib_of(request)
    return render(request, "alerts.html", alerts=lib.alerts.saved(), modes=ALERT_MODES, shown=None)


@router.get("/alerts/{alert_id}", response_class=HTMLResponse, dependencies=READ)
def alert_page(request: Request, alert_id: int) -> HTMLResponse:
    lib = lib_of(request)
    alert = lib.alerts.get(alert_id)
    return render(
        request,
        "alerts.html",
        alerts=lib.alerts.saved(),
        modes=ALERT_MODES,
        shown=alert,
        events=lib.alerts.events(alert_id, 20),
        log=lib.alerts.deliveries(alert_id, 20),
    )


@router.get("/alerts/{alert_id}/feed.xml", dependencies=[Depends(feed_reader)])
def alert_feed(request: Request, alert_id: int) -> Response:
    body = lib_of(request).alerts.feed(alert_id, str(request.url))
    return Response(body, media_type="application/atom+xml; charset=utf-8")


@router.post("/alerts", dependencies=ADMIN)
async def alerts_add(request: Request) -> RedirectResponse:
    lib = lib_of(request)

    def act(form: dict[str, str]) -> str:
        new = lib.alerts.add(
            form.get("query", ""),
            speaker=form.get("speaker") or None,
            podcast=form.get("podcast") or None,
            mode=form.get("mode") or "text",
            webhook=form.get("webhook") or None,
            name=form.get("name") or None,
        )
        said = f"Saved alert {new.alert.id}: {new.alert.query}."
        if new.secret:
            said += f" Its webhook signing secret, shown only now: {new.secret}"
        return said

    return await run_form(request, "/alerts", act)


@router.post("/alerts/{alert_id}/remove", dependencies=ADMIN)
async def alerts_remove(request: Request, alert_id: int) -> RedirectResponse:
    lib = lib_of(request)

    def act(form: dict[str, str]) -> str:
        return f"Removed alert {lib.alerts.remove(alert_id).id}."

    return await run_form(request, "/alerts", act)
