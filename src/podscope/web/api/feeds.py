"""The feeds followed: list, follow, unfollow, and sync (refresh and process pending episodes as a job)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from podscope.errors import InputError
from podscope.feeds.follow import AddedFeed
from podscope.web.api.base import IsoDate, Route, RowId
from podscope.web.api.jobs import JobOut, queued
from podscope.web.auth import ADMIN, READ
from podscope.web.state import lib_of

router = APIRouter(route_class=Route)


class FeedOut(BaseModel):
    id: int
    url: str
    podcast: str | None
    items: int
    pending: int
    done: int
    failed: int
    blocked: bool
    checked_at: str | None
    error: str | None
    language_declared: str | None = Field(None, description="The channel's <language> as the feed writes it.")
    language_set: str | None = Field(None, description="The language set for this podcast (wins over the feed's).")


class FeedRemoved(BaseModel):
    feed_id: RowId
    pending_dropped: int


class FeedBody(BaseModel):
    url: str = Field(
        json_schema_extra={"pattern": r"^\s*[hH][tT][tT][pP][sS]?://\S"},  # checked by the library, in its words
        description="The feed's http(s) URL. It is read at once: a feed that cannot be fetched or parsed is a 400.",
    )


class SyncBody(BaseModel):
    feed_id: RowId | None = Field(default=None, description="Only this feed.")
    limit: int | None = Field(default=None, ge=1, description="Process at most this many episodes (newest first).")
    since: IsoDate | None = Field(default=None, description="Only episodes published on or after this date.")
    retranscribe: bool = Field(default=False, description="Transcribe even when the publisher provides a transcript.")


@router.get("/feeds", response_model=list[FeedOut], dependencies=READ, tags=["feeds"])
def feeds(request: Request) -> list[dict[str, Any]]:
    """The feeds followed, with their episodes' sync status."""
    return [f.to_dict() for f in lib_of(request).feeds.list()]


@router.post("/feeds", status_code=201, response_model=AddedFeed, dependencies=ADMIN, tags=["feeds"])
def follow_feed(request: Request, body: FeedBody) -> AddedFeed:
    """Follow a feed: every episode is recorded at once as pending (POST /api/feeds/sync processes them)."""
    url = body.url.strip()
    if not url.lower().startswith(("http://", "https://")):
        raise InputError(f"feed {url!r}: expected an http(s) URL")
    return lib_of(request).feeds.add(url)


@router.delete("/feeds/{feed_id}", response_model=FeedRemoved, dependencies=ADMIN, tags=["feeds"])
def unfollow_feed(request: Request, feed_id: RowId) -> FeedRemoved:
    """Stop following a feed; its pending episodes go, processed ones stay."""
    return FeedRemoved(feed_id=feed_id, pending_dropped=lib_of(request).feeds.remove(feed_id))


@router.post("/feeds/sync", status_code=202, response_model=JobOut, dependencies=ADMIN, tags=["feeds"])
def sync_feeds(request: Request, response: Response, body: SyncBody | None = None) -> JobOut:
    """Refresh the feeds (or one) and process pending episodes, newest first, as a background job (stored: it runs
    after a restart of the server too)."""
    options = body or SyncBody()
    lib = lib_of(request)
    if options.feed_id is not None:
        lib.feeds.get(options.feed_id)
    since = options.since.isoformat() if options.since else None
    job = lib.jobs.sync(options.feed_id, limit=options.limit, since=since, retranscribe=options.retranscribe)
    return queued(request, response, job)
