"""Podcasting 2.0 chapters JSON (version 1.2.0): the file `<podcast:chapters>` links to, written and read.

    write([Chapter(0.0, "Intro"), Chapter(168.0, "Hearing aids")], title="Episode 12")   -> str
    read(text)                                                                           -> list[Chapter]

The writer gives what players read: `version`, then `chapters`, each with `startTime` (seconds) and `title`, plus
`endTime`, `url`, `img` and `toc` when a chapter has them. The reader is strict on structure (an object with a
`chapters` list of objects with a numeric `startTime`) and lenient on values: a chapter without a title gets an empty
one, unknown fields are ignored, chapters come back in time order.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

from podscope.errors import FormatError
from podscope.records import Chapter

VERSION = "1.2.0"
MEDIA_TYPE = "application/json+chapters"


def _seconds(value: float) -> float | int:
    """Whole seconds as an integer, else to the millisecond."""
    rounded = round(float(value), 3)
    return int(rounded) if rounded.is_integer() else rounded


def document(chapters: Sequence[Chapter], *, title: str | None = None, podcast: str | None = None) -> dict[str, Any]:
    """The chapters file as a JSON object."""
    out: dict[str, Any] = {"version": VERSION}
    if title:
        out["title"] = title
    if podcast:
        out["podcastName"] = podcast
    items = []
    for chapter in sorted(chapters, key=lambda c: c.start):
        item: dict[str, Any] = {"startTime": _seconds(max(chapter.start, 0.0)), "title": chapter.title}
        if chapter.end is not None:
            item["endTime"] = _seconds(chapter.end)
        if chapter.url:
            item["url"] = chapter.url
        if chapter.img:
            item["img"] = chapter.img
        if not chapter.toc:
            item["toc"] = False
        items.append(item)
    out["chapters"] = items
    return out


def write(chapters: Sequence[Chapter], *, title: str | None = None, podcast: str | None = None) -> str:
    """The chapters as a Podcasting 2.0 chapters file (pretty-printed JSON, UTF-8 text)."""
    return json.dumps(document(chapters, title=title, podcast=podcast), ensure_ascii=False, indent=2) + "\n"


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) and number >= 0 else None


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def read(text: str | bytes) -> list[Chapter]:
    """The chapters of a Podcasting 2.0 chapters file; FormatError says what is wrong with one that is not."""
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise FormatError(f"the chapters file is not JSON: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("chapters"), list):
        raise FormatError('the chapters file has no "chapters" list: expected Podcasting 2.0 chapters JSON')
    chapters = []
    for n, item in enumerate(data["chapters"], start=1):
        start = _number(item.get("startTime")) if isinstance(item, dict) else None
        if start is None:
            raise FormatError(f'chapter {n} of the chapters file has no "startTime" in seconds')
        end = _number(item.get("endTime"))
        chapters.append(
            Chapter(
                start=start,
                title=_text(item.get("title")) or "",
                end=end if end is not None and end > start else None,
                url=_text(item.get("url")),
                img=_text(item.get("img")),
                toc=item.get("toc") is not False,
            )
        )
    return sorted(chapters, key=lambda c: c.start)
