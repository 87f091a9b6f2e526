"""Podcasting 2.0 transcript JSON (version 1.0.0): `{"version", "segments": [{speaker, startTime, endTime, body}]}`.

Spec: entries may be whole segments or single words (word-level entries let players highlight as they play); the
speaker is optional and endTime is given "if available".
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from podscope.errors import FormatError
from podscope.formats._speakers import display_name
from podscope.records import Segment, StoredTranscript
from podscope.timefmt import parse_clock

VERSION = "1.0.0"


def _entry(speaker: str | None, start: float, end: float, body: str) -> dict[str, Any]:
    entry: dict[str, Any] = {} if speaker is None else {"speaker": speaker}
    entry.update(startTime=round(start, 3), endTime=round(max(end, start), 3), body=body)
    return entry


def write(transcript: StoredTranscript, speaker_names: Mapping[str, str] | None = None, *, words: bool = False) -> str:
    """One entry per segment, or with `words` one per word (segments without word times stay whole).

    A segment without a speaker gets no "speaker" key. Times are seconds rounded to the millisecond.
    """
    entries: list[dict[str, Any]] = []
    for segment in sorted(transcript.segments, key=lambda s: s.start):
        speaker = display_name(segment.speaker, speaker_names)
        timed = [w for w in segment.words if w.text.strip()] if words else []
        if timed:
            entries.extend(_entry(speaker, w.start, w.end, w.text.strip()) for w in timed)
        else:
            entries.append(_entry(speaker, segment.start, segment.end, " ".join(segment.text.split())))
    return json.dumps({"version": VERSION, "segments": entries}, ensure_ascii=False, indent=2) + "\n"


def _seconds(value: object, field: str, index: int) -> float | None:
    """A time given as a number, a numeric string or a "hh:mm:ss.mmm" string; None when absent."""
    if value is None:
        return None
    seconds: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str):
        try:
            seconds = float(value)
        except ValueError:
            seconds = parse_clock(value)
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        raise FormatError(f"Transcript JSON segment {index} has an unreadable {field}: {value!r} (expected seconds).")
    return seconds


def _text(value: object) -> str:
    return "" if value is None else " ".join(str(value).split())


def read(text: str) -> list[Segment]:
    """Segments, one per entry (a word-level file gives one-word segments), in file order.

    Lenient on values: times as numbers, numeric strings or clock strings; a missing endTime becomes the next
    entry's startTime; a missing body is empty text; a bare list of entries is accepted. Anything that is not a JSON
    object with a list of entries that each have a startTime raises FormatError.
    """
    try:
        data = json.loads(text.lstrip("\ufeff"))
    except ValueError as error:
        raise FormatError(f"This is not a JSON transcript: the text is not valid JSON ({error}).") from None
    entries = data.get("segments") if isinstance(data, dict) else data
    if not isinstance(entries, list):
        raise FormatError('This is not a Podcasting 2.0 JSON transcript: it needs a "segments" list.')

    rows: list[tuple[str | None, float, float | None, str]] = []
    for index, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict):
            raise FormatError(f"Transcript JSON segment {index} is not an object with startTime, endTime and body.")
        start = _seconds(entry.get("startTime"), "startTime", index)
        if start is None:
            raise FormatError(f"Transcript JSON segment {index} has no startTime.")
        end = _seconds(entry.get("endTime"), "endTime", index)
        rows.append((_text(entry.get("speaker")) or None, start, end, _text(entry.get("body"))))

    segments: list[Segment] = []
    for k, (speaker, start, end, body) in enumerate(rows):
        if end is None:
            following = rows[k + 1][1] if k + 1 < len(rows) else start
            end = following if following > start else start
        segments.append(Segment(start=start, end=max(start, end), speaker=speaker, text=body))
    return segments
