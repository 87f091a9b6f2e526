"""Saved searches and their alerts, as the API shows them.

    GET    /api/alerts                     every saved search
    POST   /api/alerts                     save one (201; its webhook secret, whsec_..., is in this answer only)
    GET    /api/alerts/{id}                one
    DELETE /api/alerts/{id}                forget it, with its events and deliveries
    GET    /api/alerts/{id}/events         its latest events (the webhook bodies)
    GET    /api/alerts/{id}/deliveries     the delivery log: each delivery with its attempts
    POST   /api/alerts/{id}/test           send its latest matches in the library as a test event (202)
    POST   /api/alerts/{id}/enable         deliver again to a webhook disabled after repeated failures

The feed of a saved search is /alerts/{id}/feed.xml (Atom; `?key=` a read key when reading needs one).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from podscope.alert_records import AlertEvent, AlertMode, SavedSearch
from podscope.web.api.base import Route, RowId
from podscope.web.auth import ADMIN, READ
from podscope.web.state import lib_of

router = APIRouter(route_class=Route, tags=["alerts"])


class AlertIn(BaseModel):
    query: str = Field(description='The search, in the search syntax (words, "phrases", OR, NOT, prefix*).')
    speaker: str | None = Field(default=None, description="Only what this person says (or 'any' named person).")
    podcast: str | None = Field(default=None, description="Only episodes of this podcast.")
    mode: AlertMode = Field(default="text", description="text (the words), semantic (the meaning) or hybrid (either).")
    webhook: str | None = Field(default=None, description="An http(s) URL each match is POSTed to, signed.")
    name: str | None = Field(default=None, description="A name (default: the query).")


class AlertCreated(BaseModel):
    alert: SavedSearch
    secret: str | None = Field(
        description="The webhook's signing secret (Standard Webhooks, whsec_...): in this answer only."
    )
    feed: str = Field(description="The alert's Atom feed.")


class AttemptOut(BaseModel):
    status_code: int | None
    error: str | None
    seconds: float
    at: str


class DeliveryOut(BaseModel):
    id: int
    event_id: int
    message_id: str = Field(description="The webhook-id header: the same on every attempt.")
    status: str = Field(description="pending (retried with backoff for a day) | delivered | failed (given up)")
    attempts: int
    last_error: str | None
    delivered_at: str | None
    created_at: str
    log: list[AttemptOut]


class EventOut(BaseModel):
    id: int
    alert_id: int
    episode_id: int | None
    reason: str = Field(description="episode (a new episode) | attribution (a speaker named later) | test")
    hits: int
    payload: dict[str, Any] = Field(description="The webhook body: type, timestamp and data (alert, episode, hits).")
    created_at: str

    @classmethod
    def of(cls, e: AlertEvent) -> EventOut:
        return cls(**vars(e))


@router.get("/alerts", response_model=list[SavedSearch], dependencies=READ)
def list_alerts(request: Request) -> list[SavedSearch]:
    """Every saved search, with its webhook and whether it is disabled (and why)."""
    return lib_of(request).alerts.saved()


@router.post("/alerts", response_model=AlertCreated, status_code=201, dependencies=ADMIN)
def add_alert(request: Request, response: Response, body: AlertIn) -> AlertCreated:
    """Save a search: every episode stored from now on is searched for it."""
    new = lib_of(request).alerts.add(
        body.query, speaker=body.speaker, podcast=body.podcast, mode=body.mode, webhook=body.webhook, name=body.name
    )
    response.headers["Location"] = f"/api/alerts/{new.alert.id}"
    return AlertCreated(alert=new.alert, secret=new.secret, feed=f"/alerts/{new.alert.id}/feed.xml")


@router.get("/alerts/{alert_id}", response_model=SavedSearch, dependencies=READ)
def get_alert(request: Request, alert_id: RowId) -> SavedSearch:
    return lib_of(request).alerts.get(alert_id)


@router.delete("/alerts/{alert_id}", response_model=SavedSearch, dependencies=ADMIN)
def remove_alert(request: Request, alert_id: RowId) -> SavedSearch:
    """Forget a saved search with its events and deliveries."""
    return lib_of(request).alerts.remove(alert_id)


@router.get("/alerts/{alert_id}/events", response_model=list[EventOut], dependencies=READ)
def alert_events(request: Request, alert_id: RowId) -> list[EventOut]:
    """The latest events, newest first: each is the body its webhook receives."""
    return [EventOut.of(e) for e in lib_of(request).alerts.events(alert_id)]


@router.get("/alerts/{alert_id}/deliveries", response_model=list[DeliveryOut], dependencies=READ)
def alert_deliveries(request: Request, alert_id: RowId) -> list[DeliveryOut]:
    """The delivery log, newest first: each delivery with every attempt (the answer's status or the error)."""
    return [
        DeliveryOut(
            id=d.id,
            event_id=d.event_id,
            message_id=d.message_id,
            status=d.status,
            attempts=d.attempts,
            last_error=d.last_error,
            delivered_at=d.delivered_at,
            created_at=d.created_at,
            log=[AttemptOut(status_code=a.status_code, error=a.error, seconds=a.seconds, at=a.at) for a in attempts],
        )
        for d, attempts in lib_of(request).alerts.deliveries(alert_id)
    ]


@router.post("/alerts/{alert_id}/test", response_model=EventOut, status_code=202, dependencies=ADMIN)
def test_alert(request: Request, alert_id: RowId) -> EventOut:
    """Queue a test event (type alert.test) of the search's latest matches in the library; the server sends it."""
    return EventOut.of(lib_of(request).alerts.test(alert_id))


@router.post("/alerts/{alert_id}/enable", response_model=SavedSearch, dependencies=ADMIN)
def enable_alert(request: Request, alert_id: RowId) -> SavedSearch:
    """Deliver again to a webhook that was disabled after repeated failures."""
    return lib_of(request).alerts.enable(alert_id)
