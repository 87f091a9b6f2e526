"""The web application: one FastAPI app serving the JSON API under /api and the pages, over one library.

    app = create_app(Library(home))
    uvicorn.run(app, host="127.0.0.1", port=8765)

Why it looks like this: the app is a thin shell like the CLI. Routes call the library; one place (here) maps the
library's errors to HTTP responses (JSON for /api, an error page otherwise), so no route has its own error handling
and no traceback ever reaches a client.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from podscope import __version__
from podscope.alerts import Deliverer
from podscope.errors import Conflict, InputError, NotFound, PodscopeError, TooLong
from podscope.jobs import Runner
from podscope.library import Library
from podscope.web.api.base import allowed_methods
from podscope.web.ratelimit import RateLimiter
from podscope.web.security import SecurityHeaders
from podscope.web.templating import error_page

STATUS = ((NotFound, 404), (Conflict, 409), (TooLong, 413), (InputError, 400), (PodscopeError, 500))


def status_of(exc: PodscopeError) -> int:
    return next(code for kind, code in STATUS if isinstance(exc, kind))


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api") or "application/json" in request.headers.get("accept", "")


def error_response(request: Request, status: int, message: str) -> Response:
    if _wants_json(request):
        return JSONResponse({"error": message, "status": status}, status_code=status)
    return HTMLResponse(error_page(request, status, message), status_code=status)


def concurrency_limit(setting: int) -> int | None:
    """uvicorn's `limit_concurrency` for the `serve_concurrency` setting. It counts open connections too, the one a
    request arrives on included, so 1 would refuse everything."""
    if setting == 0:
        return None
    if setting < 2:
        raise InputError(f"serve_concurrency {setting}: expected 0 (no limit) or 2 or more")
    return setting


def app_of_environment() -> FastAPI:
    """The app over the library of `PODSCOPE_HOME`: what each worker process of `podscope serve --workers N` builds
    for itself (uvicorn starts the workers and imports this factory in each; `serve` sets the variable)."""
    return create_app(Library())


def create_app(lib: Library, **state: Any) -> FastAPI:
    """The app over `lib`, with what its routes share built once and kept in `app.state` (see
    `podscope.web.state`); extra keyword arguments are kept there too, and win. While the app runs (its lifespan),
    the job runner runs the library's stored jobs (`podscope.jobs`) on a second library over the same home, and the
    alert deliverer searches new episodes for the saved searches and sends their webhooks (`podscope.alerts`)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runner: Runner = app.state.jobs
        deliverer: Deliverer = app.state.deliverer
        await run_in_threadpool(runner.start)  # first puts back what a stopped server left running
        deliverer.start()
        try:
            async with AsyncExitStack() as stack:
                if app.state.mcp_sessions is not None:  # the MCP endpoint's sessions run while the app does
                    await stack.enter_async_context(app.state.mcp_sessions.running())
                yield
        finally:
            await run_in_threadpool(deliverer.stop)
            await run_in_threadpool(runner.stop)  # the running job goes back in the queue

    app = FastAPI(
        lifespan=lifespan,
        title="podscope",
        version=__version__,
        description="Podcast transcripts with speakers, voice profiles and search: who said what, when.",
        docs_url=None,  # podscope.web.openapi serves both, the document true for the client that asks
        redoc_url=None,
        openapi_url=None,
    )
    app.add_middleware(SecurityHeaders)  # CSP, nosniff, no framing: `podscope.web.security`
    app.state.lib = lib
    app.state.jobs = Runner(lib.jobs, lambda: Library(lib.home, settings=lib.settings))
    app.state.deliverer = Deliverer(lib.alerts)
    app.state.rate_limiter = RateLimiter()
    app.state.translation_pairs = None  # asked of the translation backend by the first page that offers translations
    for key, value in state.items():
        setattr(app.state, key, value)

    @app.exception_handler(PodscopeError)
    async def library_error(request: Request, exc: PodscopeError) -> Response:
        return error_response(request, status_of(exc), str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        response = error_response(request, exc.status_code, str(exc.detail))
        for key, value in (exc.headers or {}).items():
            response.headers[key] = value
        allowed = allowed_methods(request) if exc.status_code == 405 else []
        if allowed:  # every method of the path, not only those of the route that half-matched
            response.headers["Allow"] = ", ".join(allowed)
        return response

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> Response:
        return error_response(request, 500, f"internal error: {type(exc).__name__}")

    from podscope.web import api, mcp, openapi, pages

    app.include_router(openapi.router)
    app.include_router(api.router)
    app.state.mcp_sessions = mcp.install(app, lib)  # /mcp, for assistants (podscope.mcp)
    app.include_router(pages.router)
    return app
