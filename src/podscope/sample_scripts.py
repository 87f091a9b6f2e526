"""The bundled sample library: two fictional podcasts whose episodes are synthesized on first use.

Why: the README's first command (`make demo`) needs a library to ingest that works offline, costs nothing to ship and
shows off what podscope does: search (distinctive topics and phrases), diarization (2-3 speakers, short back-channel
turns, a few overlaps) and voice profiles (the same four people, each always with the same flite voice, recur across
episodes and across the two podcasts). Only the scripts ship, in `podscope/sample/episodes.json`; the audio is built
from them with `podscope.synth` and cached, so nothing generated goes into git or into the wheel.

Cast: Callum Reid (awb) hosts The Long Context and guests on Weekend Projects; Daniel Brooks (rms) hosts Weekend
Projects and guests on The Long Context; Maya Chen (slt) guests once on each; Felix Brandt (kal16) appears once.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from podscope.errors import FormatError
from podscope.records import EpisodeMeta
from podscope.synth import Conversation, Line, build_conversation

__all__ = ["EpisodeScript", "SampleEpisode", "SampleHook", "build_sample_library", "sample_scripts"]

_SCRIPTS = "sample/episodes.json"
# Synthesis settings shared by every sample episode; part of what decides whether a built file can be reused.
_GAP = (0.25, 0.9)


@dataclass(frozen=True)
class EpisodeScript:
    """One sample episode as written: who says what, with which voice."""

    key: str  # file stem, unique
    podcast: str
    title: str
    published: dt.date
    lines: tuple[Line, ...]
    gain_db: dict[str, float] = field(default_factory=dict)
    overlap_prob: float = 0.0
    seed: int = 0

    @property
    def speakers(self) -> list[str]:
        return list(dict.fromkeys(line.speaker for line in self.lines))


@dataclass(frozen=True)
class SampleEpisode:
    """A built sample episode: what to ingest and what the answer should be."""

    key: str
    podcast: str
    title: str
    published: dt.date
    audio_path: Path
    conversation: Conversation  # exact reference turns (speaker, start, end, text)

    @property
    def meta(self) -> EpisodeMeta:
        return EpisodeMeta(
            podcast=self.podcast, title=self.title, published=self.published, source=str(self.audio_path)
        )

    @property
    def turn_speakers(self) -> tuple[str, ...]:
        """The reference speaker name of every turn, in time order."""
        return tuple(t.speaker for t in self.conversation.turns)

    @property
    def speakers(self) -> list[str]:
        """Distinct speaker names in order of first appearance."""
        return self.conversation.speakers

    @property
    def duration(self) -> float:
        return self.conversation.duration


# Called after each episode is ready with (episodes ready so far, total, the episode).
SampleHook = Callable[[int, int, SampleEpisode], None]


def _parse(data: Any) -> list[EpisodeScript]:
    try:
        people: dict[str, Any] = data["people"]
        scripts: list[EpisodeScript] = []
        for ep in data["episodes"]:
            lines: list[Line] = []
            for speaker, text in ep["lines"]:
                if speaker not in people:
                    raise FormatError(f"sample episode {ep['key']!r}: {speaker!r} is not in 'people'")
                lines.append(Line(speaker=speaker, text=text, voice=people[speaker]["voice"]))
            scripts.append(
                EpisodeScript(
                    key=str(ep["key"]),
                    podcast=str(ep["podcast"]),
                    title=str(ep["title"]),
                    published=dt.date.fromisoformat(ep["published"]),
                    lines=tuple(lines),
                    gain_db={line.speaker: float(people[line.speaker].get("gain_db", 0.0)) for line in lines},
                    overlap_prob=float(ep.get("overlap_prob", 0.0)),
                    seed=int(ep.get("seed", 0)),
                )
            )
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, FormatError):
            raise
        raise FormatError(f"the sample scripts ({_SCRIPTS}) are malformed: {exc!r}") from exc
    keys = [s.key for s in scripts]
    if len(set(keys)) != len(keys):
        raise FormatError(f"the sample scripts ({_SCRIPTS}) repeat an episode key")
    return scripts


def sample_scripts() -> list[EpisodeScript]:
    """The sample episodes' scripts, in the order they are listed (pure: reads package data only)."""
    text = resources.files("podscope").joinpath(_SCRIPTS).read_text(encoding="utf-8")
    return _parse(json.loads(text))


def build_sample_library(
    dest_dir: Path, hook: SampleHook | None = None, *, cache_dir: Path | None = None
) -> list[SampleEpisode]:
    """Synthesize every sample episode into `dest_dir` as <key>.wav (16 kHz mono), with its reference next to it
    (<key>.ref.json, <key>.rttm, <key>.ref.txt). Idempotent: an episode already built from the same script and settings
    is reused, not rebuilt. Needs flite (`podscope.synth.FliteNotFound` says how to install it)."""
    scripts = sample_scripts()
    episodes: list[SampleEpisode] = []
    for i, script in enumerate(scripts, start=1):
        audio = dest_dir / f"{script.key}.wav"
        conversation = build_conversation(
            script.lines,
            audio,
            gap=_GAP,
            overlap_prob=script.overlap_prob,
            seed=script.seed,
            gain_db=script.gain_db,
            cache_dir=cache_dir,
        )
        episode = SampleEpisode(
            key=script.key,
            podcast=script.podcast,
            title=script.title,
            published=script.published,
            audio_path=audio,
            conversation=conversation,
        )
        episodes.append(episode)
        if hook is not None:
            hook(i, len(scripts), episode)
    return episodes
