"""The records of saved searches and their alerts: what flows between the matcher, the store and the outbox (kept
beside `podscope.records`, below the store, which hands them out)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, get_args

AlertMode = Literal["text", "semantic", "hybrid"]  # exact words, meaning, either
ALERT_MODES: tuple[AlertMode, ...] = get_args(AlertMode)
DeliveryStatus = Literal["pending", "delivered", "failed"]
EventReason = Literal["episode", "attribution", "test"]  # a new episode, a speaker named later, `alerts test`


@dataclass(frozen=True)
class SavedSearch:
    """A saved search with its webhook endpoint (if any). `secret` is the endpoint's signing secret (`whsec_...`),
    shown once when the alert is made; records handed to surfaces carry it as None."""

    id: int
    name: str
    query: str
    speaker: str | None
    podcast: str | None
    mode: AlertMode
    webhook_url: str | None
    secret: str | None
    failures: int  # deliveries that failed in a row
    disabled_at: str | None
    disabled_reason: str | None
    created_at: str

    @property
    def webhook_disabled(self) -> bool:
        return self.disabled_at is not None


@dataclass(frozen=True)
class AlertHit:
    """One matching segment of an episode: what a webhook and a feed entry show."""

    segment_id: int
    episode_id: int
    start: float
    end: float
    speaker: str  # the person's name when attributed at `matched` or better, else the episode's label
    person: str | None
    text: str
    link: str  # the deep link: the episode page at the moment


@dataclass(frozen=True)
class NewEvent:
    """An event the matcher made, before it is stored: the alert, the episode, why, and the JSON body to send."""

    alert_id: int
    episode_id: int | None
    reason: EventReason
    hits: tuple[AlertHit, ...]
    payload: dict[str, Any]


@dataclass(frozen=True)
class AlertEvent:
    id: int
    alert_id: int
    episode_id: int | None
    reason: str
    hits: int
    payload: dict[str, Any]
    created_at: str


@dataclass(frozen=True)
class Delivery:
    """One event's delivery to its alert's webhook (the outbox row); `message_id` is the `webhook-id` header, the
    same on every attempt so a receiver can drop duplicates."""

    id: int
    event_id: int
    alert_id: int
    message_id: str
    status: DeliveryStatus
    attempts: int
    due: float  # epoch seconds of the next attempt
    expires: float  # no attempt after this (a day after the event)
    last_error: str | None
    delivered_at: str | None
    created_at: str


@dataclass(frozen=True)
class DeliveryAttempt:
    delivery_id: int
    status_code: int | None
    error: str | None
    seconds: float
    at: str


@dataclass(frozen=True)
class NewAlert:
    """`alerts add`'s answer: the alert, and its endpoint's secret, shown this once."""

    alert: SavedSearch
    secret: str | None


@dataclass(frozen=True)
class ScanReport:
    episodes: int  # episodes searched
    events: int  # events made
    seconds: float


@dataclass(frozen=True)
class DeliveryReport:
    delivered: int
    failed: int  # attempts that failed (retried later, or given up)
    given_up: int  # deliveries past their day
    disabled: tuple[int, ...]  # alerts whose endpoint was disabled by this run
