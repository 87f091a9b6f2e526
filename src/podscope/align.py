"""Alignment: every word goes to the speaker talking at that moment, then readable segments are built from words.

Why word level: recogniser segments often run across a speaker change ("...right? | Yes, and..."); giving a whole
segment to one speaker is the classic cause of words credited to the wrong person at turn boundaries.
Why the early-start guard: Whisper tends to stretch the first word after a silence back into the silence, sometimes
by seconds. Diarization knows where speech starts, so a word that begins in a silent gap is moved to the start of
the speech it belongs to.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import NamedTuple

from podscope.records import Segment, Turn, Word

# Split a segment at a pause longer than this (seconds), or at a sentence end once it is longer than SOFT_MAX.
PAUSE_SPLIT = 1.5
SOFT_MAX_SECONDS = 20.0
HARD_MAX_SECONDS = 40.0
_SENTENCE_END = re.compile(r"[.!?…]['\")\]]*$")
# In overlapped speech the current speaker keeps a word while they talk at least this share of the most.
KEEP_CURRENT = 0.8

Span = tuple[float, float]  # (start, end) in seconds


@dataclass
class AlignReport:
    """What alignment changed, for the benchmark."""

    early_starts_fixed: int = 0
    early_seconds_removed: float = 0.0
    words_outside_turns: int = 0


def _speech_regions(turns: list[Turn]) -> list[tuple[float, float]]:
    """The union of all turns: where anybody speaks."""
    regions: list[tuple[float, float]] = []
    for t in sorted(turns, key=lambda t: t.start):
        if regions and t.start <= regions[-1][1]:
            regions[-1] = (regions[-1][0], max(regions[-1][1], t.end))
        else:
            regions.append((t.start, t.end))
    return regions


def fix_early_starts(words: list[Word], turns: list[Turn], report: AlignReport, tolerance: float = 0.2) -> list[Word]:
    """Move the start of a word that begins in a silent gap to the onset of the speech region its end falls in."""
    regions = _speech_regions(turns)
    if not regions:
        return words
    starts = [r[0] for r in regions]
    out = []
    for w in words:
        i = bisect.bisect_right(starts, w.end) - 1  # the region whose start is at or before the word's end
        if i >= 0:
            r_start, r_end = regions[i]
            in_region = w.end <= r_end + tolerance
            if in_region and w.start < r_start - tolerance and w.end > r_start:
                report.early_starts_fixed += 1
                report.early_seconds_removed += r_start - w.start
                w = replace(w, start=r_start)
        out.append(w)
    return out


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return max(0.0, min(a1, b1) - max(a0, b0))


class Talk(NamedTuple):
    """A speaker and the seconds they talk over some stretch of time."""

    speaker: str
    seconds: float


def speaker_over(spans: Iterable[Span], turns: Iterable[Turn], *, prefer: str | None = None) -> Talk | None:
    """The speaker who talks most over the spans (one or several stretches of time), with their seconds there; None
    when no turn overlaps them. Overlapped speech counts for each speaker in it; a tie goes to the speaker whose
    overlapping turn comes first in `turns`. `prefer` (the current speaker) keeps the spans while talking at least
    KEEP_CURRENT of the most: a back-channel over someone's sentence does not steal them."""
    stretches = list(spans)
    talk: dict[str, float] = {}
    for t in turns:
        for start, end in stretches:
            seconds = _overlap(start, end, t.start, t.end)
            if seconds > 0:
                talk[t.speaker] = talk.get(t.speaker, 0.0) + seconds
    if not talk:
        return None
    most = max(talk, key=lambda s: talk[s])
    if prefer in talk and talk[prefer] >= KEEP_CURRENT * talk[most]:
        most = prefer
    return Talk(most, talk[most])


def assign_speakers(words: list[Word], turns: list[Turn], report: AlignReport | None = None) -> list[Word]:
    """Give each word the speaker whose turns cover most of it; in overlapped speech prefer the current speaker."""
    report = report or AlignReport()
    if not turns:
        return words
    ordered = sorted(turns, key=lambda t: t.start)
    starts = [t.start for t in ordered]
    max_len = max(t.duration for t in ordered)
    out: list[Word] = []
    previous: str | None = None
    for w in words:
        lo = bisect.bisect_left(starts, w.start - max_len)
        hi = bisect.bisect_right(starts, w.end)
        found = speaker_over([(w.start, w.end)], ordered[lo:hi], prefer=previous)
        if found is not None:
            speaker = found.speaker
        else:
            report.words_outside_turns += 1
            mid = (w.start + w.end) / 2
            nearest = min(ordered[max(0, lo - 1) : hi + 1] or ordered, key=lambda t: max(t.start - mid, mid - t.end))
            speaker = nearest.speaker
        out.append(replace(w, speaker=speaker))
        previous = speaker
    return out


def _text(words: list[Word]) -> str:
    return re.sub(r"\s+", " ", "".join(w.text if w.text.startswith(" ") else " " + w.text for w in words)).strip()


def build_segments(words: list[Word]) -> list[Segment]:
    """Group consecutive words of one speaker into segments, split at speaker changes, long pauses and length."""
    segments: list[Segment] = []
    current: list[Word] = []

    def flush() -> None:
        if current:
            segments.append(
                Segment(
                    start=current[0].start,
                    end=current[-1].end,
                    speaker=current[0].speaker,
                    text=_text(current),
                    words=tuple(current),
                )
            )
            current.clear()

    for w in words:
        if current:
            last = current[-1]
            length = last.end - current[0].start
            if (
                w.speaker != last.speaker
                or w.start - last.end > PAUSE_SPLIT
                or (length > SOFT_MAX_SECONDS and _SENTENCE_END.search(last.text.strip()))
                or length > HARD_MAX_SECONDS
            ):
                flush()
        current.append(w)
    flush()
    return segments


def align(words: list[Word], turns: list[Turn]) -> tuple[list[Segment], AlignReport]:
    """Words and diarization turns in; speaker-attributed segments out."""
    report = AlignReport()
    fixed = fix_early_starts(words, turns, report)
    attributed = assign_speakers(fixed, turns, report)
    return build_segments(attributed), report
