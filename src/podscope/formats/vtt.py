"""WebVTT captions with voice spans (`<v Name>`), the format the Podcasting 2.0 spec prefers when only one is made.

Spec: a voice span names the speaker at the start of a caption, and a caption without one continues the previous
speaker; lines of at most 65 characters are recommended (whisper.cpp's `--max-len 65`, one line per cue, as in the
spec's example file).
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping

from podscope.errors import FormatError
from podscope.formats._cues import CueLimits, build_cues, join_lines
from podscope.records import Segment, StoredTranscript
from podscope.timefmt import TIMESTAMP, clock, parse_clock

MAX_LINE_LENGTH = 65
MAX_LINES = 1
MAX_DURATION = 7.0

_HEADER = re.compile(r"WEBVTT(?:[ \t].*)?")
_TIMING = re.compile(rf"({TIMESTAMP})[ \t]+-->[ \t]+({TIMESTAMP})(?:[ \t].*)?")
_VOICE = re.compile(r"<v(?:\.[^\s>]*)?[ \t]+([^>]*)>")
_TAG = re.compile(r"<[^>]*>")
_NOT_CUES = ("NOTE", "STYLE", "REGION")


def escape(text: str) -> str:
    """WebVTT cue text and annotations cannot hold a bare `&`, `<` or `>`."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def write(
    transcript: StoredTranscript,
    speaker_names: Mapping[str, str] | None = None,
    *,
    max_line_length: int = MAX_LINE_LENGTH,
    max_lines: int = MAX_LINES,
    max_duration: float = MAX_DURATION,
) -> str:
    """`WEBVTT`, then cues with dot milliseconds; every cue of a known speaker opens with `<v Name>`.

    The voice span is repeated on every cue (as Apple Podcasts and the spec's example file do) so that a player that
    seeks into the middle of a turn still shows who is talking; it does not count against the line length.
    """
    limits = CueLimits(max_line_length, max_lines, max_duration)
    blocks = ["WEBVTT"]
    for cue in build_cues(transcript.segments, speaker_names, limits, name_prefix=False):
        voice = f"<v {escape(cue.speaker)}>" if cue.speaker else ""
        text = "\n".join(escape(line) for line in cue.lines)
        blocks.append(f"{clock(cue.start, '.')} --> {clock(cue.end, '.')}\n{voice}{text}")
    return "\n\n".join(blocks) + "\n"


def read(text: str) -> list[Segment]:
    """Segments, one per cue, from WebVTT text; a `<v Name>` span names the speaker until the next one.

    Lenient on values (CRLF, a byte-order mark, cue identifiers and settings, hours left out, NOTE/STYLE/REGION
    blocks, `<c>`/`<i>`/timestamp tags, character references); a text that does not start with `WEBVTT` or has an
    unreadable time line raises FormatError. Only a cue's first voice span is used.
    """
    lines = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if not _HEADER.fullmatch(lines[0].rstrip()):
        raise FormatError("This is not a WebVTT file: its first line must be 'WEBVTT'.")

    blocks: list[tuple[int, list[str]]] = []
    current: list[str] | None = None
    for number, line in enumerate(lines[1:], start=2):
        if line.strip():
            if current is None:
                current = []
                blocks.append((number, current))
            current.append(line)
        else:
            current = None
    if blocks and blocks[0][0] == 2 and not any("-->" in line for line in blocks[0][1]):
        # header lines right under WEBVTT, before the first blank line
        blocks.pop(0)

    segments: list[Segment] = []
    speaker: str | None = None
    for number, block in blocks:
        if block[0].split(maxsplit=1)[0] in _NOT_CUES:
            continue
        timing_at = next((k for k, line in enumerate(block[:2]) if "-->" in line), None)
        if timing_at is None:
            continue  # not a cue; WebVTT parsers skip such blocks
        match = _TIMING.fullmatch(block[timing_at].strip())
        start = parse_clock(match[1]) if match else None
        end = parse_clock(match[2]) if match else None
        if start is None or end is None:
            raise FormatError(
                f"WebVTT time line {number + timing_at} is unreadable: {block[timing_at].strip()!r} "
                "(expected 'HH:MM:SS.mmm --> HH:MM:SS.mmm')."
            )
        payload = block[timing_at + 1 :]
        voice = _VOICE.search("\n".join(payload))
        if voice is not None:
            speaker = " ".join(html.unescape(voice[1]).split()) or None
        body = join_lines(html.unescape(_TAG.sub("", line)) for line in payload)
        if body:
            segments.append(Segment(start=start, end=max(start, end), speaker=speaker, text=body))
    return segments
