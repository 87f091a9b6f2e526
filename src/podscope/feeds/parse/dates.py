"""Feed dates: RFC 822 and its common variants, and ISO 8601, as timezone-aware datetimes."""

from __future__ import annotations

import datetime as dt
import email.utils
import re

_MONTHS = {"january": "Jan", "february": "Feb", "march": "Mar", "april": "Apr", "june": "Jun", "july": "Jul"}
_MONTHS |= {"august": "Aug", "september": "Sep", "sept": "Sep", "october": "Oct", "november": "Nov", "december": "Dec"}
_ZONES = {"CET": "+0100", "CEST": "+0200", "BST": "+0100", "EET": "+0200", "EEST": "+0300", "AEST": "+1000"}
_ZONES |= {"AEDT": "+1100", "IST": "+0530", "JST": "+0900", "HST": "-1000", "AKST": "-0900", "AKDT": "-0800"}
_ISO_START = re.compile(r"^\d{4}-\d{2}")


def _rfc822(text: str) -> dt.datetime | None:
    words = text.replace(",", ", ").split()
    words = [_MONTHS.get(w.lower().rstrip("."), w) for w in words]
    if words and words[-1].upper() in _ZONES:
        words[-1] = _ZONES[words[-1].upper()]
    elif words and re.fullmatch(r"[+-]\d\d:\d\d", words[-1]):
        words[-1] = words[-1].replace(":", "")
    if not any(":" in w for w in words):
        words += ["00:00:00", "+0000"]  # a date without a time of day
    try:
        return email.utils.parsedate_to_datetime(" ".join(words))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def parse_feed_date(text: str | None) -> dt.datetime | None:
    """A timezone-aware datetime from RFC 822/2822 (and common variants) or ISO 8601; None when unreadable.

    A date without a timezone (or with "-0000", "unknown zone") is taken as UTC.
    """
    value = " ".join((text or "").split())
    if len(value) > 100:
        return None  # no date is this long; and it keeps the regular expressions below cheap
    value = re.sub(r"\s*\([^)]*\)$", "", value)  # a trailing "(UTC)" comment
    if not value:
        return None
    parsed: dt.datetime | None = None
    if _ISO_START.match(value):
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            parsed = None
    if parsed is None:
        parsed = _rfc822(value)
    if parsed is None:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=dt.UTC)
