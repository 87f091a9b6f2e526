"""SubRip (.srt) captions as the Podcasting 2.0 transcript spec asks for them.

Spec: at most 2 lines of at most 32 characters, a new cue when the speaker changes, and the speaker's name followed by
a colon at the start of that cue. A cue without a name continues the previous speaker.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from podscope.errors import FormatError
from podscope.formats._cues import CueLimits, build_cues, join_lines
from podscope.formats._speakers import split_speaker_prefix
from podscope.records import Segment, StoredTranscript
from podscope.timefmt import TIMESTAMP, clock, parse_clock

MAX_LINE_LENGTH = 32
MAX_LINES = 2
MAX_DURATION = 7.0

_TIMING = re.compile(rf"\s*({TIMESTAMP})\s*-->\s*({TIMESTAMP})(?:\s.*)?")
# Formatting that SubRip players understand: <i> <b> <u> <font ...> and ASS-style {\an8} overrides.
_MARKUP = re.compile(r"</?(?:[ibu]|font)(?:\s[^>]*)?>|\{\\[^}]*\}", re.IGNORECASE)


def _reads_as_prefix(text: str) -> bool:
    return split_speaker_prefix(text)[0] is not None


def write(
    transcript: StoredTranscript,
    speaker_names: Mapping[str, str] | None = None,
    *,
    max_line_length: int = MAX_LINE_LENGTH,
    max_lines: int = MAX_LINES,
    max_duration: float = MAX_DURATION,
) -> str:
    """Numbered cues with comma milliseconds; "Name: " opens the first cue of each speaker's turn.

    A cue whose text itself starts like "Word: " also gets the name, so a reader cannot mistake that word for a speaker.
    SubRip has no escaping: text is written as is, except that "-->" becomes "->" so it cannot pass for a time line.
    """
    limits = CueLimits(max_line_length, max_lines, max_duration)
    cues = build_cues(transcript.segments, speaker_names, limits, name_prefix=True, reads_as_prefix=_reads_as_prefix)
    blocks = [
        f"{index}\n{clock(cue.start, ',')} --> {clock(cue.end, ',')}\n"
        + "\n".join(line.replace("-->", "->") for line in cue.lines)
        for index, cue in enumerate(cues, start=1)
    ]
    return "\n\n".join(blocks) + "\n" if blocks else ""


def read(text: str) -> list[Segment]:
    """Segments, one per cue, from SubRip text; "Name:" at the start of a cue names its speaker until the next name.

    Lenient on values (missing cue numbers, dots for commas, CRLF, a byte-order mark, <i>/<b>/<font> markup, blank
    lines inside a cue's text); a text without any "start --> end" time line is not SubRip and raises FormatError.
    """
    cues: list[tuple[float, float, list[str]]] = []
    lines = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if "-->" in line and (line[:1].isdigit() or not cues):
            match = _TIMING.fullmatch(line)
            begin = parse_clock(match[1]) if match else None
            finish = parse_clock(match[2]) if match else None
            if begin is None or finish is None:
                raise FormatError(
                    f"SubRip time line {number} is unreadable: {line!r} (expected 'HH:MM:SS,mmm --> HH:MM:SS,mmm')."
                )
            if cues and cues[-1][2] and cues[-1][2][-1].isdigit():
                cues[-1][2].pop()  # the number of this cue, read as the end of the previous one
            cues.append((begin, max(begin, finish), []))
        elif not line or (not cues and line.isdigit()):
            continue
        elif cues:
            cues[-1][2].append(line)
        else:
            raise FormatError(
                f"This is not a SubRip (SRT) file: line {number} should be a cue number or a "
                "'HH:MM:SS,mmm --> HH:MM:SS,mmm' time line."
            )

    segments: list[Segment] = []
    speaker: str | None = None
    for start, end, payload in cues:
        body = join_lines(_MARKUP.sub("", line) for line in payload)
        name, body = split_speaker_prefix(body)
        if name is not None:
            speaker = name
        if body:
            segments.append(Segment(start=start, end=end, speaker=speaker, text=body))
    return segments
