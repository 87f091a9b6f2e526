"""The JSON API under /api (see the OpenAPI document at /api/openapi.json and the docs at /api/docs)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

router = APIRouter(prefix="/api")


@router.get("/health")
def health(request: Request) -> dict[str, Any]:
    """The library's home and what it holds."""
    lib = request.app.state.lib
    return {"home": str(lib.home), "counts": lib.store.counts()}
