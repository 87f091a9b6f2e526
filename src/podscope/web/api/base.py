"""What every API module shares: the error body, the route class that turns unparsable parameters into a 400, and
the error answers the OpenAPI document lists for every route.

No route handles a library error: `podscope.web.app` maps them to `{"error", "status"}` in one place. Parameters the
framework cannot parse become `InputError` too (`Route`), so a bad query answers 400 with one sentence, like the CLI,
rather than FastAPI's 422 structure.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from annotated_types import Ge, Le
from fastapi import HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, BeforeValidator, Field

from podscope.errors import InputError

MAX_ID = 2**53 - 1  # the largest id the API takes: JSON's safe integers (an id past it is a 400, not a 500)
RowId = Annotated[int, Ge(1), Le(MAX_ID)]  # an id in a path or a body: out of range is a 400, never a 500


def _iso_date(value: object) -> object:
    """Only YYYY-MM-DD is a date here (pydantic would also take a number, as seconds since 1970)."""
    if isinstance(value, str) and not _ISO_DATE.fullmatch(value.strip()):
        raise ValueError("expected a date as YYYY-MM-DD")
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError("expected a date as YYYY-MM-DD")
    return value


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
IsoDate = Annotated[dt.date, BeforeValidator(_iso_date)]  # a date in a query or a body: YYYY-MM-DD only


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
                if any(e.get("loc", ("",))[0] == "path" for e in exc.errors()):
                    allowed = allowed_methods(request)
                    if request.method not in allowed:  # DELETE /api/feeds/sync: that path takes other methods
                        raise HTTPException(405, "Method Not Allowed", headers={"Allow": ", ".join(allowed)}) from None
                raise InputError(_invalid(exc)) from None

        return route


def allowed_methods(request: Request) -> list[str]:
    """The methods the OpenAPI document lists for this request's path, a literal path winning over a template
    (/api/feeds/sync is POST's, though DELETE /api/feeds/{feed_id} has the same shape); empty off the API."""
    paths: dict[str, dict[str, Any]] = request.app.openapi().get("paths", {})
    path = request.url.path
    if path in paths:
        return sorted(m.upper() for m in paths[path])
    methods: set[str] = set()
    for template, operations in paths.items():
        if re.fullmatch(re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)), path):
            methods |= {m.upper() for m in operations}
    return sorted(methods)


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
        " change (or a recording outside the library), 404 not found, 405 a method the path does not take (see"
        " Allow), 409 a request the thing it names cannot answer as it is (a quiz's listening gaps from an episode"
        " without word timings, a job that is done already cancelled), 411/413 upload without a length, too large or"
        " too long, 421 a host name other than a loopback one asked of a server on loopback (DNS rebinding),"
        " 416 a Range that cannot be served, 429 too many requests (see Retry-After).",
    }
}
