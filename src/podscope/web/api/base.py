"""What every API module shares: the error body, the route class that turns unparsable parameters into a 400, and
the error answers the OpenAPI document lists for every route.

No route handles a library error: `podscope.web.app` maps them to `{"error", "status"}` in one place. Parameters the
framework cannot parse become `InputError` too (`Route`), so a bad query answers 400 with one sentence, like the CLI,
rather than FastAPI's 422 structure.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field

from podscope.errors import InputError


class ErrorBody(BaseModel):
    """Every error answer (library errors, bad parameters, refusals)."""

    error: str = Field(description="One sentence: what was wrong and what was expected.")
    status: int


class Route(APIRoute):
    """Parameters the framework cannot parse become `InputError`, which the app answers like any bad input (400)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                raise InputError(_invalid(exc)) from None

        return route


def _invalid(exc: RequestValidationError) -> str:
    """'query parameter limit: Input should be a valid integer (got 'x')' for each problem."""
    parts = []
    for error in exc.errors():
        if error.get("type") == "json_invalid":
            parts.append(f"the request body is not valid JSON ({error.get('ctx', {}).get('error', 'unreadable')})")
            continue
        where, *names = [str(x) for x in error.get("loc", ())] or ["request"]
        name = ".".join(names)
        place = f"field {name}" if where == "body" and name else f"{where} parameter {name}" if name else where
        if place == "body" and error.get("type") == "missing":
            parts.append("the request needs a JSON body")
            continue
        value = error.get("input")
        shown = f" (got {value!r})" if isinstance(value, str | int | float) and len(repr(value)) <= 80 else ""
        parts.append(f"{place}: {error.get('msg', 'invalid')}{shown}")
    return "; ".join(parts) or "the request could not be read"


ERRORS: dict[int | str, dict[str, Any]] = {
    "4XX": {
        "model": ErrorBody,
        "description": "400 bad input, 401 a key is needed or the key is unknown or revoked, 403 a read key on a"
        " change (or a recording outside the library), 404 not found, 411/413 upload without a length or too large,"
        " 416 a Range that cannot be served, 429 too many requests (see Retry-After).",
    }
}
