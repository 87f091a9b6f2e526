"""The headers every answer carries so that a browser holds the pages to what they are.

Why it looks like this: the pages show text from strangers (feed titles, transcripts, people's names). Templates
escape all of it (`podscope.web.templating`); the Content-Security-Policy is the second wall, should an escape ever be
missed: a page runs only the scripts it loads from this server (no inline script, no `eval`, no plugin), sends forms
and requests only here, and cannot be framed by another site (clickjacking a review form). Every answer says
`nosniff`, so a transcript export or an error is never guessed to be HTML, and `Cache-Control: private` unless it
says otherwise (the static files are public), so a shared cache never hands one reader's answer to another. The
API's documentation page (Swagger UI from a CDN, over the fixed OpenAPI document) gets a policy of its own;
recordings get none, so that a browser opening one directly can play it.

A server listening on loopback (`podscope serve`'s default) answers only to loopback names: a request that a
browser on this machine makes to 127.0.0.1 for another host name is a DNS-rebinding page (evil.example resolved to
127.0.0.1 after the page loaded), which could otherwise read an open library from the user's own browser; it gets 421.
A reverse proxy on this machine sends the public name and X-Forwarded-For, so uvicorn presents its clients as the
addresses they are, and they pass.

It is a plain ASGI middleware (not Starlette's BaseHTTPMiddleware), so streamed answers (recordings, Range requests)
pass through untouched but for their headers.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from podscope.web.auth import loopback_host

PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; img-src 'self' data:;"
    " media-src 'self'; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none';"
    " form-action 'self'; frame-ancestors 'none'"
)
DOCS_POLICY = (  # Swagger UI: its script and styles from jsDelivr, one inline script that starts it
    "default-src 'none'; script-src https://cdn.jsdelivr.net 'unsafe-inline'; style-src https://cdn.jsdelivr.net;"
    " img-src 'self' data: https://fastapi.tiangolo.com; connect-src 'self'; base-uri 'none'; form-action 'none';"
    " frame-ancestors 'none'"
)
DATA_POLICY = "default-src 'none'; frame-ancestors 'none'; sandbox"  # JSON, exports, errors: never a live document
DOCS_PATH = "/api/docs"
ALWAYS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    # what a signed-in browser was shown (a recording carries Last-Modified) is never kept by a shared cache for others
    (b"cache-control", b"private"),
)


def policy_for(path: str, content_type: str) -> str | None:
    """The Content-Security-Policy of an answer, by what it is; None for recordings (audio and video)."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media.startswith(("audio/", "video/")):
        return None
    if media == "text/html":
        return DOCS_POLICY if path == DOCS_PATH else PAGE_POLICY
    return DATA_POLICY


def rebound(scope: Scope) -> str | None:
    """The host name a loopback client asked a loopback server for, when it is not a loopback name; else None."""
    server, client = scope.get("server"), scope.get("client")
    if not server or not client or not loopback_host(str(server[0])) or not loopback_host(str(client[0])):
        return None
    host = Headers(scope=scope).get("host", "")
    if not host:  # every browser names the host; a request without one is no rebinding page
        return None
    return None if loopback_host(urlsplit(f"//{host}").hostname or "") else host


class SecurityHeaders:
    """Adds the headers above to every HTTP answer that does not set them itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        host = rebound(scope)
        if host is not None:
            message = (
                f"this server listens on loopback and answers only to localhost, 127.0.0.1 or [::1], not to {host!r}"
                " (a page that renamed this machine, or a proxy that sends no X-Forwarded-For)"
            )
            await JSONResponse({"error": message, "status": 421}, status_code=421)(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(name, value) for name, value in ALWAYS if name not in present]
                content_type = next((v.decode("latin-1") for k, v in headers if k.lower() == b"content-type"), "")
                policy = policy_for(path, content_type)
                if policy is not None and b"content-security-policy" not in present:
                    headers.append((b"content-security-policy", policy.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
