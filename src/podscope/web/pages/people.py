"""The people pages: everyone with a voice profile or a credit, and one person's appearances, chart and quotes."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from podscope.library import Library
from podscope.web.auth import READ
from podscope.web.pages.charts import chart
from podscope.web.pages.episodes import playable
from podscope.web.state import lib_of
from podscope.web.templating import render

router = APIRouter(include_in_schema=False)


def people_names(lib: Library) -> list[str]:
    return sorted(lib.people.names(), key=str.lower)


@router.get("/people", response_class=HTMLResponse, dependencies=READ)
def people_page(request: Request) -> HTMLResponse:
    lib = lib_of(request)
    roster = sorted(lib.people.roster(), key=lambda pa: (-pa[0].episodes, pa[0].name.lower()))
    return render(request, "people.html", roster=roster, enabled=lib.people.enabled)


@router.get("/people/{name:path}", response_class=HTMLResponse, dependencies=READ)
def person_page(request: Request, name: str) -> HTMLResponse:
    lib = lib_of(request)
    page = lib.people.show(name, quotes=6)
    data = page.to_dict()
    return render(
        request,
        "person.html",
        person=page.person,
        data=data,
        chart=chart(data["appearances_by_month"]),
        playable=playable(lib, (q["episode_id"] for q in data["quotes"])),
        podcasts=sorted({a["podcast"] for a in data["appearances"]}),
    )
