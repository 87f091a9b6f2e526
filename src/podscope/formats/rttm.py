"""NIST RTTM speaker turns, the input of diarization scorers (md-eval, dscore, pyannote.metrics).

`SPEAKER <file-id> 1 <onset> <duration> <NA> <NA> <speaker> <NA> <NA>`, fields separated by whitespace, so the file
id and the speaker must each be one token.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from podscope.formats._speakers import display_name
from podscope.records import Episode, StoredTranscript


@dataclass
class _Turn:
    speaker: str
    start: float
    end: float


def token(text: str) -> str:
    """One RTTM field: whitespace replaced with `_`."""
    return "_".join(text.split())


def default_file_id(episode: Episode) -> str:
    """`episode-<id>`: stable and free of spaces."""
    return f"episode-{episode.id}"


def _heard_in(open_lines: Mapping[str, _Turn], line: _Turn, until: float) -> bool:
    """Whether another speaker talks between the end of `line` and `until`. Each speaker's lines are disjoint and in
    time order, so their latest line is the one that reaches furthest."""
    return any(o is not line and o.end > line.end and o.start <= until for o in open_lines.values())


def write(
    transcript: StoredTranscript,
    speaker_names: Mapping[str, str] | None = None,
    *,
    file_id: str | None = None,
    max_gap: float = 0.0,
) -> str:
    """One line per speaker turn, in time order, with times to the millisecond.

    The turns are the episode's diarization turns (`StoredTranscript.timeline`), so a speaker who says nothing the
    recogniser caught is still there; an episode without any (a transcript imported without audio) falls back to its
    segments. Turns of different speakers may overlap, and so may their lines. Turns of one speaker that touch or
    overlap become one line, as do turns at most `max_gap` seconds apart when nobody else speaks in the pause; with
    the default no silence is counted as speech, so each speaker's total equals the time their turns cover.
    Segments without a speaker are left out: RTTM has no way to say "someone". Pass `file_id` to match a reference
    RTTM (usually named after the audio file).
    """
    uri = token(file_id or "") or default_file_id(transcript.episode)
    lines: list[_Turn] = []
    open_lines: dict[str, _Turn] = {}  # each speaker's latest line
    for turn in sorted(transcript.timeline, key=lambda t: t.start):
        name = display_name(turn.speaker, speaker_names)
        if name is None:
            continue
        speaker = token(name)
        start, end = turn.start, max(turn.end, turn.start)
        last = open_lines.get(speaker)
        if last is not None and (
            start <= last.end or (start <= last.end + max_gap and not _heard_in(open_lines, last, start))
        ):
            last.end = max(last.end, end)
        else:
            open_lines[speaker] = _Turn(speaker, start, end)
            lines.append(open_lines[speaker])
    out = []
    for line in lines:
        onset, offset = round(line.start, 3), round(line.end, 3)
        if offset > onset:
            out.append(f"SPEAKER {uri} 1 {onset:.3f} {offset - onset:.3f} <NA> <NA> {line.speaker} <NA> <NA>")
    return "\n".join(out) + "\n" if out else ""
