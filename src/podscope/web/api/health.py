"""GET /api/health: the library's home and what it holds."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel

from podscope.web.api.base import Route
from podscope.web.auth import READ
from podscope.web.state import lib_of

router = APIRouter(route_class=Route)


class Health(BaseModel):
    home: str
    counts: dict[str, int]


@router.get("/health", response_model=Health, dependencies=READ, tags=["library"])
def health(request: Request) -> Health:
    """The library's home and what it holds."""
    lib = lib_of(request)
    return Health(home=str(lib.home), counts=lib.counts())
