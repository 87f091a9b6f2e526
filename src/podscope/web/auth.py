"""Who may do what over HTTP: API keys, the this-machine exception and per-key rate limits, as FastAPI dependencies.

    @router.get("/api/episodes", dependencies=READ)      # reading: [Depends(require_read)]
    @router.post("/api/feeds", dependencies=ADMIN)       # changing the library: [Depends(require_admin)]

The rules (also in the README's "HTTP API" section):
- A key (`podscope keys create --scope read|admin`) is sent as `Authorization: Bearer <key>`. An unknown or revoked key
  is refused (401) wherever it is sent, so a client learns its key is wrong even where none is needed.
- Reading needs no key unless the setting `api_read_requires_key` is on; then a read or an admin key.
- Changing the library (every POST and DELETE) needs an admin key; a read key gets 403. The one exception: with
  `api_open_admin_on_loopback` on (the default), a request from this machine needs no key at all, so someone running
  `podscope serve` on their own computer can use the pages without keys.
- "From this machine" is strict, because a browser on this machine also visits other sites: the client address is
  loopback (uvicorn has already replaced it by X-Forwarded-For when a local proxy sent one, so proxied clients are not
  local), the Host header names a loopback host (a DNS-rebinding page has its own host name), and the request is not
  cross-site (an Origin other than the server's own, or `Sec-Fetch-Site: cross-site`, as a form on another site
  would send; browsers post such forms without asking first).
- A browser cannot send a key with each request (an `<audio>` element never sends headers), so it signs in once at
  /login with a key and then holds a session cookie (`podscope_session`: HttpOnly, SameSite=Lax, Secure over https)
  that stands for that key on the pages and the API alike. Over the API, a change made with only that cookie must
  also carry the page's CSRF token in an `X-CSRF-Token` header (forms carry it in a field): a cookie is sent by the
  browser whoever wrote the request, a header only by the pages' own scripts.
- Rate limits: a token bucket per key, or per client address for requests without a valid key, refilled at
  `api_rate_per_minute` and holding as many; an empty bucket answers 429 with `Retry-After`. The bucket is charged
  before the key is judged, so guessing keys is limited too.

Refusals are `HTTPException`s: the app turns them into the same JSON errors as the library's.
"""

from __future__ import annotations

import hmac
import ipaddress
import math
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from podscope.records import ApiKey
from podscope.web.forms import CSRF_COOKIE
from podscope.web.state import lib_of, limiter_of

__all__ = [
    "ADMIN",
    "CSRF_HEADER",
    "READ",
    "SESSION_COOKIE",
    "Caller",
    "is_local",
    "loopback_host",
    "may_read",
    "require_admin",
    "require_key",
    "require_read",
    "session_key",
]

SESSION_COOKIE = "podscope_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

ADMIN_ROLE = "admin"  # the role the OpenAPI document names on operations that change the library
LOOPBACK_NAMES = frozenset({"localhost", "localhost.", "ip6-localhost"})

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="apiKey",
    description="An API key from `podscope keys create --scope read|admin`, sent as `Authorization: Bearer <key>`.",
)


@dataclass(frozen=True)
class Caller:
    """Who is asking: their key (None without one) and whether the request comes from this machine."""

    key: ApiKey | None
    local: bool
    session: bool = False  # the key came from a browser session's cookie, not an Authorization header

    @property
    def admin(self) -> bool:
        return self.key is not None and self.key.scope == "admin"


def loopback_host(host: str) -> bool:
    """Whether a host name or address (an IPv6 one in brackets or not) is this machine's loopback."""
    host = host.strip().lower()
    if host in LOOPBACK_NAMES:
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or (mapped is not None and mapped.is_loopback)


def is_local(request: Request) -> bool:
    """Whether a request comes from this machine and is not a cross-site request made by a browser on it."""
    if request.client is None or not loopback_host(request.client.host):
        return False
    host = request.headers.get("host", "")
    if not host or not loopback_host(urlsplit(f"//{host}").hostname or ""):
        return False
    origin = request.headers.get("origin")
    if origin is not None and urlsplit(origin).netloc.lower() != host.lower():
        return False
    return request.headers.get("sec-fetch-site", "").lower() != "cross-site"


def session_key(request: Request) -> ApiKey | None:
    """The key a browser's session cookie stands for, or None (no cookie, or one that expired or was signed out)."""
    secret = request.cookies.get(SESSION_COOKIE, "")
    return lib_of(request).keys.session(secret) if secret else None


def _check_csrf_header(request: Request) -> None:
    """A change over the API authenticated by a session cookie alone must repeat the page's CSRF token in a header."""
    sent = request.headers.get(CSRF_HEADER, "")
    held = request.cookies.get(CSRF_COOKIE, "")
    if not sent or not held or not hmac.compare_digest(sent.encode(), held.encode()):
        raise HTTPException(
            403,
            "a change made with a browser session needs the page's CSRF token in an X-CSRF-Token header (reload the"
            " page), or send an API key instead",
        )


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(401, message, headers={"WWW-Authenticate": "Bearer"})


def _identify(request: Request, credentials: HTTPAuthorizationCredentials | None) -> Caller:
    """The caller, after charging their rate-limit bucket; a key that is presented must be valid."""
    presented: str | None = None
    if "authorization" in request.headers:
        if credentials is None or not credentials.credentials.strip():
            raise _unauthorized(
                "the Authorization header must be `Bearer <key>` with a key from `podscope keys create`"
            )
        presented = credentials.credentials.strip()
    key = lib_of(request).keys.verify(presented) if presented else None
    session = presented is None and (key := session_key(request)) is not None
    client = request.client.host if request.client else "unknown"
    path = request.url.path
    # Programs are limited; a person browsing the pages, and a player's Range requests for audio, are not.
    charged = (path.startswith("/api/") and not path.endswith("/audio")) or path == "/mcp"
    wait = (
        limiter_of(request).take(
            f"key:{key.id}" if key else f"address:{client}", lib_of(request).settings.api_rate_per_minute
        )
        if charged
        else 0.0
    )
    if wait:
        raise HTTPException(
            429,
            f"too many requests: at most {lib_of(request).settings.api_rate_per_minute} a minute; retry in"
            f" {math.ceil(wait)} s",
            headers={"Retry-After": str(math.ceil(wait))},
        )
    if presented is not None and key is None:
        raise _unauthorized("unknown or revoked API key; `podscope keys list` shows the keys")
    if session and request.method not in SAFE_METHODS and path.startswith("/api/"):
        _check_csrf_header(request)
    return Caller(key=key, local=is_local(request), session=session)


def _open_locally(request: Request, caller: Caller) -> bool:
    return caller.local and lib_of(request).settings.api_open_admin_on_loopback


def may_read(request: Request) -> bool:
    """Whether this request may read the library (the pages ask, to show nothing of it to a stranger)."""
    settings = lib_of(request).settings
    if not settings.api_read_requires_key:
        return True
    if is_local(request) and settings.api_open_admin_on_loopback:
        return True
    header = request.headers.get("authorization", "")
    presented = header[7:].strip() if header[:7].lower() == "bearer " else ""
    return bool(presented and lib_of(request).keys.verify(presented)) or session_key(request) is not None


def require_read(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> Caller:
    """A dependency for reading: open unless `api_read_requires_key` (then a read or admin key, or this machine)."""
    caller = _identify(request, credentials)
    if caller.key is None and lib_of(request).settings.api_read_requires_key and not _open_locally(request, caller):
        raise _unauthorized(
            "this server needs an API key to read: send `Authorization: Bearer <key>` (podscope keys create --scope"
            " read), or sign this browser in at /login"
        )
    return caller


def require_admin(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer, scopes=[ADMIN_ROLE])],
) -> Caller:
    """A dependency for changing the library: an admin key, or (with `api_open_admin_on_loopback`) this machine."""
    caller = _identify(request, credentials)
    if caller.key is not None and not (caller.session and not caller.admin and _open_locally(request, caller)):
        if not caller.admin:
            raise HTTPException(
                403, "this API key may only read; changes need an admin key (podscope keys create --scope admin)"
            )
        return caller
    if _open_locally(request, caller):
        return caller
    raise _unauthorized(
        "changing the library needs an admin API key: send `Authorization: Bearer <key>` (podscope keys create"
        " --scope admin)"
    )


def require_key(request: Request) -> Caller:
    """For the MCP endpoint: a valid read or admin key, from this machine too (an assistant is a program that may
    act on a page's behalf, so the this-machine exception does not apply)."""
    header = request.headers.get("authorization")
    if header is None:
        raise _unauthorized(
            "the MCP endpoint needs an API key: send `Authorization: Bearer <key>` (podscope keys create --scope"
            " read|admin)"
        )
    scheme, _, token = header.strip().partition(" ")
    credentials = (
        HTTPAuthorizationCredentials(scheme=scheme, credentials=token.strip()) if scheme.lower() == "bearer" else None
    )
    caller = _identify(request, credentials)
    if caller.key is None:  # pragma: no cover - _identify refuses a presented key it does not know
        raise _unauthorized("unknown or revoked API key; `podscope keys list` shows the keys")
    return caller


READ = [Depends(require_read)]  # the dependencies of a route that reads
ADMIN = [Depends(require_admin)]  # the dependencies of a route that changes the library
