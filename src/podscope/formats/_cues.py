"""Cutting transcript segments into captions: few short lines, a bounded duration, breaks only between words.

A segment is cut into tokens (its words, with their timestamps when the recogniser gave them, otherwise with times
spread over the segment in proportion to their characters); the tokens then go into the fewest cues that respect the
limits, filled as evenly as possible, and each cue's text into the fewest, most even lines. The first cue of a segment
starts at the segment's start and the last ends at its end, so a segment that fits one cue keeps its times exactly.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from podscope.errors import FormatError
from podscope.formats._speakers import display_name
from podscope.records import Segment

# Ahead of a cue, how many tokens are checked for text that a reader would take for a "Name:" prefix.
_PREFIX_LOOKAHEAD = 6


# Scripts written without spaces between words: a line break between two of their characters is not a space.
_UNSPACED = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]")


def join_lines(lines: Iterable[str]) -> str:
    """A cue's lines as one line of text: breaks become spaces, except inside Chinese or Japanese text."""
    out = ""
    for line in lines:
        line = line.strip()
        if line:
            joined = not out or (_UNSPACED.match(out[-1]) and _UNSPACED.match(line[0]))
            out += line if joined else " " + line
    return " ".join(out.split())


@dataclass(frozen=True)
class CueLimits:
    """How big one caption may be."""

    max_line_length: int
    max_lines: int
    max_duration: float

    def __post_init__(self) -> None:
        if self.max_line_length < 1 or self.max_lines < 1 or not self.max_duration > 0:
            raise FormatError(
                "Caption limits must be positive: got "
                f"{self.max_line_length} characters, {self.max_lines} lines, {self.max_duration} seconds."
            )


@dataclass(frozen=True)
class Cue:
    """One caption: its time, its speaker's display name and its text lines."""

    start: float
    end: float
    speaker: str | None
    lines: tuple[str, ...]


@dataclass(frozen=True)
class _Token:
    text: str
    start: float
    end: float
    space_before: bool


def build_cues(
    segments: Iterable[Segment],
    speaker_names: Mapping[str, str] | None,
    limits: CueLimits,
    *,
    name_prefix: bool,
    reads_as_prefix: Callable[[str], bool] | None = None,
) -> list[Cue]:
    """Captions for `segments` in time order; segments without text are left out.

    With `name_prefix` the first cue after a speaker change starts with "Name: " (SRT), and so does any cue whose own
    text `reads_as_prefix` says a reader would mistake for a speaker name. The prefix counts against the line length.
    """
    cues: list[Cue] = []
    previous: str | None = None
    for segment in sorted(segments, key=lambda s: s.start):
        speaker = display_name(segment.speaker, speaker_names)
        tokens = _split_long(_tokens(segment), limits.max_line_length)
        if not tokens:
            continue
        changed = not cues or speaker != previous
        cues.extend(
            _pack(tokens, segment, speaker, limits, name_prefix and changed, reads_as_prefix if name_prefix else None)
        )
        previous = speaker
    return cues


def _tokens(segment: Segment) -> list[_Token]:
    """The segment's words with times: the recogniser's word times when they spell the segment's text."""
    text = " ".join(segment.text.split())
    if not text:
        return []
    start = segment.start
    end = max(segment.end, start)
    words = [w for w in segment.words if w.text.strip()]
    if words:
        spaced = [(w, w.text[:1].isspace()) for w in words]
        if " ".join("".join(w.text for w in words).split()) != text:
            spaced = [(w, True) for w in words]
            if " ".join(w.text.strip() for w in words) != text:
                spaced = []
        if spaced:
            tokens: list[_Token] = []
            floor = start
            for word, space in spaced:
                w_start = min(max(word.start, floor), end)
                w_end = min(max(word.end, w_start), end)
                tokens.append(_Token(word.text.strip(), w_start, w_end, space))
                floor = w_start
            return tokens
    return _spread(text.split(" "), start, end, len(text), spaced=True)


def _spread(parts: Sequence[str], start: float, end: float, length: int, *, spaced: bool) -> list[_Token]:
    """Tokens tiling [start, end], each given time in proportion to its characters (and the separator after it)."""
    tokens: list[_Token] = []
    offset = 0
    gap = 1 if spaced else 0
    for index, part in enumerate(parts):
        next_offset = offset + len(part) + gap if index < len(parts) - 1 else length
        tokens.append(
            _Token(
                part,
                start + (end - start) * offset / length,
                start + (end - start) * next_offset / length,
                spaced and index > 0,
            )
        )
        offset = next_offset
    return tokens


def _split_long(tokens: list[_Token], width: int) -> list[_Token]:
    """Tokens that cannot fit on one line (long URLs, unspaced scripts) are cut into line-sized pieces."""
    out: list[_Token] = []
    for token in tokens:
        if len(token.text) <= width:
            out.append(token)
            continue
        pieces = [token.text[i : i + width] for i in range(0, len(token.text), width)]
        parts = _spread(pieces, token.start, token.end, len(token.text), spaced=False)
        out.append(_Token(parts[0].text, parts[0].start, parts[0].end, token.space_before))
        out.extend(parts[1:])
    return out


def _line_count(tokens: Sequence[tuple[str, bool]], width: int) -> int:
    """How many lines greedy filling needs: the fewest any wrapping at token boundaries can give."""
    lines, length = 0, 0
    for text, space in tokens:
        if lines and length + space + len(text) <= width:
            length += space + len(text)
        else:
            lines, length = lines + 1, len(text)
    return lines


def _wrap(tokens: Sequence[tuple[str, bool]], width: int) -> list[str]:
    """Lines for (text, space before) tokens: as few as greedy filling gives, but as even as possible.

    Small dynamic programme over line breaks (unused characters per line, squared, summed); a token longer than
    `width` gets a line of its own.
    """
    n = len(tokens)
    line_cost = float(width + 1) ** 2 * (n + 1)  # above any total unevenness: the fewest lines always win
    cost = [0.0] * (n + 1)
    cut = [n] * (n + 1)
    for i in range(n - 1, -1, -1):
        cost[i] = math.inf
        length = 0
        for j in range(i + 1, n + 1):
            text, space = tokens[j - 1]
            length += len(text) + (1 if space and j - 1 > i else 0)
            if length > width and j > i + 1:
                break
            candidate = line_cost + max(width - length, 0) ** 2 + cost[j]
            if candidate < cost[i]:
                cost[i], cut[i] = candidate, j
    lines: list[str] = []
    i = 0
    while i < n:
        j = cut[i]
        lines.append("".join((" " if k > i and tokens[k][1] else "") + tokens[k][0] for k in range(i, j)))
        i = j
    return lines


def _pack(
    tokens: list[_Token],
    segment: Segment,
    speaker: str | None,
    limits: CueLimits,
    named_first: bool,
    reads_as_prefix: Callable[[str], bool] | None,
) -> list[Cue]:
    """The fewest cues that hold the tokens, as evenly filled as possible (no one-word cue left over at the end).

    Dynamic programming over cut points: a cue costs a constant larger than any unevenness plus its unused characters
    squared.
    """
    n = len(tokens)
    prefix = [(word, True) for word in f"{speaker}:".split()] if speaker is not None else []
    named = [
        speaker is not None
        and (
            (i == 0 and named_first)
            or (
                reads_as_prefix is not None
                and reads_as_prefix(" ".join(t.text for t in tokens[i : i + _PREFIX_LOOKAHEAD]))
            )
        )
        for i in range(n)
    ]
    width = limits.max_line_length
    capacity = width * limits.max_lines
    cue_cost = float(capacity + 1) ** 2 * (n + 1)  # above any total unevenness: the fewest cues always win
    cost = [0.0] * (n + 1)
    cut = [n] * (n + 1)
    for i in range(n - 1, -1, -1):
        start = segment.start if i == 0 else tokens[i].start
        cost[i] = math.inf
        for j in range(i + 1, n + 1):
            pieces = (prefix if named[i] else []) + _content(tokens[i:j], named[i])
            if j > i + 1 and (
                tokens[j - 1].end - start > limits.max_duration or _line_count(pieces, width) > limits.max_lines
            ):
                break  # one token always makes a cue, however long
            slack = max(capacity - sum(len(text) + space for text, space in pieces), 0)
            candidate = cue_cost + slack * slack + cost[j]
            if candidate < cost[i]:
                cost[i], cut[i] = candidate, j

    cues: list[Cue] = []
    i = 0
    while i < n:
        j = cut[i]
        start = segment.start if i == 0 else tokens[i].start
        end = max(segment.end, start) if j == n else tokens[j - 1].end
        lines = _wrap((prefix if named[i] else []) + _content(tokens[i:j], named[i]), width)
        cues.append(Cue(start, max(end, start), speaker, tuple(lines)))
        i = j
    # Word times may overlap: a cue never runs past the start of the next one.
    return [
        Cue(cue.start, max(cue.start, min(cue.end, after.start)), cue.speaker, cue.lines) if after else cue
        for cue, after in zip(cues, [*cues[1:], None], strict=True)
    ]


def _content(tokens: Sequence[_Token], after_prefix: bool) -> list[tuple[str, bool]]:
    """(text, space before) pairs for wrapping; a cue's first token never takes a space, except after a prefix."""
    return [(t.text, after_prefix if k == 0 else t.space_before) for k, t in enumerate(tokens)]
