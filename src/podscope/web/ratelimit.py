"""The API's rate limits: a token bucket per API key (anonymous clients: per address), shared by every request."""

from __future__ import annotations

import threading
import time

MAX_BUCKETS = 10_000  # above this, buckets that have refilled completely are forgotten


class RateLimiter:
    """Token buckets: each holds up to `rate` tokens and gains `rate` a minute; a request takes one."""

    def __init__(self) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}  # name -> (tokens, when last updated)
        self._lock = threading.Lock()

    def take(self, bucket: str, rate: int, now: float | None = None) -> float:
        """0 when the request may go ahead (a token is taken), else the seconds until a token is there."""
        if rate <= 0:
            return 0.0
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._buckets.get(bucket, (float(rate), now))
            tokens = min(float(rate), tokens + max(0.0, now - last) * rate / 60.0)
            wait = 0.0 if tokens >= 1.0 else (1.0 - tokens) * 60.0 / rate
            self._buckets[bucket] = (tokens - 1.0 if wait == 0.0 else tokens, now)
            if len(self._buckets) > MAX_BUCKETS:
                self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < 60.0}
            return wait
