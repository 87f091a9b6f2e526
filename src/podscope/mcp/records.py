"""What the MCP tools answer: pydantic models the SDK turns into each tool's output schema.

Every moment an assistant may cite carries `link`, the web address of the episode page at that second
(`{base}/episodes/{id}#t={seconds}`, as the search page and person pages link), so an answer can point at it.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

LINK = "The web page of the episode at this second (the player seeks there): cite it."


class Line(BaseModel):
    """A neighbouring segment shown for context."""

    start: float
    end: float
    speaker: str
    text: str
    link: str = Field(description=LINK)


class SearchHit(BaseModel):
    episode_id: int
    episode: str = Field(description="The episode's title.")
    podcast: str
    published: str | None = Field(description="Publication date, YYYY-MM-DD.")
    speaker: str = Field(
        description="The person when attributed at the tier asked or better, else the anonymous label."
    )
    person: str | None = Field(description="The attributed person, or null.")
    tier: str | None = Field(description="How sure the voice attribution is: confirmed, verified, matched or low.")
    label: str | None = Field(description="The episode's anonymous speaker label (SPEAKER_00, ...).")
    start: float = Field(description="Seconds from the start of the episode.")
    end: float
    text: str
    score: float
    link: str = Field(description=LINK)
    before: list[Line] = Field(default_factory=list)
    after: list[Line] = Field(default_factory=list)


class SearchAnswer(BaseModel):
    query: str
    mode: str
    total: int = Field(description="Matches (text mode) or candidates (semantic, hybrid) passing the filters.")
    offset: int
    hits: list[SearchHit]
    facets: dict[str, dict[str, int]] = Field(description="Counts by speaker, podcast and year.")
    notice: str | None = Field(description="Why the query's syntax could not be read, when it could not.")


class EpisodeBrief(BaseModel):
    id: int
    podcast: str
    title: str
    published: str | None = Field(description="YYYY-MM-DD, or null.")
    duration: float = Field(description="Seconds.")
    language: str | None
    speakers: int
    segments: int
    link: str = Field(description="The episode's web page.")


class EpisodeList(BaseModel):
    episodes: list[EpisodeBrief]


class TranscriptLine(BaseModel):
    start: float
    end: float
    speaker: str | None = Field(description="The anonymous label (SPEAKER_00, ...), or null.")
    name: str | None = Field(description="The person when attributed at matched or better, else the label.")
    text: str
    link: str = Field(description=LINK)


class TranscriptRange(BaseModel):
    episode: EpisodeBrief
    start: float = Field(description="The range asked for, in seconds.")
    end: float
    segments: list[TranscriptLine] = Field(description="The segments overlapping the range, by start.")
    more: bool = Field(description="Whether more segments of the range were left out (ask from the last end on).")


class SpeakerOut(BaseModel):
    speaker_id: int = Field(description="The episode speaker's id: the id an attribution is confirmed by.")
    label: str
    name: str = Field(description="The person at tier matched or better, else the label.")
    person: str | None = Field(description="The attributed person at any tier (low included), or null.")
    tier: str | None
    score: float | None
    speaking_seconds: float
    first_heard: str | None = Field(description="Link to the speaker's first line, when they have one.")


class CreditOut(BaseModel):
    name: str
    role: str
    group: str


class EpisodeSpeakers(BaseModel):
    episode: EpisodeBrief
    speakers: list[SpeakerOut]
    credits: list[CreditOut] = Field(description="People the episode's feed credits (podcast:person).")


class ChapterOut(BaseModel):
    start: float = Field(description="Seconds from the start of the episode.")
    end: float | None
    title: str = Field(description="A phrase said in the chapter (podscope's), or the publisher's title.")
    link: str = Field(description=LINK)


class MomentOut(BaseModel):
    start: float
    end: float
    speaker: str = Field(description="The person at tier matched or better, else the anonymous label.")
    text: str
    chapter: int = Field(description="The index of the chapter it is the centre of.")
    link: str = Field(description=LINK)


class EpisodeChaptersOut(BaseModel):
    episode: EpisodeBrief
    source: str = Field(description="publisher: the feed's chapters file; computed: where the topic shifts.")
    chapters: list[ChapterOut]
    moments: list[MomentOut] = Field(description="The episode's most central statements, one per chapter at most.")


class AppearanceOut(BaseModel):
    episode_id: int
    episode: str
    podcast: str
    published: str | None
    speaker_id: int
    label: str
    tier: str
    score: float | None
    speaking_seconds: float
    link: str = Field(description="The episode's web page.")


class QuoteOut(BaseModel):
    episode_id: int
    episode: str
    podcast: str
    published: str | None
    start: float
    end: float
    text: str
    link: str = Field(description=LINK)


class PersonAnswer(BaseModel):
    name: str
    profile: str = Field(description="The voice-profile status, in words.")
    profile_active: bool
    episodes: int = Field(description="Episodes the person is heard in at matched or better.")
    appearances: list[AppearanceOut]
    quotes: list[QuoteOut] = Field(description="Their longest lines.")


class HeardAt(BaseModel):
    episode_id: int
    episode: str
    podcast: str
    label: str
    start: float
    end: float
    quote: str
    link: str = Field(description=LINK)


class UnknownVoiceOut(BaseModel):
    id: str = Field(description="The voice's id (U...), to name it with name_unknown_voice.")
    episodes: list[int]
    seconds: float = Field(description="Speaking time over all its appearances.")
    heard_at: HeardAt = Field(description="A representative stretch to listen to.")
    suggestions: list[str] = Field(description="People credited in its episodes and not yet heard there.")


class UnknownVoices(BaseModel):
    voices: list[UnknownVoiceOut]


class ReviewItemOut(BaseModel):
    speaker_id: int = Field(description="The attribution's id (confirm_attribution takes it).")
    person: str
    tier: str
    score: float | None
    heard_at: HeardAt


class ReviewQueue(BaseModel):
    items: list[ReviewItemOut]


class PodcastOut(BaseModel):
    id: int
    title: str
    episodes: int


class LibraryStats(BaseModel):
    podcasts: list[PodcastOut]
    counts: dict[str, int] = Field(description="Rows per kind: podcasts, episodes, speakers, segments, ...")
    people: int = Field(description="Named people.")
    hours: float = Field(description="Hours of episodes held.")


class ChangeOut(BaseModel):
    speaker_id: int
    episode_id: int
    label: str
    before: str | None
    after: str | None


class Changed(BaseModel):
    done: str = Field(description="What was done, in words.")
    changes: list[ChangeOut] = Field(description="Other attributions the re-score that followed changed.")


class QuoteStep(BaseModel):
    kind: str = Field(
        description="equal, replace (other words), delete (words nobody said), insert (words left out), gap."
    )
    quoted: str
    said: str


class QuotePlace(BaseModel):
    verdict: str
    agreement: float = Field(description="Word agreement of the quote and what was said there, 0-1.")
    similarity: float = Field(description="Similarity of meaning, 0-1.")
    speaker: str
    person: str | None
    episode_id: int
    episode: str
    podcast: str
    published: str | None
    start: float
    end: float
    said: str = Field(description="What was actually said over the matched span.")
    link: str = Field(description=LINK)


class QuoteCheckOut(BaseModel):
    quote: str
    verdict: str = Field(description="verbatim, close (words changed: see `changed`), paraphrase, or not found.")
    best: QuotePlace | None
    changed: list[QuoteStep] = Field(description="What the quote altered at the best place.")
    others: list[QuotePlace] = Field(description="Other places that hold the quote.")


class StatementOut(BaseModel):
    segment_id: int
    episode_id: int
    podcast: str
    episode: str
    published: str | None
    speaker: str
    person: str | None
    start: float
    end: float
    text: str
    relevance: float
    link: str = Field(description=LINK)


class EchoOut(BaseModel):
    source: StatementOut = Field(description="The earlier statement.")
    echo: StatementOut = Field(description="A later statement by someone else that restates it.")
    similarity: float


class FirstOut(BaseModel):
    name: str = Field(description="The person or the show.")
    statement: StatementOut


class ViewOut(BaseModel):
    person: str
    count: int
    earliest: StatementOut
    latest: StatementOut
    distance: float = Field(description="How far apart in meaning the earliest and latest are (0: the same).")


class ThreadOut(BaseModel):
    topic: str
    statements: list[StatementOut] = Field(description="Every statement on the topic, in date order.")
    earliest: StatementOut | None = Field(description="Who said it first in the library.")
    first_by_person: list[FirstOut]
    first_by_show: list[FirstOut]
    echoes: list[EchoOut]
    views: list[ViewOut] = Field(description="Per person, how their view moved.")
