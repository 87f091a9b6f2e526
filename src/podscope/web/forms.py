"""The pages' forms: the cross-site checks on a posted form, and the one-time message shown after it.

Forms that change data POST to the pages. Each is protected against cross-site requests by a per-browser token, kept
in a cookie and repeated in a hidden field, compared in constant time; a request whose Origin names another site is
refused too. After a change the browser is redirected back (303) with a one-time message, kept in a cookie until the
next page shows it.
"""

from __future__ import annotations

import base64
import hmac
import json
import secrets
from collections.abc import Callable
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from podscope.errors import PodscopeError

CSRF_COOKIE = "podscope_csrf"
FLASH_COOKIE = "podscope_flash"


def csrf_token(request: Request) -> tuple[str, bool]:
    """The browser's token, or a new one (True when it must be set)."""
    token = request.cookies.get(CSRF_COOKIE, "")
    if 20 <= len(token) <= 100 and token.replace("-", "").replace("_", "").isalnum():
        return token, False
    return secrets.token_urlsafe(32), True


def read_flash(request: Request) -> dict[str, str] | None:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(raw.encode()).decode())
        return {"kind": str(data["kind"]), "text": str(data["text"])}
    except (ValueError, KeyError, TypeError):
        return None


async def read_form(request: Request) -> dict[str, str]:
    """The posted form, after the cross-site checks: same origin (when the browser says) and the CSRF token."""
    origin = request.headers.get("origin")
    if origin and origin != "null":
        host = urlsplit(origin).netloc
        if host != request.headers.get("host", ""):
            raise HTTPException(403, "cross-site request refused")
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    cookie = request.cookies.get(CSRF_COOKIE, "")
    sent = values.get("csrf", "")
    if not cookie or not sent or not hmac.compare_digest(cookie.encode(), sent.encode()):
        raise HTTPException(403, "this form has expired or came from another site: reload the page and try again")
    return values


def back(path: str, kind: str, text: str) -> RedirectResponse:
    """A redirect to `path` (303) carrying a one-time message of a kind (ok | error)."""
    response = RedirectResponse(path, status_code=303)
    payload = base64.urlsafe_b64encode(json.dumps({"kind": kind, "text": text}).encode()).decode()
    response.set_cookie(FLASH_COOKIE, payload, httponly=True, samesite="lax", path="/", max_age=60)
    return response


def safe_next(value: str | None, default: str) -> str:
    """A local path to go back to (never another site)."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return default


async def run_form(request: Request, default: str, action: Callable[[dict[str, str]], str]) -> RedirectResponse:
    """Run a form's action in the threadpool; a library error comes back as a message on the page rather than an
    error page."""
    form = await read_form(request)
    where = safe_next(form.get("next"), default)
    try:  # the action may re-score the library, enrol a voice or fetch a feed: never on the event loop
        return back(where, "ok", await run_in_threadpool(action, form))
    except PodscopeError as exc:
        return back(where, "error", str(exc))
