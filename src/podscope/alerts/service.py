"""The alerts of one library (`lib.alerts`): saved searches, run against each episode as it is stored, and the
webhook outbox that delivers their events."""

from __future__ import annotations

import datetime as dt
import json
import random
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any, Protocol
from urllib.parse import urlsplit

import numpy as np
import numpy.typing as npt

from podscope.alert_records import (
    ALERT_MODES,
    AlertEvent,
    AlertHit,
    Delivery,
    DeliveryAttempt,
    DeliveryReport,
    NewAlert,
    NewEvent,
    SavedSearch,
    ScanReport,
)
from podscope.alerts import signing
from podscope.alerts.feed import atom
from podscope.alerts.matching import match_episode, semantic_text
from podscope.errors import InputError, PodscopeError
from podscope.records import SearchFilters, SegmentRow
from podscope.search.engine import Search, SearchOptions
from podscope.search.query import parse
from podscope.settings import Settings
from podscope.store.alerts import AlertTables

WINDOW = 24 * 3600.0  # a delivery is retried for a day after its event
MAX_DELAY = 3600.0  # the longest wait between two attempts
LEASE_MARGIN = (
    5.0  # a claimed delivery is another deliverer's again 4 timeouts and this long after (its deliverer died)
)
MAX_HITS = 20  # hits carried by one event (the count says how many there were)


class Poster(Protocol):
    """What sends a webhook: `podscope.feeds.fetch.Fetcher` (address checks, timeouts, no redirects)."""

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]: ...

    def close(self) -> None: ...


def link(base: str, episode_id: int, start: float) -> str:
    return f"{base.rstrip('/')}/episodes/{episode_id}#t={start:.2f}"


def retry_delay(attempts: int, first: float) -> float:
    """Exponential backoff with jitter: `first`, doubled per attempt up to MAX_DELAY, times a random 0.5-1."""
    return min(first * 2 ** max(0, attempts - 1), MAX_DELAY) * random.uniform(0.5, 1.0)


def public(alert: SavedSearch) -> SavedSearch:
    """The alert as surfaces show it: its secret never again."""
    return replace(alert, secret=None)


class Alerts:
    """Saved searches over `store` (`store.alerts`), their events and webhook deliveries."""

    def __init__(
        self, store: AlertTables, search: Search, settings: Settings, poster: Callable[[], Poster] | None = None
    ):
        self.store = store
        self.search = search
        self.settings = settings
        self._poster = poster
        self._query_vectors: dict[str, npt.NDArray[np.float32]] = {}

    # -- saved searches -------------------------------------------------------------------------------------------

    def add(
        self,
        query: str,
        *,
        speaker: str | None = None,
        podcast: str | None = None,
        mode: str = "text",
        webhook: str | None = None,
        name: str | None = None,
    ) -> NewAlert:
        """Save a search; each episode stored from now on is searched for it. With `webhook`, matches are POSTed
        there, signed with a new secret that is returned this once."""
        if not query.strip():
            raise InputError("the saved search's query is empty: expected words to look for")
        parse(query)  # a query that cannot be read is refused now, not at the first episode
        if mode not in ALERT_MODES:
            raise InputError(f"alert mode {mode!r}: expected one of {', '.join(ALERT_MODES)}")
        if webhook is not None:
            parts = urlsplit(webhook)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise InputError(f"webhook {webhook!r}: expected an http:// or https:// URL")
        self.scan()  # what changed before this alert existed is not its to report
        secret = signing.new_secret() if webhook else None
        alert = self.store.create(
            name=(name or query).strip(),
            query=query.strip(),
            speaker=(speaker or "").strip() or None,
            podcast=(podcast or "").strip() or None,
            mode=mode,
            webhook_url=webhook,
            secret=secret,
        )
        return NewAlert(public(alert), secret)

    def saved(self) -> list[SavedSearch]:
        return [public(a) for a in self.store.list_alerts()]

    def get(self, alert_id: int) -> SavedSearch:
        return public(self.store.get(alert_id))

    def remove(self, alert_id: int) -> SavedSearch:
        """Forget a saved search with its events and deliveries."""
        return public(self.store.remove(alert_id))

    def enable(self, alert_id: int) -> SavedSearch:
        """Deliver to an endpoint that was disabled after repeated failures again (its waiting events go out)."""
        return public(self.store.enable(alert_id))

    def events(self, alert_id: int, limit: int = 50) -> list[AlertEvent]:
        self.store.get(alert_id)
        return self.store.events(alert_id, limit)

    def deliveries(self, alert_id: int, limit: int = 50) -> list[tuple[Delivery, list[DeliveryAttempt]]]:
        """The delivery log: each delivery, newest first, with its attempts."""
        self.store.get(alert_id)
        found = self.store.deliveries(alert_id, limit)
        attempts = self.store.attempts([d.id for d in found])
        return [(d, [a for a in attempts if a.delivery_id == d.id]) for d in found]

    def feed(self, alert_id: int, self_url: str, limit: int = 50) -> bytes:
        """The alert's latest events as an Atom feed (`self_url`: the feed's own address)."""
        alert = self.store.get(alert_id)
        return atom(alert, self.store.events(alert_id, limit), base_url=self.settings.public_url, self_url=self_url)

    # -- searching arrivals ---------------------------------------------------------------------------------------

    def scan(self) -> ScanReport:
        """Search every queued episode (stored since the last scan) for every saved search, then the episodes whose
        speakers were named since, for the searches of a speaker; each match not reported yet becomes an event."""
        t0 = time.perf_counter()
        alerts = self.store.list_alerts()
        # The attributions are read first: those of an episode searched below are older than its search, which saw
        # them, so it is not searched again for them.
        scanned, top, changed = self.store.attribution_changes()
        done: set[int] = set()
        events = 0
        while True:
            queued = self.store.queued()
            if not queued:
                break
            for episode_id in queued:
                made = self._events(alerts, episode_id, "episode")
                self.store.record(made, done_episode=episode_id)
                done.add(episode_id)
                events += len(made)
        changed = [e for e in changed if e not in done]
        episodes = len(done)
        made = []
        speakers = [a for a in alerts if a.speaker is not None]
        for episode_id in changed if speakers else []:
            made += self._events(speakers, episode_id, "attribution")
        if made or top != scanned:  # an idle scan writes nothing
            self.store.record(made, attribution_cursor=top)
        return ScanReport(episodes + len(changed), events + len(made), time.perf_counter() - t0)

    def _events(
        self, alerts: list[SavedSearch], episode_id: int, reason: str
    ) -> list[tuple[NewEvent, tuple[str, float, float] | None]]:
        if not alerts:
            return []
        segments = self.search.segments
        rows = list(segments.segment_rows(segments.episode_segment_ids(episode_id), SearchFilters()).values())
        vectors = None
        if any(a.mode != "text" for a in alerts):
            vectors = segments.episode_vectors(episode_id)
        found = match_episode(alerts, rows, vectors, self._vectors(alerts))
        seen = self.store.seen(list(found), [r.id for hits in found.values() for r in hits])
        now = time.time()
        made = []
        for alert in alerts:
            fresh = [r for r in found.get(alert.id, []) if (alert.id, r.id) not in seen]
            if not fresh:
                continue
            event = self._event(alert, episode_id, reason, fresh)
            delivery = (signing.new_message_id(), now, now + WINDOW) if alert.webhook_url else None
            made.append((event, delivery))
        return made

    def _vectors(self, alerts: list[SavedSearch]) -> dict[int, npt.NDArray[np.float32]]:
        """Each search by meaning's query vector (embedded once per process)."""
        wanted = [a for a in alerts if a.mode != "text"]
        missing = [t for t in dict.fromkeys(semantic_text(a.query) for a in wanted) if t not in self._query_vectors]
        if missing:
            for text, vector in zip(missing, self.search.embedder(missing), strict=True):
                self._query_vectors[text] = vector
        return {a.id: self._query_vectors[semantic_text(a.query)] for a in wanted}

    def _event(self, alert: SavedSearch, episode_id: int | None, reason: str, rows: list[SegmentRow]) -> NewEvent:
        base = self.settings.public_url
        hits = tuple(
            AlertHit(
                segment_id=r.id,
                episode_id=r.episode_id,
                start=round(r.start, 2),
                end=round(r.end, 2),
                speaker=str(r.person or r.label or "unknown"),
                person=r.person,
                text=r.text,
                link=link(base, r.episode_id, r.start),
            )
            for r in rows
        )
        first = rows[0]
        payload: dict[str, Any] = {
            "type": "alert.match" if reason != "test" else "alert.test",
            "timestamp": dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            "data": {
                "alert": {
                    "id": alert.id,
                    "name": alert.name,
                    "query": alert.query,
                    "speaker": alert.speaker,
                    "podcast": alert.podcast,
                    "mode": alert.mode,
                },
                "reason": reason,
                "episode": {
                    "id": first.episode_id,
                    "title": first.episode,
                    "podcast": first.podcast,
                    "published": first.published,
                    "link": f"{base.rstrip('/')}/episodes/{first.episode_id}",
                },
                "total_hits": len(hits),
                "hits": [vars(h) for h in hits[:MAX_HITS]],
            },
        }
        return NewEvent(alert.id, episode_id, reason, hits, payload)  # type: ignore[arg-type]

    def test(self, alert_id: int) -> AlertEvent:
        """An event of the saved search's latest matches in the library (reason "test"), queued for its webhook."""
        alert = self.store.get(alert_id)
        options = SearchOptions(mode=alert.mode, speaker=alert.speaker, podcast=alert.podcast, limit=3)
        found = self.search.search(alert.query, options)
        if not found.hits:
            raise InputError(f"alert {alert_id}: the library holds no match for {alert.query!r} to send as a test")
        rows = self.search.segments.segment_rows([h.segment_id for h in found.hits], SearchFilters())
        event = self._event(alert, None, "test", [rows[h.segment_id] for h in found.hits if h.segment_id in rows])
        event = replace(event, hits=())  # a test marks nothing as reported
        now = time.time()
        delivery = (signing.new_message_id(), now, now + WINDOW) if alert.webhook_url else None
        (event_id,) = self.store.record([(event, delivery)])
        return self.store.event(event_id)

    # -- delivering -----------------------------------------------------------------------------------------------

    @property
    def lease(self) -> float:
        """How long a claimed delivery is its deliverer's: longer than one POST can take (each of its phases is bounded
        by `fetch_timeout`)."""
        return 4 * self.settings.fetch_timeout + LEASE_MARGIN

    def deliver(self, limit: int | None = None) -> DeliveryReport:
        """Send the deliveries that are due (at most `limit`), each once: a failure is retried later with backoff and
        jitter, for a day (never within this run); an endpoint whose deliveries fail `webhook_disable_after` times in
        a row is disabled."""
        delivered = failed = given_up = 0
        disabled: list[int] = []
        poster: Poster | None = None
        started = time.time()  # what falls due during this run (a retry) waits for the next
        try:
            while limit is None or delivered + failed < limit:
                delivery = self.store.claim_due(started, self.lease)
                if delivery is None:
                    break
                if poster is None:
                    if self._poster is None:
                        raise InputError("this library cannot send webhooks (no HTTP client was given)")
                    poster = self._poster()
                outcome, alert = self._send(poster, delivery)
                delivered += outcome == "delivered"
                failed += outcome != "delivered"
                given_up += outcome == "failed"
                if alert.webhook_disabled and alert.id not in disabled:
                    disabled.append(alert.id)
        finally:
            if poster is not None:
                poster.close()
        return DeliveryReport(delivered, failed, given_up, tuple(disabled))

    def _send(self, poster: Poster, delivery: Delivery) -> tuple[str, SavedSearch]:
        alert = self.store.get(delivery.alert_id)
        event = self.store.event(delivery.event_id)
        body = json.dumps(event.payload, ensure_ascii=False).encode()
        assert alert.webhook_url is not None and alert.secret is not None
        t0 = time.perf_counter()
        status: int | None = None
        error: str | None = None
        try:
            status, answer = poster.post(
                alert.webhook_url, body, signing.headers(alert.secret, delivery.message_id, int(time.time()), body)
            )
            if not 200 <= status < 300:
                error = f"the endpoint answered {status}" + (f": {answer.strip()[:80]}" if answer.strip() else "")
        except PodscopeError as exc:
            error = str(exc)
        seconds = time.perf_counter() - t0
        if error is None:
            return "delivered", self.store.attempted(
                delivery, status_code=status, error=None, seconds=seconds, outcome="delivered"
            )
        due = time.time() + retry_delay(delivery.attempts + 1, self.settings.webhook_retry_seconds)
        outcome = "retry" if due < delivery.expires else "failed"
        if outcome == "failed":
            error = f"given up after a day of attempts; the last: {error}"
        after = self.store.attempted(
            delivery,
            status_code=status,
            error=error,
            seconds=seconds,
            outcome=outcome,
            due=due,
            disable_after=self.settings.webhook_disable_after,
        )
        return outcome, after

    def pending(self) -> int:
        return self.store.pending_count()
