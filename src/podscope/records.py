"""The typed records of podscope and its vocabulary: what flows between the pipeline stages, what the store hands
out (episodes, people, feeds, keys, quiz answers, search rows) and the Literal types for tiers, statuses and levels.

Every stage is a function from records to records; only the store turns them into rows and back. Times are seconds
from the start of the episode's audio, as floats.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

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
JobStatus = Literal["queued", "running", "done", "failed", "cancelled"]  # a background job's state (podscope.jobs)
JOB_STATUSES: tuple[JobStatus, ...] = get_args(JobStatus)
JobKind = Literal["upload", "sync", "rescore"]  # a recording to process, feeds to sync, the voices to score again
JOB_KINDS: tuple[JobKind, ...] = get_args(JobKind)
JobHold = Literal["held", "cancel", "lost"]  # a worker's answer from the store: go on, stop (asked to), stop (not ours)
QuizLevel = Literal["easy", "medium", "hard"]
QUIZ_LEVELS: tuple[QuizLevel, ...] = get_args(QuizLevel)
QuestionKind = Literal["gap", "who"]  # a word cut from what was said; who said a line
QUESTION_KINDS: tuple[QuestionKind, ...] = get_args(QuestionKind)
ItemStatus = Literal["pending", "done", "failed", "skipped"]  # a feed item's processing
ExemplarOrigin = Literal["enrolled", "confirmed", "assigned", "named", "verified"]  # how a voice sample was learnt

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
    origin: ExemplarOrigin
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


# -- what the store hands out beyond episodes and people ----------------------------------------------------------


@dataclass(frozen=True)
class Credit:
    """A person credited on an episode by its feed (`podcast:person`): name, role and group."""

    name: str
    role: str
    group: str


@dataclass(frozen=True)
class Chapter:
    """A chapter of an episode: where it starts (seconds), its title, and, from a publisher's chapters file, where
    it ends, a link and an image. `toc` False: a publisher's chapter that is not for a table of contents."""

    start: float
    title: str
    end: float | None = None
    url: str | None = None
    img: str | None = None
    toc: bool = True


@dataclass(frozen=True)
class CastMember:
    """A person on a podcast: heard on it (attributed at `matched` or better) and/or credited by its feed."""

    name: str
    episodes: int  # episodes they are heard in
    seconds: float  # their speaking time over those episodes
    tier: Tier | None  # the strongest tier they are heard at; None when only credited
    roles: tuple[str, ...]  # the roles the feed credits them with (host, guest...), sorted


@dataclass(frozen=True)
class Appearance:
    """One attributed episode speaker of a person, for their page."""

    speaker_id: int
    tier: Tier
    score: float | None
    label: str
    speaking_time: float
    episode_id: int
    episode: str
    published: str | None  # ISO date
    podcast: str


@dataclass(frozen=True)
class Quote:
    """One of a person's lines, with where it is."""

    episode_id: int
    episode: str
    podcast: str
    published: str | None  # ISO date
    start: float
    end: float
    text: str


@dataclass(frozen=True)
class FollowedFeed:
    """A followed feed with its item counts."""

    id: int
    url: str
    podcast_id: int | None
    podcast: str | None
    title: str
    podcast_guid: str | None
    etag: str | None
    last_modified: str | None
    blocked: bool
    checked_at: str | None
    error: str | None
    created_at: str
    language: str | None  # the channel's <language> as declared ("en-us")
    language_set: str | None  # the one the user set (Whisper's code)
    items: int
    pending: int
    done: int
    failed: int

    def to_dict(self) -> dict[str, Any]:
        """As `feeds list --json` and GET /api/feeds show it."""
        return {
            "id": self.id,
            "url": self.url,
            "podcast": self.podcast,
            "items": self.items,
            "pending": self.pending,
            "done": self.done,
            "failed": self.failed,
            "blocked": self.blocked,
            "language_declared": self.language,
            "language_set": self.language_set,
            "checked_at": self.checked_at,
            "error": self.error,
        }


@dataclass(frozen=True)
class NewItem:
    """A feed item to record: its key and what sync needs to fetch it."""

    key: str
    title: str
    published: str | None  # ISO date
    enclosure_url: str | None
    enclosure_type: str | None
    transcripts: list[dict[str, str]]  # [{"url", "type", "language"}]
    persons: list[dict[str, str]]  # [{"name", "role", "group", "href", "img"}]
    description: str = ""
    chapters: tuple[dict[str, str], ...] = ()  # the chapters files it links to: [{"url", "type"}]


@dataclass(frozen=True)
class FollowedItem:
    """A feed item as recorded; items waiting to be processed also carry their feed's URL, languages and podcast."""

    id: int
    feed_id: int
    key: str
    episode_id: int | None
    title: str
    published: str | None  # ISO date
    enclosure_url: str | None
    enclosure_type: str | None
    transcripts: list[dict[str, str]]
    persons: list[dict[str, str]]
    status: ItemStatus
    attempts: int
    error: str | None
    feed_url: str | None = None
    feed_language: str | None = None
    feed_language_set: str | None = None
    podcast: str | None = None
    chapters: tuple[dict[str, str], ...] = ()  # the chapters files it links to: [{"url", "type"}]


KeyScope = Literal["read", "admin"]  # admin includes read
KEY_SCOPES: tuple[KeyScope, ...] = get_args(KeyScope)


@dataclass(frozen=True)
class ApiKey:
    """An API key as stored (never the key itself)."""

    id: int
    name: str
    scope: KeyScope
    prefix: str  # "psk_AbCdEfGh": the key's first characters, to recognise it
    created_at: str
    last_used_at: str | None
    revoked_at: str | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True)
class Job:
    """A stored background job: what to do (`kind`, `parameters`), how far it got (`stage`, `progress` 0-1 within the
    stage) and how it ended (`episode_id`, `created`, `result`, or `error`). `input_path` is the file it holds in the
    home until it ends (an upload); `node` the host and home that may run it (where that file is; None: anywhere);
    `claimed_by` the worker running it (host:pid:token) and `heartbeat_at` when that worker last said it was alive."""

    id: str
    kind: JobKind
    status: JobStatus
    parameters: dict[str, Any]
    stage: str | None
    progress: float | None
    episode_id: int | None
    created: bool | None  # for uploads: False when the recording was already in the library
    error: str | None
    result: dict[str, Any]
    cancel_requested: bool
    attempts: int  # how many times a worker started it
    input_path: str | None
    node: str | None
    claimed_by: str | None
    heartbeat_at: str | None
    queued_at: str
    started_at: str | None
    finished_at: str | None

    @property
    def active(self) -> bool:
        return self.status in ("queued", "running")


@dataclass(frozen=True)
class QuizAttempt:
    """One answer a learner gave, as stored."""

    id: int
    learner: str
    episode_id: int
    seed: int
    level: str
    question_id: str
    kind: QuestionKind
    chosen: int
    chosen_text: str
    answer_text: str
    correct: bool
    at: str  # UTC, ISO 8601


@dataclass(frozen=True)
class SearchFilters:
    """What a search is restricted to. `speaker` is a person's name, or "any" for any named person."""

    speaker: str | None = None
    podcast: str | None = None
    since: dt.date | None = None
    until: dt.date | None = None
    min_tier: Tier = "matched"  # attributions below this tier are shown as anonymous labels and not filtered on
    language: str | None = None

    @property
    def any(self) -> bool:
        return any(x is not None for x in (self.speaker, self.podcast, self.since, self.until, self.language))

    @property
    def tiers(self) -> tuple[str, ...]:
        return TIERS[: TIERS.index(self.min_tier) + 1]


@dataclass(frozen=True)
class FacetCount:
    """How many matching segments have one value of one facet: their speaker's person ("speaker"; None when the
    speaker is unnamed at the filters' tiers), their podcast, or their episode's year (None when undated)."""

    facet: Literal["speaker", "podcast", "year"]
    value: str | None
    n: int


@dataclass(frozen=True)
class TextPage:
    """One page of full-text matches and what a result shows beside it."""

    page: list[tuple[int, float]]  # (segment id, score: lower is better)
    total: int  # matches that pass the filters
    facets: list[FacetCount]
    step: int  # the facets counted every step-th match (by id) when very many match; 1: exact


@dataclass(frozen=True)
class SegmentRow:
    """A stored segment with its speaker's attribution and its episode: what a search hit shows."""

    id: int
    start: float
    end: float
    text: str
    label: str | None
    person: str | None
    tier: str | None
    episode_id: int = 0
    score: float | None = None
    episode: str = ""
    published: str | None = None
    language: str | None = None
    podcast: str = ""


# -- upkeep: what the store tells a check and a backup (the reports themselves are in podscope.upkeep) -----------------


@dataclass(frozen=True)
class Orphans:
    """Rows of `table` whose `column` names a row of `parent` that is gone."""

    table: str
    column: str
    parent: str
    count: int


@dataclass(frozen=True)
class TextIndexState:
    """The full-text index against the segments: entries, segments, segments it lacks, entries of segments gone, and
    what the engine's own check of the index found."""

    indexed: int
    segments: int
    missing: int
    extra: int
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class Snapshot:
    """A consistent copy of the store taken for a backup: row counts and the recordings its episodes name."""

    counts: dict[str, int]
    sources: tuple[str, ...]
