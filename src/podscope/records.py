"""Typed records that flow between the pipeline stages.

Every stage is a function from records to records; only the store turns them into rows. Times are seconds from the
start of the episode's audio, as floats.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, get_args

import numpy as np
import numpy.typing as npt

Embedding = npt.NDArray[np.float32]

# -- the vocabulary ---------------------------------------------------------------------------------------------------

SAMPLE_RATE = 16_000  # every stage works on 16 kHz mono float32 audio

Tier = Literal["confirmed", "verified", "matched", "low"]
"""How sure an attribution is, strongest first: a human said so; a voice match backed by evidence podscope stands
behind; a voice match; a weak guess (kept, not shown)."""
TIERS: tuple[Tier, ...] = get_args(Tier)
HUMAN_TIER: Tier = "confirmed"
SHOWN_TIERS: tuple[Tier, ...] = ("confirmed", "verified", "matched")  # what a reader sees; `low` is kept but hidden

EpisodeStatus = Literal["pending", "done", "failed"]
JobStatus = Literal["queued", "running", "done", "failed"]
QuizLevel = Literal["easy", "medium", "hard"]
QUIZ_LEVELS: tuple[QuizLevel, ...] = get_args(QuizLevel)

Stage = Literal[
    "refresh",  # a followed feed read again
    "download",  # an episode's enclosure
    "decode",
    "diarize+transcribe",  # the two side by side: their wall time
    "diarize",  # segmentation, embeddings and clustering
    "segmentation",
    "embeddings",
    "clustering",
    "transcribe",
    "align",
    "store",
    "index",
    "synthesise samples",  # the demo's sample library
]
"""A step of getting episodes in, as progress hooks report it and `PipelineReport.stage_seconds` times it."""
Hook = Callable[[Stage, float, float], None]
"""Progress of one episode's stages: `hook(stage, done, total)`, with done == 0 when a stage starts and done == total
when it ends."""

LabelledHook = Callable[[str, float, float], None]
"""Progress under a label: a `Stage`, or a stage behind where it belongs (`"episode 2/5:decode"`,
`"feed 1/3:refresh"`) when one run covers several feeds or episodes. What the progress bars and the web jobs take;
every LabelledHook is also a Hook."""


@dataclass(frozen=True)
class Word:
    """One recognised word, with the speaker talking when it was said (filled in by alignment)."""

    start: float
    end: float
    text: str
    probability: float = 1.0
    speaker: str | None = None


@dataclass(frozen=True)
class AsrSegment:
    """A stretch of recognised speech as the recogniser returned it, before speakers are known."""

    start: float
    end: float
    text: str
    words: tuple[Word, ...]
    avg_logprob: float = 0.0
    no_speech_prob: float = 0.0


@dataclass(frozen=True)
class Transcription:
    """What the recogniser produced for one recording."""

    language: str
    language_probability: float
    duration: float
    segments: tuple[AsrSegment, ...]
    model: str
    model_source: str  # "path", "package" or "hub": where the weights came from
    language_source: str = "detected"  # "set", "declared", "detected" or "english-only" (the model)

    @property
    def words(self) -> list[Word]:
        return [w for s in self.segments for w in s.words]


@dataclass(frozen=True)
class Turn:
    """A stretch of time in which one speaker talks (diarization output). Turns of different speakers may overlap."""

    start: float
    end: float
    speaker: str

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class SpeakerTrack:
    """One episode speaker found by diarization: its label, its voice embedding and how long it talks."""

    label: str
    embedding: Embedding
    speaking_time: float
    turn_embeddings: tuple[Embedding, ...] = ()


@dataclass(frozen=True)
class Diarization:
    """Who spoke when in one recording."""

    turns: tuple[Turn, ...]
    speakers: tuple[SpeakerTrack, ...]

    @property
    def labels(self) -> list[str]:
        return [s.label for s in self.speakers]


@dataclass(frozen=True)
class Segment:
    """A readable piece of transcript: consecutive words of one speaker, split at speaker changes and pauses."""

    start: float
    end: float
    speaker: str | None
    text: str
    words: tuple[Word, ...] = ()


@dataclass(frozen=True)
class EpisodeMeta:
    """What the user says about an episode when adding it."""

    podcast: str
    title: str
    published: dt.date | None = None
    source: str = ""


@dataclass(frozen=True)
class ProcessedEpisode:
    """Everything the pipeline learnt about one recording, ready to be stored in one transaction."""

    meta: EpisodeMeta
    content_hash: str
    duration: float
    language: str
    asr_model: str
    asr_source: str
    segments: tuple[Segment, ...]
    diarization: Diarization
    stage_seconds: dict[Stage, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Podcast:
    id: int
    title: str
    episode_count: int = 0


@dataclass(frozen=True)
class Episode:
    """An episode as stored."""

    id: int
    podcast_id: int
    podcast: str
    title: str
    published: dt.date | None
    duration: float
    source: str
    content_hash: str
    status: EpisodeStatus
    language: str | None
    asr_model: str | None
    speaker_count: int
    segment_count: int
    created_at: str


@dataclass(frozen=True)
class EpisodeSpeaker:
    """An episode speaker as stored."""

    id: int
    episode_id: int
    label: str
    speaking_time: float
    embedding: Embedding | None


@dataclass(frozen=True)
class StoredTranscript:
    """An episode with its speakers, segments and diarization turns, as the exporters need it."""

    episode: Episode
    speakers: tuple[EpisodeSpeaker, ...]
    segments: tuple[Segment, ...]
    turns: tuple[Turn, ...] = ()  # by start; a speaker with no recognised words still has turns

    @property
    def timeline(self) -> tuple[Turn, ...]:
        """Who spoke when: the diarization turns (they may overlap), or for an episode without any, the segments that
        have a speaker."""
        return self.turns or segment_turns(self.segments)


def segment_turns(segments: Sequence[Segment]) -> tuple[Turn, ...]:
    """One turn per segment with a speaker, by start: who spoke when, as far as the words tell."""
    return tuple(
        Turn(s.start, max(s.end, s.start), s.speaker) for s in sorted(segments, key=lambda s: s.start) if s.speaker
    )


# -- people and voice profiles ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    """A named person with a voice profile (possibly empty: a person can exist with no exemplars)."""

    id: int
    name: str
    created_at: str
    exemplars: int = 0  # stored exemplars, flagged ones included
    flagged: int = 0  # exemplars that disagree with the rest and are left out of matching
    episodes: int = 0  # episodes attributed at `matched` or better


@dataclass(frozen=True)
class Exemplar:
    """One sample of a person's voice and where it came from."""

    id: int
    person_id: int
    origin: str  # enrolled | confirmed | assigned | named | verified
    source: str  # human-readable: "episode 12 SPEAKER_01" or "clip.wav 3.0-20.0 s"
    seconds: float
    speaker_id: int | None
    flagged: str | None
    created_at: str
    embedding: Embedding
    kept: bool = False  # a human said this exemplar is right: it is never flagged


@dataclass(frozen=True)
class SpeakerVoice:
    """An episode speaker with a voiceprint, as matching needs it."""

    speaker_id: int
    episode_id: int
    podcast_id: int
    label: str
    speaking_time: float
    embedding: Embedding


@dataclass(frozen=True)
class Attribution:
    """Who an episode speaker is: a person, a score, a tier and whether a human decided it."""

    speaker_id: int
    episode_id: int
    label: str
    person_id: int
    person: str
    score: float | None
    tier: Tier
    held: str | None  # why a score above the publication threshold was held back to `low`
    speaking_time: float
    updated_at: str


@dataclass(frozen=True)
class AttributionChange:
    """One entry of an attribution's history: what changed and why."""

    speaker_id: int
    person_before: str | None
    tier_before: Tier | None
    person_after: str | None
    tier_after: Tier | None
    score: float | None
    reason: str
    at: str


@dataclass(frozen=True)
class Stretch:
    """A representative stretch of an episode speaker: where to listen, and what they say there."""

    speaker_id: int
    episode_id: int
    podcast: str
    episode_title: str
    published: dt.date | None
    label: str
    start: float
    end: float
    quote: str
