"""Speaker names in transcripts: the name a reader sees, and the "Name:" prefix captions use."""

from __future__ import annotations

import re
from collections.abc import Mapping

# A cue that starts with "Name:" followed by a space (or nothing), as SRT captions name their speaker.
_PREFIX = re.compile(r"(?P<name>[^\W\d][^:\n]{0,47}?)[ \t]*:(?=\s|$)\s*(?P<rest>.*)", re.DOTALL)
_NOT_IN_NAMES = set(',;?!"“”()[]{}…')
_PARTICLES = frozenset(
    {
        "al",
        "bin",
        "da",
        "de",
        "del",
        "della",
        "den",
        "der",
        "di",
        "du",
        "el",
        "ibn",
        "la",
        "le",
        "ten",
        "ter",
        "van",
        "von",
        "y",
        "zu",
    }
)
_MAX_NAME_WORDS = 4


def display_name(label: str | None, names: Mapping[str, str] | None) -> str | None:
    """The name to write for an episode speaker label: its mapped name, else the label; None stays None.

    Whitespace is collapsed so a name can never break a line-based format.
    """
    if label is None:
        return None
    name = " ".join(((names or {}).get(label) or "").split())
    return name or " ".join(label.split()) or None


def _plausible_name(name: str) -> bool:
    """Whether the text before a colon reads as a speaker name rather than as the start of a sentence.

    Names are at most four words, none starting lower case (bar particles such as "van"), without sentence punctuation;
    a dot only in short words ("Dr.", "J.").
    """
    words = name.split()
    if not 1 <= len(words) <= _MAX_NAME_WORDS or any(c in _NOT_IN_NAMES for c in name):
        return False
    for index, word in enumerate(words):
        if "." in word and len(word) > 4:
            return False
        if word[0].islower() and (index == 0 or word.lower() not in _PARTICLES):
            return False
    return True


def split_speaker_prefix(text: str) -> tuple[str | None, str]:
    """("Name", rest) when `text` starts with a plausible "Name:", else (None, text)."""
    match = _PREFIX.match(text)
    if match is None or not _plausible_name(match["name"]):
        return None, text
    return match["name"].strip(), match["rest"]
