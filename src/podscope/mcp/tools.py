"""The MCP tools: each one small function over the library, registered with `@tool`.

    @tool("Search transcripts")
    def search(ctx: Context, query: Annotated[str, Field(description="...")]) -> SearchAnswer:
        granted = access(ctx)                 # the library, deep links, whether changes are allowed
        return ...                            # a pydantic model: the tool's output schema

A tool's parameters (typed, with descriptions) become its input schema and its return type its output schema; its
docstring is the description an assistant reads, so it says what the tool is for and what comes back. A tool that
changes the library is registered with `admin=True` and asks `access(ctx, change=True)`, which refuses a caller
without an admin key. A library error (an unknown episode, a bad name) reaches the assistant as a tool error with
its one sentence; bad arguments are refused by the SDK against the schema.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeVar

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from podscope.errors import PodscopeError
from podscope.mcp import records as out
from podscope.mcp.access import Access, access
from podscope.people.records import ReviewItem, status_line
from podscope.records import TIERS, Episode, Stretch, Tier
from podscope.search.engine import Hit, SearchMode, SearchOptions, SearchSort

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class ToolSpec:
    fn: Callable[..., Any]
    title: str
    admin: bool  # changes the library: needs an admin key


TOOLS: list[ToolSpec] = []


def tool(title: str, admin: bool = False) -> Callable[[F], F]:
    """Register a tool function; library errors become tool errors with the library's sentence."""

    def register(fn: F) -> F:
        @functools.wraps(fn)
        def answer(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except PodscopeError as exc:
                raise ToolError(str(exc)) from exc

        TOOLS.append(ToolSpec(answer, title, admin))
        return fn

    return register


EpisodeId = Annotated[
    int, Field(ge=1, le=2**53 - 1, description="An episode id (search hits and list_episodes give them).")
]


def _date(value: dt.date | str | None) -> str | None:
    return value.isoformat() if isinstance(value, dt.date) else value


def _brief(granted: Access, e: Episode) -> out.EpisodeBrief:
    return out.EpisodeBrief(
        id=e.id,
        podcast=e.podcast,
        title=e.title,
        published=_date(e.published),
        duration=round(e.duration, 2),
        language=e.language,
        speakers=e.speaker_count,
        segments=e.segment_count,
        link=granted.link(e.id),
    )


def _heard(granted: Access, s: Stretch) -> out.HeardAt:
    return out.HeardAt(
        episode_id=s.episode_id,
        episode=s.episode_title,
        podcast=s.podcast,
        label=s.label,
        start=round(s.start, 2),
        end=round(s.end, 2),
        quote=s.quote,
        link=granted.link(s.episode_id, s.start),
    )


# -- reading ---------------------------------------------------------------------------------------------------------


def _hit(granted: Access, h: Hit) -> out.SearchHit:
    def lines(side: tuple[Any, ...]) -> list[out.Line]:
        return [
            out.Line(start=x.start, end=x.end, speaker=x.speaker, text=x.text, link=granted.link(h.episode_id, x.start))
            for x in side
        ]

    return out.SearchHit(
        episode_id=h.episode_id,
        episode=h.episode,
        podcast=h.podcast,
        published=_date(h.published),
        speaker=h.speaker,
        person=h.person,
        tier=h.tier,
        label=h.label,
        start=round(h.start, 2),
        end=round(h.end, 2),
        text=h.text,
        score=round(h.score, 4),
        link=granted.link(h.episode_id, h.start),
        before=lines(h.before),
        after=lines(h.after),
    )


@tool("Search what was said")
def search(
    ctx: Context,
    query: Annotated[
        str,
        Field(
            description='Words or a question. Text syntax: "exact phrase", AND / OR / NOT (upper case), -exclude,'
            " prefix*; semantic mode reads the words as meaning."
        ),
    ],
    mode: Annotated[
        SearchMode, Field(description="hybrid: words and meaning (default); text: exact words; semantic: meaning.")
    ] = "hybrid",
    speaker: Annotated[str | None, Field(description="Only lines of this person ('any': anyone named).")] = None,
    podcast: Annotated[str | None, Field(description="Only this podcast (its title).")] = None,
    since: Annotated[dt.date | None, Field(description="Published on or after this date (YYYY-MM-DD).")] = None,
    until: Annotated[dt.date | None, Field(description="Published on or before this date (YYYY-MM-DD).")] = None,
    min_tier: Annotated[
        Tier,
        Field(
            description="The least certain voice attribution that names a speaker and that `speaker` filters on:"
            " confirmed (a human) > verified > matched (default) > low."
        ),
    ] = "matched",
    language: Annotated[str | None, Field(description="Only episodes in this language (en, de, pt-BR, ...).")] = None,
    sort: Annotated[SearchSort, Field(description="relevance (default) or date (newest first).")] = "relevance",
    limit: Annotated[int, Field(ge=1, le=50, description="Hits to return (1-50).")] = 10,
    offset: Annotated[int, Field(ge=0, le=10_000, description="Hits to skip, for the next page.")] = 0,
    context: Annotated[
        int, Field(ge=0, le=5, description="Neighbouring segments to add before and after each hit.")
    ] = 0,
) -> out.SearchAnswer:
    """Find who said what, when, across every episode in the library: each hit is a line of transcript with its
    podcast, episode, speaker (a named person or an anonymous label), start and end seconds, and `link`, the web
    address of that moment to cite. Filters narrow by speaker, podcast, publication dates, attribution tier and
    language."""
    granted = access(ctx)
    options = SearchOptions(
        mode=mode,
        speaker=speaker,
        podcast=podcast,
        since=since,
        until=until,
        min_tier=min_tier,
        language=language,
        sort=sort,
        limit=limit,
        offset=offset,
        context=context,
    )
    result = granted.lib.search.search(query, options)
    return out.SearchAnswer(
        query=result.query,
        mode=result.mode,
        total=result.total,
        offset=result.offset,
        hits=[_hit(granted, h) for h in result.hits],
        facets=result.facets,
        notice=result.notice,
    )


@tool("List episodes")
def list_episodes(
    ctx: Context, podcast: Annotated[str | None, Field(description="Only this podcast (its title).")] = None
) -> out.EpisodeList:
    """The episodes in the library (id, podcast, title, date, duration, speakers), by podcast and date: the ids the
    other tools take."""
    granted = access(ctx)
    return out.EpisodeList(episodes=[_brief(granted, e) for e in granted.lib.episodes(podcast)])


@tool("Read part of a transcript")
def read_transcript(
    ctx: Context,
    episode_id: EpisodeId,
    start: Annotated[float, Field(ge=0, description="From this second (default: the beginning).")] = 0.0,
    end: Annotated[float | None, Field(ge=0, description="Up to this second (default: the end).")] = None,
    max_segments: Annotated[int, Field(ge=1, le=500, description="At most this many segments (1-500).")] = 100,
) -> out.TranscriptRange:
    """The transcript of an episode between two seconds: each segment with its speaker (the person's name where a
    voice is attributed at matched or better, else the anonymous label), its times and a link to that moment. Use it
    to read around a search hit; `more` says the range went on past the last segment returned."""
    granted = access(ctx)
    if end is not None and end < start:
        raise ToolError(f"end {end} is before start {start}: expected end >= start")
    stored = granted.lib.transcript(episode_id)
    names = granted.lib.speaker_names(episode_id)
    stop = end if end is not None else float("inf")
    inside = [s for s in stored.segments if s.end > start and s.start < stop] or [
        s for s in stored.segments if s.start == start
    ]
    return out.TranscriptRange(
        episode=_brief(granted, stored.episode),
        start=start,
        end=end if end is not None else round(stored.episode.duration, 2),
        segments=[
            out.TranscriptLine(
                start=round(s.start, 2),
                end=round(s.end, 2),
                speaker=s.speaker,
                name=names.get(s.speaker, s.speaker) if s.speaker else None,
                text=s.text,
                link=granted.link(episode_id, s.start),
            )
            for s in inside[:max_segments]
        ],
        more=len(inside) > max_segments,
    )


@tool("An episode's speakers")
def episode_speakers(ctx: Context, episode_id: EpisodeId) -> out.EpisodeSpeakers:
    """Who speaks in an episode: each speaker's label, the person it is (and how sure: tier and score), how long
    they talk and a link to their first line; and the people the episode's feed credits."""
    granted = access(ctx)
    lib = granted.lib
    stored = lib.transcript(episode_id)
    attributed = {a.speaker_id: a for a in lib.people.attributions(episode_id=episode_id, tiers=TIERS)}
    names = lib.speaker_names(episode_id)  # the name shown: the person at matched or better
    first: dict[str, float] = {}
    for s in stored.segments:
        if s.speaker is not None and s.speaker not in first:
            first[s.speaker] = s.start
    speakers = []
    for sp in lib.episode_speakers(episode_id):
        a = attributed.get(sp.id)
        speakers.append(
            out.SpeakerOut(
                speaker_id=sp.id,
                label=sp.label,
                name=names.get(sp.label, sp.label),
                person=a.person if a else None,
                tier=a.tier if a else None,
                score=a.score if a else None,
                speaking_seconds=round(sp.speaking_time, 1),
                first_heard=granted.link(episode_id, first[sp.label]) if sp.label in first else None,
            )
        )
    return out.EpisodeSpeakers(
        episode=_brief(granted, stored.episode),
        speakers=speakers,
        credits=[out.CreditOut(name=c.name, role=c.role, group=c.group) for c in lib.credits(episode_id)],
    )


@tool("An episode's chapters and key moments")
def episode_chapters(ctx: Context, episode_id: EpisodeId) -> out.EpisodeChaptersOut:
    """An episode's outline: its chapters (the publisher's when its feed gives them, else where the topic shifts,
    each titled with a phrase said in it) and its key moments (the most central statements, with who said them),
    each with a link to that second. Use it to summarise an episode or to find the part that answers a question."""
    granted = access(ctx)
    found = granted.lib.chapters.episode(episode_id)
    return out.EpisodeChaptersOut(
        episode=_brief(granted, granted.lib.episode(episode_id)),
        source=found.source,
        chapters=[
            out.ChapterOut(start=c.start, end=c.end, title=c.title, link=granted.link(episode_id, c.start))
            for c in found.chapters
        ],
        moments=[
            out.MomentOut(
                start=m.start,
                end=m.end,
                speaker=m.name or m.speaker or "",
                text=m.text,
                chapter=m.chapter,
                link=granted.link(episode_id, m.start),
            )
            for m in found.moments
        ],
    )


@tool("Check a quote")
def quote_check(
    ctx: Context,
    text: Annotated[str, Field(min_length=1, description="The quoted passage, as an article prints it.")],
    speaker: Annotated[str | None, Field(description="Only if this person said it.")] = None,
    podcast: Annotated[str | None, Field(description="Only in this podcast (its title).")] = None,
) -> out.QuoteCheckOut:
    """Did someone really say this? Finds where a quoted passage was said and aligns it word by word: verbatim,
    close (which words changed), paraphrase (the same meaning in other words: a place to listen to, not a
    confirmation) or not found; with who said it, when and a link to the second. Fillers, ellipses and an article's
    punctuation are allowed for."""
    granted = access(ctx)
    found = granted.lib.lineage.quote_check(text, speaker=speaker, podcast=podcast)

    def place(m: Any) -> out.QuotePlace:
        return out.QuotePlace(
            verdict=m.verdict,
            agreement=m.agreement,
            similarity=m.similarity,
            speaker=m.speaker,
            person=m.person,
            episode_id=m.episode_id,
            episode=m.episode,
            podcast=m.podcast,
            published=m.published.isoformat() if m.published else None,
            start=m.start,
            end=m.end,
            said=m.said,
            link=granted.link(m.episode_id, m.start),
        )

    return out.QuoteCheckOut(
        quote=found.quote,
        verdict=found.verdict,
        best=place(found.best) if found.best else None,
        changed=[out.QuoteStep(kind=d.kind, quoted=d.quoted, said=d.said) for d in found.changed],
        others=[place(m) for m in found.others],
    )


@tool("Follow an idea across shows")
def thread(
    ctx: Context,
    topic: Annotated[str, Field(min_length=1, description="The idea, as a query in the search language.")],
    speaker: Annotated[str | None, Field(description="Only statements by this person.")] = None,
    podcast: Annotated[str | None, Field(description="Only this podcast (its title).")] = None,
    since: Annotated[dt.date | None, Field(description="Published on or after this date (YYYY-MM-DD).")] = None,
    until: Annotated[dt.date | None, Field(description="Published on or before this date (YYYY-MM-DD).")] = None,
) -> out.ThreadOut:
    """How an idea travelled: every statement on it in date order, who said it first (overall, per person, per
    show), who echoed whom (a later statement by someone else restating an earlier one) and how each person's view
    moved (their earliest and latest statements and how far apart they are), each with a link to the second."""
    granted = access(ctx)
    found = granted.lib.lineage.thread(topic, speaker=speaker, podcast=podcast, since=since, until=until)

    def said(x: Any) -> out.StatementOut:
        return out.StatementOut(
            segment_id=x.segment_id,
            episode_id=x.episode_id,
            podcast=x.podcast,
            episode=x.episode,
            published=x.published.isoformat() if x.published else None,
            speaker=x.speaker,
            person=x.person,
            start=x.start,
            end=x.end,
            text=x.text,
            relevance=x.relevance,
            link=granted.link(x.episode_id, x.start),
        )

    firsts = found.firsts
    return out.ThreadOut(
        topic=found.topic,
        statements=[said(x) for x in found.statements],
        earliest=said(firsts.earliest) if firsts.earliest else None,
        first_by_person=[out.FirstOut(name=f.name, statement=said(f.statement)) for f in firsts.by_person],
        first_by_show=[out.FirstOut(name=f.name, statement=said(f.statement)) for f in firsts.by_show],
        echoes=[out.EchoOut(source=said(e.source), echo=said(e.echo), similarity=e.similarity) for e in found.echoes],
        views=[
            out.ViewOut(
                person=v.person, count=v.count, earliest=said(v.earliest), latest=said(v.latest), distance=v.distance
            )
            for v in found.people
        ],
    )


@tool("A person's page")
def person(
    ctx: Context,
    name: Annotated[str, Field(min_length=1, description="The person's name (any case).")],
    quotes: Annotated[int, Field(ge=0, le=50, description="How many of their longest lines to include.")] = 5,
) -> out.PersonAnswer:
    """Everything about one person: whether their voice is recognised automatically, every episode they are heard
    in (with the tier of the attribution and their speaking time) and their longest lines with links."""
    granted = access(ctx)
    page = granted.lib.people.show(name, quotes=quotes)
    return out.PersonAnswer(
        name=page.person.name,
        profile=status_line(page.active, page.person),
        profile_active=page.active,
        episodes=page.person.episodes,
        appearances=[
            out.AppearanceOut(
                episode_id=a.episode_id,
                episode=a.episode,
                podcast=a.podcast,
                published=a.published,
                speaker_id=a.speaker_id,
                label=a.label,
                tier=a.tier,
                score=a.score,
                speaking_seconds=round(a.speaking_time, 1),
                link=granted.link(a.episode_id),
            )
            for a in page.appearances
        ],
        quotes=[
            out.QuoteOut(
                episode_id=q.episode_id,
                episode=q.episode,
                podcast=q.podcast,
                published=q.published,
                start=round(q.start, 2),
                end=round(q.end, 2),
                text=q.text,
                link=granted.link(q.episode_id, q.start),
            )
            for q in page.quotes
        ],
    )


@tool("Recurring unknown voices")
def unknown_voices(ctx: Context) -> out.UnknownVoices:
    """Voices heard in two or more episodes that match nobody yet, with where to listen to each and the people the
    feeds credit in those episodes (likely names). An admin can name one with name_unknown_voice."""
    granted = access(ctx)
    return out.UnknownVoices(
        voices=[
            out.UnknownVoiceOut(
                id=v.id,
                episodes=list(v.episodes),
                seconds=v.seconds,
                heard_at=_heard(granted, v.stretch),
                suggestions=list(v.suggestions),
            )
            for v in granted.lib.people.unknown()
        ]
    )


def _review_item(granted: Access, item: ReviewItem) -> out.ReviewItemOut:
    a = item.attribution
    return out.ReviewItemOut(
        speaker_id=a.speaker_id, person=a.person, tier=a.tier, score=a.score, heard_at=_heard(granted, item.stretch)
    )


@tool("Attributions waiting for review")
def review_queue(
    ctx: Context,
    tier: Annotated[
        Literal["matched", "low", "verified"],
        Field(description="matched (default: matched and held-back ones), low or verified."),
    ] = "matched",
    limit: Annotated[int, Field(ge=1, le=200, description="At most this many, most uncertain first.")] = 20,
) -> out.ReviewQueue:
    """Machine voice attributions a human has not confirmed, most uncertain first: who the voice is thought to be,
    the score, and a stretch to listen to. An admin confirms one with confirm_attribution."""
    granted = access(ctx)
    return out.ReviewQueue(items=[_review_item(granted, i) for i in granted.lib.people.review(tier)[:limit]])


@tool("Library statistics")
def library_stats(ctx: Context) -> out.LibraryStats:
    """What the library holds: its podcasts with their episode counts, rows per kind (episodes, speakers, segments,
    ...), named people and hours of episodes."""
    granted = access(ctx)
    lib = granted.lib
    return out.LibraryStats(
        podcasts=[out.PodcastOut(id=p.id, title=p.title, episodes=p.episode_count) for p in lib.podcasts()],
        counts=lib.counts(),
        people=len(lib.people.roster()),
        hours=round(sum(e.duration for e in lib.episodes()) / 3600, 2),
    )


# -- changing (an admin key) -----------------------------------------------------------------------------------------


def _changed(done: str, changes: list[Any]) -> out.Changed:
    return out.Changed(
        done=done,
        changes=[
            out.ChangeOut(
                speaker_id=c.speaker_id, episode_id=c.episode_id, label=c.label, before=c.before, after=c.after
            )
            for c in changes
        ],
    )


SpeakerId = Annotated[int, Field(ge=1, le=2**53 - 1, description="The attribution's id (speaker_id in review_queue).")]


@tool("Confirm a voice attribution", admin=True)
def confirm_attribution(ctx: Context, speaker_id: SpeakerId) -> out.Changed:
    """Say a machine attribution is right (needs an admin key): it becomes `confirmed` and teaches the person's voice
    profile, so other episodes may be matched again."""
    lib = access(ctx, change=True).lib
    attribution = lib.people.attribution(speaker_id)
    changes = lib.people.confirm(speaker_id)
    return _changed(f"speaker {speaker_id} confirmed as {attribution.person if attribution else 'nobody'}", changes)


@tool("Reject a voice attribution", admin=True)
def reject_attribution(ctx: Context, speaker_id: SpeakerId) -> out.Changed:
    """Say a machine attribution is wrong (needs an admin key): remembered for good, and the speaker is matched
    again against the other voice profiles."""
    lib = access(ctx, change=True).lib
    return _changed(f"attribution of speaker {speaker_id} rejected", lib.people.reject(speaker_id))


@tool("Name an episode speaker", admin=True)
def name_speaker(
    ctx: Context,
    episode_id: EpisodeId,
    label: Annotated[str, Field(min_length=1, description="The speaker's label in that episode (SPEAKER_00, ...).")],
    name: Annotated[str, Field(min_length=1, description="Who it is (a new person is created when needed).")],
) -> out.Changed:
    """Say who an episode's speaker is (needs an admin key): a human decision that also teaches the person's voice
    profile."""
    lib = access(ctx, change=True).lib
    changes = lib.people.assign(episode_id, label, name)
    return _changed(f"{label} of episode {episode_id} is now {name.strip()}", changes)


@tool("Name a recurring unknown voice", admin=True)
def name_unknown_voice(
    ctx: Context,
    unknown_id: Annotated[str, Field(min_length=1, description="The voice's id from unknown_voices (U...).")],
    name: Annotated[str, Field(min_length=1, description="Who it is (a new person is created when needed).")],
) -> out.Changed:
    """Name a recurring unknown voice (needs an admin key): every one of its appearances becomes that person."""
    lib = access(ctx, change=True).lib
    changes = lib.people.enroll_unknown(name, unknown_id)
    return _changed(f"unknown voice {unknown_id} is now {name.strip()}", changes)
