"""Signing a browser in with an API key, and out: what lets a browser use a server where `api_read_requires_key` is
on (or change the library from another machine), since a page cannot send a key with each request.

POST /login takes a key in a form (with the CSRF token: no other site can sign a browser in under its own key),
checks it, and sets a new session cookie (`podscope.web.auth.SESSION_COOKIE`: HttpOnly, SameSite=Lax, Secure when the
page came over https); any session the browser held is ended first, and the CSRF token is renewed, so nothing set
before signing in carries over. POST /logout ends the session on the server, so a copy of the cookie stops working.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from podscope.keys import SESSION_SECONDS
from podscope.web.auth import SESSION_COOKIE, session_key
from podscope.web.forms import CSRF_COOKIE, back, read_form, safe_next
from podscope.web.state import lib_of
from podscope.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> HTMLResponse:
    key = session_key(request)
    return render(request, "login.html", signed_in_as=key, next_url=safe_next(request.query_params.get("next"), "/"))


@router.post("/login")
async def login(request: Request) -> RedirectResponse:
    form = await read_form(request)
    where = safe_next(form.get("next"), "/")
    keys = lib_of(request).keys
    keys.sign_out(request.cookies.get(SESSION_COOKIE, ""))
    signed = keys.sign_in(form.get("key", ""))
    if signed is None:
        unknown = "That key is unknown or revoked: `podscope keys list` shows them."
        response = back("/login?next=" + quote(where, safe="/"), "error", unknown)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response
    key, secret = signed
    response = back(where, "ok", f"Signed in with the {key.scope} key {key.prefix}….")
    https = request.url.scheme == "https"
    response.set_cookie(
        SESSION_COOKIE, secret, max_age=SESSION_SECONDS, path="/", httponly=True, samesite="lax", secure=https
    )
    response.delete_cookie(CSRF_COOKIE, path="/")  # the next page sets a fresh token
    return response


@router.post("/logout")
async def logout(request: Request) -> RedirectResponse:
    await read_form(request)
    lib_of(request).keys.sign_out(request.cookies.get(SESSION_COOKIE, ""))
    response = back("/login", "ok", "Signed out.")
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response
