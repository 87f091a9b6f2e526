"""A Markdown transcript to read or publish: title block, speakers with speaking time, chapters (when the caller gives
them), then the conversation by turns.

Transcribed words are never markup: Markdown punctuation is backslash-escaped and `&`, `<`, `>` become character
references, so a transcript that says "<script>" cannot inject HTML into a page that renders it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from podscope.formats._speakers import display_name
from podscope.records import Chapter, StoredTranscript
from podscope.timefmt import duration, hms

_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_PUNCTUATION = re.compile(r"[\\`*\[\]~|]|(?<![^\W_])_|_(?![^\W_])")
_BLOCK_START = re.compile(r"^(?:[#+=-]|\d+(?=[.)]))")


def escape(text: str) -> str:
    """Text that renders as itself in CommonMark/GFM (inline, on one line)."""
    text = " ".join(text.split())
    text = _PUNCTUATION.sub(lambda m: "\\" + m[0], text)
    text = "".join(_ENTITIES.get(c, c) for c in text)
    match = _BLOCK_START.match(text)
    if match:  # a paragraph starting with "#", "-", "1." ... would become a heading or a list
        end = match.end()
        text = text[:end] + "\\" + text[end:] if match[0][0].isdigit() else "\\" + text
    return text


def _speaking_times(transcript: StoredTranscript, names: Mapping[str, str] | None) -> list[tuple[str, float]]:
    """(name, seconds) by decreasing time: the stored diarization figure, else the length of the speaker's segments."""
    times: dict[str, float] = {}
    stored = set()
    for speaker in transcript.speakers:
        name = display_name(speaker.label, names) or speaker.label
        times[name] = times.get(name, 0.0) + speaker.speaking_time
        stored.add(speaker.label)
    for segment in transcript.segments:
        if segment.speaker is None or segment.speaker in stored:
            continue
        name = display_name(segment.speaker, names) or segment.speaker
        times[name] = times.get(name, 0.0) + max(segment.end - segment.start, 0.0)
    return sorted(times.items(), key=lambda item: (-item[1], item[0]))


def write(
    transcript: StoredTranscript, speaker_names: Mapping[str, str] | None = None, *, chapters: Sequence[Chapter] = ()
) -> str:
    """The episode as a Markdown document; consecutive segments of one speaker form one paragraph under a timestamp.
    `chapters` are listed with their start times before the transcript."""
    episode = transcript.episode
    out = [f"# {escape(episode.title) or 'Untitled episode'}", "", f"- **Podcast:** {escape(episode.podcast)}"]
    if episode.published is not None:
        out.append(f"- **Published:** {episode.published.isoformat()}")
    out += [f"- **Duration:** {duration(episode.duration)}", ""]

    speakers = _speaking_times(transcript, speaker_names)
    if speakers:
        out += ["## Speakers", ""]
        out += [f"- **{escape(name)}**: {duration(seconds)}" for name, seconds in speakers]
        out.append("")

    if chapters:
        out += ["## Chapters", ""]
        out += [f"- **[{hms(c.start)}]** {escape(c.title)}" for c in sorted(chapters, key=lambda c: c.start)]
        out.append("")

    out += ["## Transcript", ""]
    turns: list[tuple[str | None, float, list[str]]] = []
    for segment in sorted(transcript.segments, key=lambda s: s.start):
        text = " ".join(segment.text.split())
        if not text:
            continue
        speaker = display_name(segment.speaker, speaker_names)
        if turns and turns[-1][0] == speaker:
            turns[-1][2].append(text)
        else:
            turns.append((speaker, segment.start, [text]))
    for speaker, start, texts in turns:
        out.append(f"**[{hms(start)}] {escape(speaker)}**" if speaker else f"**[{hms(start)}]**")
        out += ["", escape(" ".join(texts)), ""]
    return "\n".join(out).rstrip("\n") + "\n"
