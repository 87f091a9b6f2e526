"""What `create_app` builds once and keeps in `app.state` (the library, the job runner, the rate limiter), read back
by the routes with its type."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import Request

if TYPE_CHECKING:
    from podscope.jobs import Runner
    from podscope.library import Library
    from podscope.web.ratelimit import RateLimiter


def lib_of(request: Request) -> Library:
    """The library the app serves."""
    lib: Library = request.app.state.lib
    return lib


def runner_of(request: Request) -> Runner:
    """The thread that runs the library's stored jobs (uploads, feed syncs, re-scores): woken when one is queued."""
    runner: Runner = request.app.state.jobs
    return runner


def limiter_of(request: Request) -> RateLimiter:
    """The rate limits' token buckets, shared by every request."""
    limiter: RateLimiter = request.app.state.rate_limiter
    return limiter
