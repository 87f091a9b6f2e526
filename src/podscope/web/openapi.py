"""The OpenAPI document and its docs page, true for the client that asks.

    GET /api/openapi.json      the document (FastAPI builds it once from the routes; the security part per request)
    GET /api/docs              Swagger UI over it

Why it looks like this: whether an operation needs a key depends on the server's settings and on who asks (reading
is open unless `api_read_requires_key`; changes need an admin key except from this machine with
`api_open_admin_on_loopback`, see `podscope.web.auth`). A document that always said "key required" would be wrong
for most clients, and API tools (schemathesis, client generators) rightly take it at its word; so each operation's
`security` is the one that holds for this client: `[{"apiKey": []}]` when a key is needed, `[{}, {"apiKey": []}]`
when a key is optional (OpenAPI's empty requirement: no authentication), with the role `admin` on the operations that
change the library (`podscope.web.auth.require_admin`). An unknown key is refused everywhere (401).
"""

from __future__ import annotations

import copy
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse

from podscope.web.auth import ADMIN_ROLE, is_local
from podscope.web.state import lib_of

DOCUMENT = "/api/openapi.json"
SCHEME = "apiKey"

router = APIRouter(include_in_schema=False)


def document(app: FastAPI, request: Request) -> dict[str, Any]:
    """The app's OpenAPI document with each operation's security as it holds for this request's client."""
    settings = lib_of(request).settings
    local_admin = settings.api_open_admin_on_loopback and is_local(request)
    doc = copy.deepcopy(app.openapi())
    for operations in doc.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict) or "security" not in operation:
                continue
            admin = any(ADMIN_ROLE in roles for need in operation["security"] for roles in need.values())
            needed = not local_admin if admin else settings.api_read_requires_key and not local_admin
            key = {SCHEME: [ADMIN_ROLE] if admin else []}
            operation["security"] = [key] if needed else [{}, key]
    return doc


@router.get(DOCUMENT)
def openapi_document(request: Request) -> JSONResponse:
    return JSONResponse(document(request.app, request))


@router.get("/api/docs")
def docs_page() -> HTMLResponse:
    return get_swagger_ui_html(openapi_url=DOCUMENT, title="podscope API")
