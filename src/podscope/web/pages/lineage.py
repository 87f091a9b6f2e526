"""The thread page (/thread?q=... or ?segment=ID): a topic's timeline, one row per person, a dot per statement that
plays it in place, lines from each statement to the later ones that echo it; the firsts and each person's first and
last statement below."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from podscope.errors import InputError, NotFound
from podscope.lineage.records import Thread
from podscope.lineage.thread import who
from podscope.search.engine import options_from
from podscope.web.auth import READ
from podscope.web.pages.episodes import playable
from podscope.web.state import lib_of
from podscope.web.templating import render

ROW = 44  # pixels per person's row
MARGIN = 3.0  # percent kept free at each end of a row

router = APIRouter(include_in_schema=False)


def timeline(thread: Thread) -> dict[str, Any]:
    """Rows (one per speaker, first to speak first), each statement's place (x in percent, row) and the echo lines."""
    rows: list[str] = []
    for s in thread.statements:
        if who(s) not in rows:
            rows.append(who(s))
    dates = [s.published for s in thread.statements if s.published]
    low, high = (min(dates), max(dates)) if dates else (dt.date.min, dt.date.min)
    span = (high - low).days
    place: dict[int, tuple[float, int]] = {}
    taken: dict[tuple[int, float], int] = {}
    for n, s in enumerate(thread.statements):
        if s.published is None:
            x = 100 - MARGIN
        elif span:
            x = MARGIN + (100 - 2 * MARGIN) * (s.published - low).days / span
        else:
            x = MARGIN + (100 - 2 * MARGIN) * n / max(1, len(thread.statements) - 1)
        row = rows.index(who(s))
        k = taken.get((row, round(x, 1)), 0)  # statements of one day on one row sit side by side
        taken[(row, round(x, 1))] = k + 1
        place[s.segment_id] = (min(100 - MARGIN / 2, x + 0.9 * k), row)
    dots: dict[str, list[dict[str, Any]]] = {r: [] for r in rows}
    for s in thread.statements:
        x, row = place[s.segment_id]
        dots[rows[row]].append({"s": s, "x": round(x, 2)})
    lines = []
    for e in thread.echoes:
        (x1, r1), (x2, r2) = place[e.source.segment_id], place[e.echo.segment_id]
        lines.append({"x1": x1, "y1": r1 * ROW + ROW / 2, "x2": x2, "y2": r2 * ROW + ROW / 2, "e": e})
    ticks = [low, high] if dates and span else ([low] if dates else [])
    return {"rows": rows, "dots": dots, "lines": lines, "height": len(rows) * ROW, "row": ROW, "ticks": ticks}


def _episodes(thread: Thread) -> list[int]:
    return [s.episode_id for s in thread.statements]


@router.get("/thread", response_class=HTMLResponse, dependencies=READ)
def thread_page(request: Request) -> HTMLResponse:
    lib = lib_of(request)
    q = request.query_params
    params = {k: q.get(k, "").strip() for k in ("q", "segment", "speaker", "podcast", "since", "until")}
    context: dict[str, Any] = {"params": params, "thread": None, "error": None, "playable": set()}
    status = 200
    if params["q"] or params["segment"]:
        try:
            o = options_from({k: params[k] or None for k in ("speaker", "podcast", "since", "until")})
            segment = None
            if params["segment"]:
                if not params["segment"].isdigit():
                    raise InputError(f"segment {params['segment']!r}: expected a segment id (a number)")
                segment = int(params["segment"])
            found = lib.lineage.thread(
                None if segment else params["q"],
                segment=segment,
                speaker=o.speaker,
                podcast=o.podcast,
                since=o.since,
                until=o.until,
            )
            context.update(thread=found, chart=timeline(found), playable=playable(lib, _episodes(found)))
        except (InputError, NotFound) as exc:
            context["error"] = str(exc)
            status = 404 if isinstance(exc, NotFound) else 400
    return render(request, "thread.html", status, **context)
