"""Saved searches and their alerts (`store.alerts`), written once for both engines: the alerts, the episodes waiting
to be searched, the hits reported already, the events, and the webhook outbox with its attempts.

Why it looks like this:
- An episode is queued (`queue_episode`) in the transaction that stores it, so a process killed before its search ran
  leaves it queued, and the next scan runs it. A scan stores an episode's events, their hits and their deliveries and
  takes the episode off the queue in one transaction: an event is stored before anything is sent, and never twice.
- A delivery is claimed for a lease (`claim_due`: one conditional UPDATE, so of two deliverers one wins); a deliverer
  killed while sending leaves the lease to run out, and the delivery is sent again (same `webhook-id`).
- Times of the outbox are epoch seconds (`due`, `expires`, `claimed_until`): retries come sub-second in tests and
  minutes apart in use.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from podscope.alert_records import AlertEvent, Delivery, DeliveryAttempt, NewEvent, SavedSearch
from podscope.errors import NotFound
from podscope.store.sql import Row, SqlTables

ATTRIBUTIONS = "attributions"  # alert_state key: the last attribution_log row scanned


def _alert(row: Row) -> SavedSearch:
    return SavedSearch(
        id=int(row["id"]),
        name=row["name"],
        query=row["query"],
        speaker=row["speaker"],
        podcast=row["podcast"],
        mode=row["mode"],
        webhook_url=row["webhook_url"],
        secret=row["secret"],
        failures=int(row["failures"]),
        disabled_at=row["disabled_at"],
        disabled_reason=row["disabled_reason"],
        created_at=row["created_at"],
    )


def _event(row: Row) -> AlertEvent:
    return AlertEvent(
        id=int(row["id"]),
        alert_id=int(row["alert_id"]),
        episode_id=row["episode_id"],
        reason=row["reason"],
        hits=int(row["hits"]),
        payload=json.loads(row["payload"]),
        created_at=row["created_at"],
    )


def _delivery(row: Row) -> Delivery:
    return Delivery(
        id=int(row["id"]),
        event_id=int(row["event_id"]),
        alert_id=int(row["alert_id"]),
        message_id=row["message_id"],
        status=row["status"],
        attempts=int(row["attempts"]),
        due=float(row["due"]),
        expires=float(row["expires"]),
        last_error=row["last_error"],
        delivered_at=row["delivered_at"],
        created_at=row["created_at"],
    )


class AlertTables(SqlTables):
    """Saved searches, their events and the webhook outbox (`store.alerts`)."""

    # -- saved searches -------------------------------------------------------------------------------------------

    def create(
        self,
        *,
        name: str,
        query: str,
        speaker: str | None,
        podcast: str | None,
        mode: str,
        webhook_url: str | None,
        secret: str | None,
    ) -> SavedSearch:
        with self.transaction():
            row = self._one(
                """INSERT INTO alerts (name, query, speaker, podcast, mode, webhook_url, secret)
                   VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id""",
                (name, query, speaker, podcast, mode, webhook_url, secret),
            )
        assert row is not None
        return self.get(int(row["id"]))

    def get(self, alert_id: int) -> SavedSearch:
        row = self._one("SELECT * FROM alerts WHERE id = ?", (alert_id,))
        if row is None:
            raise NotFound(f"no alert {alert_id}; `podscope alerts list` lists them")
        return _alert(row)

    def list_alerts(self) -> list[SavedSearch]:
        return [_alert(r) for r in self._q("SELECT * FROM alerts ORDER BY id")]

    def remove(self, alert_id: int) -> SavedSearch:
        alert = self.get(alert_id)
        with self.transaction():
            self._q("DELETE FROM alerts WHERE id = ?", (alert_id,))
        return alert

    def enable(self, alert_id: int) -> SavedSearch:
        with self.transaction():
            self._q(
                "UPDATE alerts SET disabled_at = NULL, disabled_reason = NULL, failures = 0 WHERE id = ?", (alert_id,)
            )
        return self.get(alert_id)

    # -- what waits to be searched --------------------------------------------------------------------------------

    def queue_episode(self, episode_id: int) -> None:
        with self.transaction():
            self._q(
                "INSERT INTO alert_queue (episode_id) VALUES (?) ON CONFLICT (episode_id) DO NOTHING", (episode_id,)
            )

    def queued(self, limit: int = 100) -> list[int]:
        rows = self._q("SELECT episode_id FROM alert_queue ORDER BY episode_id LIMIT ?", (limit,))
        return [int(r["episode_id"]) for r in rows]

    def attribution_changes(self) -> tuple[int | None, int, list[int]]:
        """The attribution_log row scanned last (None before the first scan), the last one now, and the episodes whose
        speakers changed person in between (none the first time: attributions made before alerts existed fire
        nothing)."""
        row = self._one("SELECT value FROM alert_state WHERE key = ?", (ATTRIBUTIONS,))
        last = self._one("SELECT COALESCE(MAX(id), 0) AS n FROM attribution_log")
        top = int(last["n"]) if last else 0
        if row is None:
            return None, top, []
        rows = self._q(
            """SELECT DISTINCT s.episode_id FROM attribution_log l JOIN episode_speakers s ON s.id = l.speaker_id
               WHERE l.id > ? AND l.id <= ? AND l.person_after IS NOT NULL ORDER BY s.episode_id""",
            (int(row["value"]), top),
        )
        return int(row["value"]), top, [int(r["episode_id"]) for r in rows]

    def seen(self, alert_ids: Sequence[int], segment_ids: Sequence[int]) -> set[tuple[int, int]]:
        """The (alert, segment) pairs already reported, among these."""
        if not alert_ids or not segment_ids:
            return set()
        alerts, a = self._in("alert_id", alert_ids)
        segments, s = self._in("segment_id", segment_ids)
        rows = self._q(f"SELECT alert_id, segment_id FROM alert_hits WHERE {alerts} AND {segments}", (a, s))
        return {(int(r["alert_id"]), int(r["segment_id"])) for r in rows}

    def record(
        self,
        events: Sequence[tuple[NewEvent, tuple[str, float, float] | None]],
        *,
        done_episode: int | None = None,
        attribution_cursor: int | None = None,
    ) -> list[int]:
        """Store events with their hits and, for each that has one, its delivery (message id, due, expires); take
        `done_episode` off the queue and move the attribution cursor, all in one transaction. Returns the events'
        ids."""
        ids = []
        with self.transaction():
            for event, delivery in events:
                row = self._one(
                    """INSERT INTO alert_events (alert_id, episode_id, reason, hits, payload)
                       VALUES (?, ?, ?, ?, ?) RETURNING id""",
                    (event.alert_id, event.episode_id, event.reason, len(event.hits), json.dumps(event.payload)),
                )
                assert row is not None
                event_id = int(row["id"])
                ids.append(event_id)
                self._many(
                    "INSERT INTO alert_hits (alert_id, segment_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
                    [(event.alert_id, h.segment_id) for h in event.hits],
                )
                if delivery is not None:
                    message_id, due, expires = delivery
                    self._q(
                        """INSERT INTO alert_deliveries (event_id, alert_id, message_id, due, expires)
                           VALUES (?, ?, ?, ?, ?)""",
                        (event_id, event.alert_id, message_id, due, expires),
                    )
            if done_episode is not None:
                self._q("DELETE FROM alert_queue WHERE episode_id = ?", (done_episode,))
            if attribution_cursor is not None:
                self._q(
                    """INSERT INTO alert_state (key, value) VALUES (?, ?)
                       ON CONFLICT (key) DO UPDATE SET value = excluded.value""",
                    (ATTRIBUTIONS, attribution_cursor),
                )
        return ids

    # -- what happened --------------------------------------------------------------------------------------------

    def events(self, alert_id: int, limit: int = 50) -> list[AlertEvent]:
        rows = self._q("SELECT * FROM alert_events WHERE alert_id = ? ORDER BY id DESC LIMIT ?", (alert_id, limit))
        return [_event(r) for r in rows]

    def event(self, event_id: int) -> AlertEvent:
        row = self._one("SELECT * FROM alert_events WHERE id = ?", (event_id,))
        if row is None:
            raise NotFound(f"no alert event {event_id}")
        return _event(row)

    def deliveries(self, alert_id: int, limit: int = 50) -> list[Delivery]:
        rows = self._q("SELECT * FROM alert_deliveries WHERE alert_id = ? ORDER BY id DESC LIMIT ?", (alert_id, limit))
        return [_delivery(r) for r in rows]

    def delivery(self, delivery_id: int) -> Delivery:
        row = self._one("SELECT * FROM alert_deliveries WHERE id = ?", (delivery_id,))
        if row is None:
            raise NotFound(f"no delivery {delivery_id}")
        return _delivery(row)

    def attempts(self, delivery_ids: Sequence[int]) -> list[DeliveryAttempt]:
        if not delivery_ids:
            return []
        among, param = self._in("delivery_id", delivery_ids)
        rows = self._q(f"SELECT * FROM alert_attempts WHERE {among} ORDER BY id", (param,))
        return [
            DeliveryAttempt(r["delivery_id"], r["status_code"], r["error"], float(r["seconds"]), r["at"]) for r in rows
        ]

    # -- the outbox -----------------------------------------------------------------------------------------------

    def claim_due(self, now: float, lease: float) -> Delivery | None:
        """The next delivery that is due, of an alert whose endpoint is enabled, claimed until `now + lease`."""
        free = "(claimed_until IS NULL OR claimed_until < ?)"
        with self.transaction():
            row = self._one(
                f"""UPDATE alert_deliveries SET claimed_until = ?
                    WHERE id = (SELECT d.id FROM alert_deliveries d JOIN alerts a ON a.id = d.alert_id
                                WHERE d.status = 'pending' AND d.due <= ? AND a.disabled_at IS NULL
                                  AND (d.claimed_until IS NULL OR d.claimed_until < ?)
                                ORDER BY d.due, d.id LIMIT 1)
                      AND {free}
                    RETURNING *""",
                (now + lease, now, now, now),
            )
        return None if row is None else _delivery(row)

    def pending_count(self) -> int:
        row = self._one("SELECT COUNT(*) AS n FROM alert_deliveries WHERE status = 'pending'")
        return int(row["n"]) if row else 0

    def attempted(
        self,
        delivery: Delivery,
        *,
        status_code: int | None,
        error: str | None,
        seconds: float,
        outcome: str,
        due: float | None = None,
        disable_after: int = 0,
    ) -> SavedSearch:
        """Log one attempt and its outcome ("delivered", "retry" at `due`, or "failed"); count the endpoint's failures
        in a row and disable it (with the reason) at `disable_after`. Returns the alert as it is now."""
        with self.transaction():
            self._q(
                "INSERT INTO alert_attempts (delivery_id, status_code, error, seconds) VALUES (?, ?, ?, ?)",
                (delivery.id, status_code, error, seconds),
            )
            if outcome == "delivered":
                self._q(
                    f"""UPDATE alert_deliveries SET status = 'delivered', attempts = attempts + 1, claimed_until = NULL,
                               last_error = NULL, delivered_at = {self._dialect.now} WHERE id = ?""",
                    (delivery.id,),
                )
                self._q("UPDATE alerts SET failures = 0 WHERE id = ?", (delivery.alert_id,))
            else:
                status = "pending" if outcome == "retry" else "failed"
                self._q(
                    """UPDATE alert_deliveries SET status = ?, attempts = attempts + 1, claimed_until = NULL,
                              last_error = ?, due = COALESCE(?, due) WHERE id = ?""",
                    (status, error, due, delivery.id),
                )
                self._q("UPDATE alerts SET failures = failures + 1 WHERE id = ?", (delivery.alert_id,))
                if disable_after > 0:
                    reason = f"{disable_after} deliveries in a row failed; the last: {error}"
                    self._q(
                        f"""UPDATE alerts SET disabled_at = {self._dialect.now}, disabled_reason = ?
                            WHERE id = ? AND failures >= ? AND disabled_at IS NULL""",
                        (reason, delivery.alert_id, disable_after),
                    )
        return self.get(delivery.alert_id)
