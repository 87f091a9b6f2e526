"""Server-rendered pages: search, episodes with a synced player, people, podcasts, review, feeds."""

from __future__ import annotations

import html

from fastapi import APIRouter, Request

router = APIRouter()


def error_page(request: Request, status: int, message: str) -> str:
    """The site's error page (every value escaped)."""
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{status} · podscope</title></head>"
        f"<body><h1>{status}</h1><p>{html.escape(message)}</p><p><a href='/'>Back to search</a></p></body></html>"
    )
