"""NIST RTTM speaker turns, the input of diarization scorers (md-eval, dscore, pyannote.metrics).

`SPEAKER <file-id> 1 <onset> <duration> <NA> <NA> <speaker> <NA> <NA>`, fields separated by whitespace, so the file
id and the speaker must each be one token.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from podscope.formats._speakers import display_name
from podscope.models import Episode, StoredTranscript


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


def write(
    transcript: StoredTranscript,
    speaker_names: Mapping[str, str] | None = None,
    *,
    file_id: str | None = None,
    max_gap: float = 0.0,
) -> str:
    """One line per speaker turn, in time order, with times to the millisecond.

    Consecutive segments of the same speaker that touch or overlap (or leave at most `max_gap` seconds between them)
    become one turn; with the default no silence is counted as speech, so each speaker's total equals the time their
    segments cover. Segments without a speaker are left out: RTTM has no way to say "someone". Pass `file_id` to match
    a reference RTTM (usually named after the audio file).
    """
    uri = token(file_id or "") or default_file_id(transcript.episode)
    turns: list[_Turn] = []
    for segment in sorted(transcript.segments, key=lambda s: s.start):
        name = display_name(segment.speaker, speaker_names)
        if name is None:
            continue
        speaker = token(name)
        start, end = segment.start, max(segment.end, segment.start)
        if turns and turns[-1].speaker == speaker and start <= turns[-1].end + max_gap:
            turns[-1].end = max(turns[-1].end, end)
        else:
            turns.append(_Turn(speaker, start, end))
    lines = []
    for turn in turns:
        onset, offset = round(turn.start, 3), round(turn.end, 3)
        if offset > onset:
            lines.append(f"SPEAKER {uri} 1 {onset:.3f} {offset - onset:.3f} <NA> <NA> {turn.speaker} <NA> <NA>")
    return "\n".join(lines) + "\n" if lines else ""
