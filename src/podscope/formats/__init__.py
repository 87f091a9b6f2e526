"""Transcript formats: write a stored transcript as txt, json, srt, vtt, rttm or md, and read json, srt and vtt back.

    write(transcript, "vtt", {"SPEAKER_00": "Jane Doe"})   -> str
    read(text, "srt")                                      -> list[Segment]

`speaker_names` maps an episode speaker label to the name to show (a person once a voice profile names them); a label
without a name is written as itself, and a segment without a speaker is written without one. Each format lives in its
own module, whose `write` takes extra keyword options (caption limits, word-level JSON, the RTTM file id); this facade
uses their defaults. Writers need nothing beyond the standard library.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol, TypeVar

from podscope.errors import FormatError
from podscope.formats import json, md, rttm, srt, txt, vtt
from podscope.records import Segment, StoredTranscript

__all__ = [
    "FORMATS",
    "MEDIA_TYPES",
    "READERS",
    "MediaType",
    "Writer",
    "read",
    "read_json",
    "read_srt",
    "read_vtt",
    "write",
]


class Writer(Protocol):
    def __call__(self, transcript: StoredTranscript, speaker_names: Mapping[str, str] | None = None) -> str: ...


@dataclass(frozen=True)
class MediaType:
    """How to serve a format: `mime_type` for `<podcast:transcript type=...>`, `content_type` for HTTP headers."""

    mime_type: str
    extension: str

    @property
    def content_type(self) -> str:
        return f"{self.mime_type}; charset=utf-8"


FORMATS: dict[str, Writer] = {
    "txt": txt.write,
    "json": json.write,
    "srt": srt.write,
    "vtt": vtt.write,
    "rttm": rttm.write,
    "md": md.write,
}

MEDIA_TYPES: dict[str, MediaType] = {
    "txt": MediaType("text/plain", ".txt"),
    "json": MediaType("application/json", ".json"),
    "srt": MediaType("application/x-subrip", ".srt"),
    "vtt": MediaType("text/vtt", ".vtt"),
    "rttm": MediaType("text/plain", ".rttm"),  # no registered type; it is plain text
    "md": MediaType("text/markdown", ".md"),
}

READERS: dict[str, Callable[[str], list[Segment]]] = {
    "json": json.read,
    "srt": srt.read,
    "vtt": vtt.read,
}

read_json = json.read
read_srt = srt.read
read_vtt = vtt.read


_T = TypeVar("_T")


def _lookup(table: Mapping[str, _T], fmt: str, what: str) -> _T:
    key = fmt.strip().lower().lstrip(".")
    if key not in table:
        raise FormatError(f"Unknown {what} format {fmt!r}: choose one of {', '.join(table)}.")
    return table[key]


def write(transcript: StoredTranscript, fmt: str, speaker_names: Mapping[str, str] | None = None) -> str:
    """The transcript in format `fmt` (one of FORMATS, case-insensitive); FormatError names the accepted ones."""
    return _lookup(FORMATS, fmt, "transcript export")(transcript, speaker_names)


def read(text: str, fmt: str) -> list[Segment]:
    """Segments from a transcript in format `fmt` (json, srt or vtt); FormatError on an unknown format or bad text."""
    return _lookup(READERS, fmt, "transcript import")(text)
