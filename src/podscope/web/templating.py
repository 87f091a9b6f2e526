"""The pages' Jinja2 environment, its filters, and the two ways a page is answered: `render` and `error_page`.

Every page is a template rendered with autoescaping on: transcripts, titles and names come from feeds and recordings,
so any of them may hold markup, and none of it is ever written unescaped. The one place that builds markup in Python
(search highlights) escapes the text first and inserts `<mark>` by character offsets.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context
from jinja2.runtime import Context
from markupsafe import Markup, escape

from podscope import __version__
from podscope.library import Library
from podscope.records import TIERS
from podscope.timefmt import position
from podscope.web.auth import may_read, session_key
from podscope.web.forms import CSRF_COOKIE, FLASH_COOKIE, csrf_token, read_flash
from podscope.web.state import lib_of

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
TIER_HELP = {
    "confirmed": "a person decided (or the publisher's transcript names them)",
    "verified": "the voice matches their profile closely",
    "matched": "the voice matches their profile",
    "low": "a weak match, hidden by default",
}


# -- formatting -------------------------------------------------------------------------------------------------------


def talk_time(seconds: float | None) -> str:
    """Speaking time for people: "45 s", "4 min", "1 h 12 min"."""
    s = float(seconds or 0)
    if s < 60:
        return f"{s:.0f} s"
    minutes = round(s / 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min"


def nice_date(value: dt.date | str | None) -> str:
    if not value:
        return ""
    if isinstance(value, str):
        try:
            day = dt.date.fromisoformat(value[:10])
        except ValueError:
            return value
    else:
        day = value
    return f"{day.day} {day:%b %Y}"


def nice_time(value: str | None) -> str:
    """An ISO timestamp from the store ("2025-03-14T10:22:03Z") as "14 Mar 2025, 10:22 UTC"."""
    if not value:
        return ""
    try:
        when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    return f"{when.day} {when:%b %Y, %H:%M} UTC"


def highlight(text: str, spans: Iterable[tuple[int, int]]) -> Markup:
    """The text escaped, with `<mark>` around the given character spans (merged, clipped to the text)."""
    merged: list[list[int]] = []
    for start, end in sorted((max(0, a), min(len(text), b)) for a, b in spans):
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out: list[str] = []
    pos = 0
    for start, end in merged:
        out.append(str(escape(text[pos:start])))
        out.append(f"<mark>{escape(text[start:end])}</mark>")
        pos = end
    out.append(str(escape(text[pos:])))
    return Markup("".join(out))


def hue(name: str) -> int:
    """A stable colour index (0-5) for a name's avatar."""
    return int(hashlib.md5(name.encode(), usedforsecurity=False).hexdigest(), 16) % 6


def person_url(name: str) -> str:
    return "/people/" + quote(name, safe="")


def _static_version() -> str:
    digest = hashlib.sha256()
    for path in sorted(STATIC.iterdir()):
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


# -- templates ------------------------------------------------------------------------------------------------------

env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
env.filters.update(
    position=position,
    talk_time=talk_time,
    nice_date=nice_date,
    nice_time=nice_time,
    highlight=highlight,
    person_url=person_url,
    hue=hue,
)
env.globals.update(
    TIERS=TIERS, TIER_HELP=TIER_HELP, version=__version__, static_version=_static_version(), person_url=person_url
)


@pass_context
def _url_with(context: Context, **changes: Any) -> str:
    """The current search URL with some parameters changed (None or "" removes one); the page resets unless given."""
    params: dict[str, Any] = dict(context.get("params", {}))
    params.pop("page", None)
    params.update(changes)
    kept = {k: v for k, v in params.items() if v not in (None, "")}
    return "/search" + ("?" + urlencode(kept) if kept else "")


env.globals["url_with"] = _url_with


def _review_count(lib: Library) -> int:
    """Attributions in the default review queue (matched ones, and low ones held back), for the nav badge."""
    if not lib.people.enabled:
        return 0
    return lib.people.review_waiting()


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    lib = lib_of(request)
    token, fresh = csrf_token(request)
    flash = read_flash(request)
    body = env.get_template(template).render(
        request_path=request.url.path,
        csrf=token,
        flash=flash,
        review_count=_review_count(lib) if may_read(request) else 0,
        search_q=context.pop("search_q", ""),
        signed_in=session_key(request) is not None,
        sign_in_offered=lib.settings.api_read_requires_key,
        **context,
    )
    response = HTMLResponse(body, status_code=status)
    if fresh:
        response.set_cookie(
            CSRF_COOKIE, token, httponly=True, samesite="lax", path="/", secure=request.url.scheme == "https"
        )
    if flash is not None:
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response


def error_page(request: Request, status: int, message: str) -> str:
    """The site's error page (every value escaped). It reads nothing from the library: that may be what failed."""
    titles = {
        400: "That request did not work",
        401: "A key is needed",
        403: "Not allowed",
        404: "Not found",
        405: "Not allowed",
        429: "Too many requests",
    }
    try:
        return env.get_template("error.html").render(
            request_path=request.url.path,
            csrf="",
            flash=None,
            review_count=None,
            search_q="",
            signed_in=False,
            sign_in_offered=False,
            status=status,
            title=titles.get(status, "Something went wrong"),
            message=message,
        )
    except Exception:  # the error page must never fail: fall back to plain escaped HTML
        return (
            f"<!doctype html><html><head><meta charset='utf-8'><title>{status} · podscope</title></head>"
            f"<body><h1>{status}</h1><p>{escape(message)}</p><p><a href='/'>Back to search</a></p></body></html>"
        )
