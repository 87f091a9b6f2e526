"""`/mcp`: the library's MCP server (podscope.mcp) over streamable HTTP, for assistants; every request needs an API
key (`Authorization: Bearer <key>`), from this machine too. A read key may call the reading tools, an admin key the
tools that change the library as well; the deep links in the answers use the address the client reached.

Without the `mcp` extra the endpoint answers 501 with the command that installs it.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from podscope.errors import InputError
from podscope.library import Library
from podscope.web.auth import require_key

PATH = "/mcp"


def _error(status: int, message: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message, "status": status}, status_code=status, headers=headers)


class KeyedEndpoint:
    """The MCP sessions' ASGI endpoint behind the API key check. The SDK's session manager runs once, so each run of
    the app (its lifespan: `running()`) makes a new one."""

    def __init__(self, make_sessions: Callable[[], Any]):
        self._make_sessions = make_sessions
        self.sessions: Any = None

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        self.sessions = self._make_sessions()
        async with self.sessions.run():
            yield

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        from podscope.mcp.access import SCOPE_KEY, Caller

        request = Request(scope, receive)
        try:
            caller = await run_in_threadpool(require_key, request)
        except HTTPException as exc:
            await _error(exc.status_code, str(exc.detail), exc.headers)(scope, receive, send)
            return
        scope[SCOPE_KEY] = Caller(admin=caller.admin, base_url=str(request.base_url).rstrip("/"))
        await self.sessions.handle_request(scope, receive, send)


class Missing:
    """The endpoint without the SDK: why, and how to install it."""

    def __init__(self, message: str):
        self.message = message

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await _error(501, self.message)(scope, receive, send)


def install(app: FastAPI, lib: Library) -> KeyedEndpoint | None:
    """Add `/mcp` to `app`; returns its endpoint, whose `running()` the app's lifespan enters (None when the SDK is
    not installed)."""
    from podscope.mcp import load

    try:
        server_module = load()
    except InputError as exc:
        app.router.routes.append(Route(PATH, Missing(str(exc))))
        return None
    endpoint = KeyedEndpoint(lambda: server_module.http_sessions(server_module.build_server(lib, admin=False)))
    app.router.routes.append(Route(PATH, endpoint, methods=["GET", "POST", "DELETE"]))
    return endpoint
