"""The records of a synthetic conversation: its lines of dialogue, its reference turns, the rendered
Conversation with its RTTM, transcript and JSON forms, and RTTM-safe names."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from podscope.errors import InputError
from podscope.records import SAMPLE_RATE


@dataclass(frozen=True)
class Line:
    """One line of dialogue: who says it, what they say, and the voice that says it.

    `voice` is "flite:<name>" (a flite voice such as awb, rms, slt, kal16), "piper:<name>" (a piper voice in
    `PIPER_VOICES`, such as joe) or "audio:<path>" (a recording; `text` is then its transcript, or "" when unknown).
    """

    speaker: str
    text: str
    voice: str


@dataclass(frozen=True)
class RefTurn:
    """A reference turn: `speaker` talks from `start` to `end` seconds (exact sample positions) saying `text`."""

    speaker: str
    start: float
    end: float
    text: str

    @property
    def duration(self) -> float:
        return self.end - self.start


def rttm_label(name: str) -> str:
    """A name usable as an RTTM field (RTTM is whitespace separated): runs of whitespace become one underscore."""
    label = re.sub(r"\s+", "_", name.strip())
    if not label:
        raise InputError("a speaker name or uri in an RTTM file cannot be empty")
    return label


@dataclass(frozen=True)
class Conversation:
    """A rendered conversation: the audio file and its exact reference."""

    audio_path: Path
    turns: tuple[RefTurn, ...]
    duration: float
    sample_rate: int = SAMPLE_RATE

    @property
    def uri(self) -> str:
        """The recording's name in RTTM files: the audio file's stem."""
        return rttm_label(self.audio_path.stem)

    @property
    def speakers(self) -> list[str]:
        """Speaker names in order of first appearance."""
        return list(dict.fromkeys(t.speaker for t in self.turns))

    @property
    def overlap_duration(self) -> float:
        """Seconds during which two or more speakers talk at once."""
        events = sorted([(t.start, 1) for t in self.turns] + [(t.end, -1) for t in self.turns])
        total, active, last = 0.0, 0, 0.0
        for time, step in events:
            if active >= 2:
                total += time - last
            active += step
            last = time
        return total

    def rttm_lines(self, uri: str | None = None) -> list[str]:
        """Reference RTTM lines; speaker names have whitespace replaced by underscores (see `rttm_label`)."""
        name = rttm_label(uri) if uri is not None else self.uri
        return [
            f"SPEAKER {name} 1 {t.start:.6f} {t.end - t.start:.6f} <NA> <NA> {rttm_label(t.speaker)} <NA> <NA>"
            for t in self.turns
        ]

    def write_rttm(self, path: Path, uri: str | None = None) -> Path:
        write_text(path, "".join(line + "\n" for line in self.rttm_lines(uri)))
        return path

    def reference_text(self) -> str:
        """The words in order of turn start, for WER (turns without a transcript are skipped)."""
        return " ".join(t.text.strip() for t in self.turns if t.text.strip())

    def write_transcript(self, path: Path) -> Path:
        """One line per turn that has text, in order of turn start."""
        write_text(path, "".join(t.text.strip() + "\n" for t in self.turns if t.text.strip()))
        return path

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict; `audio` is the file name, resolved against the JSON file's folder by `from_json`."""
        return {
            "audio": self.audio_path.name,
            "duration": self.duration,
            "sample_rate": self.sample_rate,
            "turns": [{"speaker": t.speaker, "start": t.start, "end": t.end, "text": t.text} for t in self.turns],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any], folder: Path) -> Conversation:
        return cls(
            audio_path=folder / str(data["audio"]),
            turns=tuple(
                RefTurn(str(t["speaker"]), float(t["start"]), float(t["end"]), str(t["text"])) for t in data["turns"]
            ),
            duration=float(data["duration"]),
            sample_rate=int(data["sample_rate"]),
        )


def write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
