"""Plain text for reading and grepping: `[hh:mm:ss] Speaker: text`, one line per segment."""

from __future__ import annotations

from collections.abc import Mapping

from podscope.formats._speakers import display_name
from podscope.records import StoredTranscript
from podscope.timefmt import hms


def write(transcript: StoredTranscript, speaker_names: Mapping[str, str] | None = None) -> str:
    """One line per segment with text; a segment without a speaker is written as `[hh:mm:ss] text`."""
    lines = []
    for segment in sorted(transcript.segments, key=lambda s: s.start):
        text = " ".join(segment.text.split())
        if not text:
            continue
        speaker = display_name(segment.speaker, speaker_names)
        lines.append(f"[{hms(segment.start)}] {speaker}: {text}" if speaker else f"[{hms(segment.start)}] {text}")
    return "\n".join(lines) + "\n" if lines else ""
