"""The deliverer `podscope serve` runs: a thread that searches what arrived (`Alerts.scan`) and sends the webhook
deliveries that are due (`Alerts.deliver`), then waits a moment. Any number of deliverers (server replicas, a cron
`podscope alerts deliver`) share the outbox: each delivery is claimed by one."""

from __future__ import annotations

import logging
import threading

from podscope.alerts.service import Alerts

log = logging.getLogger(__name__)
POLL_SECONDS = 1.0


class Deliverer:
    def __init__(self, alerts: Alerts, poll_seconds: float = POLL_SECONDS):
        self.alerts = alerts
        self._poll = poll_seconds
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="podscope-alerts", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(30)
            self._thread = None

    def run_once(self) -> None:
        self.alerts.scan()
        self.alerts.deliver()

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self.run_once()
            except Exception:  # the store is away for a moment, or a bug: logged, tried again at the next poll
                log.exception("the alert deliverer failed")
            self._stopping.wait(self._poll)
