"""The review page: machine attributions and unknown voices waiting for a human, and the forms that decide them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from podscope.errors import InputError, NotFound
from podscope.web.auth import ADMIN, READ
from podscope.web.forms import run_form
from podscope.web.pages.base import path_id
from podscope.web.pages.people import people_names
from podscope.web.state import lib_of
from podscope.web.templating import render

router = APIRouter(include_in_schema=False)


def _changed(changes: list[Any]) -> str:
    n = len(changes)
    return f" {n} other attribution{'s' if n != 1 else ''} updated." if n else ""


@router.get("/review", response_class=HTMLResponse, dependencies=READ)
def review_page(request: Request) -> HTMLResponse:
    lib = lib_of(request)
    tier = request.query_params.get("tier", "matched")
    if tier not in ("matched", "low", "verified"):
        tier = "matched"
    enabled = lib.people.enabled
    items = lib.people.review(tier) if enabled else []
    unknown = lib.people.unknown() if enabled else []
    return render(
        request,
        "review.html",
        enabled=enabled,
        tier=tier,
        items=items,
        unknown=unknown,
        people=people_names(lib),
        next_url=str(request.url.path) + (f"?tier={tier}" if tier != "matched" else ""),
    )


@router.post("/review/{speaker_ref}/confirm", dependencies=ADMIN)
async def review_confirm(request: Request, speaker_ref: str) -> RedirectResponse:
    lib = lib_of(request)
    speaker_id = path_id(speaker_ref, "attribution")

    def act(form: dict[str, str]) -> str:
        a = lib.people.attribution(speaker_id)
        changes = lib.people.confirm(speaker_id)
        who = f"{a.person} in “{lib.episode(a.episode_id).title}”" if a else "the attribution"
        return f"Confirmed {who}.{_changed(changes)}"

    return await run_form(request, "/review", act)


@router.post("/review/{speaker_ref}/reject", dependencies=ADMIN)
async def review_reject(request: Request, speaker_ref: str) -> RedirectResponse:
    lib = lib_of(request)
    speaker_id = path_id(speaker_ref, "attribution")

    def act(form: dict[str, str]) -> str:
        a = lib.people.attribution(speaker_id)
        changes = lib.people.reject(speaker_id)
        who = f"{a.label} is not {a.person}" if a else "rejected"
        return f"Noted: {who}; this voice will not be matched to them again.{_changed(changes)}"

    return await run_form(request, "/review", act)


@router.post("/review/{speaker_ref}/assign", dependencies=ADMIN)
async def review_assign(request: Request, speaker_ref: str) -> RedirectResponse:
    lib = lib_of(request)
    speaker_id = path_id(speaker_ref, "attribution")

    def act(form: dict[str, str]) -> str:
        name = " ".join(form.get("name", "").split())
        if not name:
            raise InputError("type the name of the person who speaks here")
        a = lib.people.attribution(speaker_id)
        if a is None:
            raise NotFound(f"no attribution {speaker_id}: it may have changed; reload the review page")
        changes = lib.people.assign(a.episode_id, a.label, name)
        return f"{a.label} in episode {a.episode_id} is now {name}.{_changed(changes)}"

    return await run_form(request, "/review", act)


@router.post("/review/unknown/{unknown_id}/name", dependencies=ADMIN)
async def review_name_unknown(request: Request, unknown_id: str) -> RedirectResponse:
    lib = lib_of(request)

    def act(form: dict[str, str]) -> str:
        name = " ".join(form.get("name", "").split())
        if not name:
            raise InputError("type the name of the person with this voice")
        changes = lib.people.enroll_unknown(name, unknown_id)
        return f"Named the voice {name}: they are recognised from now on.{_changed(changes)}"

    return await run_form(request, "/review", act)
