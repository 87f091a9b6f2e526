"""Time as podscope writes and reads it: one module for every clock.

- `now_iso()`, `iso(when)`: the UTC timestamp stored with every row (`2026-12-01T20:09:44Z`).
- `clock(seconds, decimal)`: `HH:MM:SS.mmm` as SRT and WebVTT spell it; `hms`: `HH:MM:SS` for plain text.
- `position(seconds)`: a place in an episode for people (`0:12`, `1:02:05`), truncated to the second so it never
  points after the words it labels (the web pages' stamps and links); `duration(seconds)`: the same clock rounded
  to the nearest second, for lengths and for the terminal's times.
- `parse_clock(text)`: the lenient reader for all of them.
"""

from __future__ import annotations

import datetime as dt
import math
import re

# hh:mm:ss.mmm with optional hours, "," or "." before the fraction, and any number of fraction digits.
TIMESTAMP = r"(?:\d+:)?\d{1,2}:\d{1,2}(?:[.,]\d+)?"
_TIMESTAMP = re.compile(r"(?:(\d+):)?(\d{1,2}):(\d{1,2})(?:[.,](\d+))?")


def iso(when: dt.datetime) -> str:
    """A time in UTC to the second, as stored: `YYYY-MM-DDTHH:MM:SSZ`."""
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def now_iso() -> str:
    """The current UTC time to the second, as stored."""
    return iso(dt.datetime.now(dt.UTC))


def milliseconds(seconds: float) -> int:
    """Whole milliseconds, never negative: the resolution of SRT and WebVTT."""
    if not math.isfinite(seconds):
        return 0
    return max(0, round(seconds * 1000))


def clock(seconds: float, decimal: str) -> str:
    """`HH:MM:SS<decimal>mmm`; SRT uses a comma, WebVTT a dot."""
    ms = milliseconds(seconds)
    hours, ms = divmod(ms, 3_600_000)
    minutes, ms = divmod(ms, 60_000)
    secs, ms = divmod(ms, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{decimal}{ms:03d}"


def hms(seconds: float) -> str:
    """`HH:MM:SS`, truncated to the second so a timestamp never points after the words it labels."""
    total = milliseconds(seconds) // 1000
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}"


def position(seconds: float | None) -> str:
    """A place in an episode for people: 12.7 -> `0:12`, 3725 -> `1:02:05` (truncated, like `hms`)."""
    total = milliseconds(seconds or 0.0) // 1000
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def duration(seconds: float) -> str:
    """A human length: `M:SS` under an hour, `H:MM:SS` from an hour on."""
    total = round(max(seconds, 0.0)) if math.isfinite(seconds) else 0
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def parse_clock(text: str) -> float | None:
    """Seconds from `[hh:]mm:ss[.,]fff`, or None when `text` is not such a timestamp."""
    match = _TIMESTAMP.fullmatch(text.strip())
    if match is None:
        return None
    hours, minutes, secs, fraction = match.groups()
    value = int(hours or 0) * 3600 + int(minutes) * 60 + int(secs)
    if fraction:
        value += int(fraction) / 10 ** len(fraction)
    return round(value, 3)
