"""The home page (recent episodes and what the library holds) and the search page with its filters and paging."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from podscope.errors import InputError, NotFound
from podscope.search.engine import MODES, SORTS, options_from
from podscope.web.auth import READ
from podscope.web.pages.episodes import playable
from podscope.web.pages.people import people_names
from podscope.web.state import lib_of
from podscope.web.templating import render

PAGE_SIZE = 10
SEARCH_MODES = {"hybrid": "Words + meaning", "text": "Exact words", "semantic": "Meaning"}

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse, dependencies=READ)
@router.get("/search", response_class=HTMLResponse, dependencies=READ)
def search_page(request: Request) -> HTMLResponse:
    lib = lib_of(request)
    q = request.query_params
    keys = ("q", "speaker", "podcast", "since", "until", "mode", "sort", "page", "quote")
    params = {k: q.get(k, "").strip() for k in keys}
    if params["mode"] not in MODES:
        params["mode"] = ""
    if params["sort"] not in SORTS:
        params["sort"] = ""
    try:
        page = max(1, min(100, int(params["page"] or 1)))
    except ValueError:
        page = 1
    context: dict[str, Any] = {
        "params": params,
        "people": people_names(lib),
        "podcasts": lib.podcasts(),
        "modes": SEARCH_MODES,
        "result": None,
        "playable": set(),
        "error": None,
        "page": page,
        "page_size": PAGE_SIZE,
        "search_q": params["q"],
        "check": None,
    }
    status = 200
    if params["quote"]:  # the quote-check box: where was this said, and how faithfully?
        try:
            context["check"] = lib.lineage.quote_check(
                params["quote"], speaker=params["speaker"] or None, podcast=params["podcast"] or None
            )
            best = context["check"].best
            context["playable"] = playable(lib, [best.episode_id] if best else [])
        except (InputError, NotFound) as exc:
            context["error"] = str(exc)
            status = 404 if isinstance(exc, NotFound) else 400
    elif params["q"]:
        try:
            context["result"] = lib.search.search(
                params["q"],
                options_from(
                    {
                        "mode": params["mode"] or None,
                        "sort": params["sort"] or None,
                        "speaker": params["speaker"] or None,
                        "podcast": params["podcast"] or None,
                        "since": params["since"] or None,
                        "until": params["until"] or None,
                        "limit": PAGE_SIZE,
                        "offset": (page - 1) * PAGE_SIZE,
                    }
                ),
            )
            context["playable"] = playable(lib, (h.episode_id for h in context["result"].hits))
        except (InputError, NotFound) as exc:  # a malformed query, or a filter naming nobody: said on the page
            context["error"] = str(exc)
            status = 404 if isinstance(exc, NotFound) else 400
    else:
        context["recent"] = lib.recent_episodes(6)
        context["counts"] = lib.counts()
    return render(request, "search.html", status, **context)
