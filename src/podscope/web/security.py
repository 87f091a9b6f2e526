"""The headers every answer carries so that a browser holds the pages to what they are.

Why it looks like this: the pages show text from strangers (feed titles, transcripts, people's names). Templates
escape all of it (`podscope.web.templating`); the Content-Security-Policy is the second wall, should an escape ever be
missed: a page runs only the scripts it loads from this server (no inline script, no `eval`, no plugin), sends forms
and requests only here, and cannot be framed by another site (clickjacking a review form). Every answer says
`nosniff`, so a transcript export or an error is never guessed to be HTML. The API's documentation page (Swagger UI
from a CDN, over the fixed OpenAPI document) gets a policy of its own; recordings get none, so that a browser opening
one directly can play it.

It is a plain ASGI middleware (not Starlette's BaseHTTPMiddleware), so streamed answers (recordings, Range requests)
pass through untouched but for their headers.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

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
)


def policy_for(path: str, content_type: str) -> str | None:
    """The Content-Security-Policy of an answer, by what it is; None for recordings (audio and video)."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media.startswith(("audio/", "video/")):
        return None
    if media == "text/html":
        return DOCS_POLICY if path == DOCS_PATH else PAGE_POLICY
    return DATA_POLICY


class SecurityHeaders:
    """Adds the headers above to every HTTP answer that does not set them itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))

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
