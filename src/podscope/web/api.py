"""The JSON API under /api: a thin shell over the library, like the CLI (OpenAPI: /api/openapi.json, docs: /api/docs).

    GET  /api/search?q=...                    the complete search result (hits, highlights, context, facets)
    GET  /api/podcasts[/{id}]  /api/episodes[/{id}]  /api/episodes/{id}/transcript?format=  /api/episodes/{id}/audio
    GET  /api/people[/{name}]  /api/people/unknown  /api/review?tier=  /api/feeds  /api/jobs/{id}
    POST/DELETE ...                           changes: admin only (see `podscope.web.auth`)

Why it looks like this:
- Each route parses its parameters, calls the library, and returns typed records (the library's dataclasses, or the
  models below where the library hands out dicts), so the OpenAPI document describes every answer.
- No route handles a library error: `podscope.web.app` maps them to `{"error", "status"}` in one place. Parameters the
  framework cannot parse become `InputError` too (`_Route`), so a bad query answers 400 with one sentence, like the
  CLI, rather than FastAPI's 422 structure.
- Work that takes minutes (processing an upload, syncing feeds) is queued as a job (`podscope.web.jobs`) and answered
  with 202 and the job's address.
- The audio route serves a recording only from the home's media folders, or the very file the episode was added from;
  a path that now resolves anywhere else (a symlink swapped in) is refused. Range requests are served by Starlette's
  `FileResponse`; a Range it cannot satisfy is answered here, as JSON, with 416.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import mimetypes
import os
import re
import threading
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import asdict
from pathlib import Path
from typing import IO, Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from podscope import audio, formats
from podscope.errors import InputError, NotFound
from podscope.feeds.fetch import safe_filename
from podscope.feeds.follow import AddedFeed
from podscope.library import Library, parse_published
from podscope.people import Change, PersonPage, ReviewItem, UnknownVoice, exemplar_dict, review_dict
from podscope.quiz import Quiz
from podscope.records import SHOWN_TIERS, TIERS, Attribution, Episode, Person, Podcast
from podscope.search.engine import MODES, SORTS, SearchResult, options_from
from podscope.web.auth import require_admin, require_read
from podscope.web.jobs import Job, Jobs

MEDIA_FOLDERS = ("samples", "downloads", "uploads")  # where the home keeps recordings
RANGE_SPEC = re.compile(r"^\s*(\d*)\s*-\s*(\d*)\s*$")
MAX_RANGES = 100  # Starlette's own limit
FORM_OVERHEAD = 64 * 1024  # multipart boundaries and the other fields, beyond the file itself
# Media types of the recordings podscope accepts; anything else (a transcript an episode was imported from) is not
# served as audio.
AUDIO_TYPES = {
    ".mp3": "audio/mpeg",
    ".m4a": "audio/mp4",
    ".m4b": "audio/mp4",
    ".aac": "audio/aac",
    ".ogg": "audio/ogg",
    ".oga": "audio/ogg",
    ".opus": "audio/ogg",
    ".flac": "audio/flac",
    ".wav": "audio/wav",
    ".aif": "audio/aiff",
    ".aiff": "audio/aiff",
    ".mp4": "video/mp4",
    ".m4v": "video/mp4",
    ".mov": "video/quicktime",
    ".webm": "video/webm",
    ".mkv": "video/x-matroska",
}


class ErrorBody(BaseModel):
    """Every error answer (library errors, bad parameters, refusals)."""

    error: str = Field(description="One sentence: what was wrong and what was expected.")
    status: int


class _Route(APIRoute):
    """Parameters the framework cannot parse become `InputError`, which the app answers like any bad input (400)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                raise InputError(_invalid(exc)) from None

        return route


def _invalid(exc: RequestValidationError) -> str:
    """'query parameter limit: Input should be a valid integer (got 'x')' for each problem."""
    parts = []
    for error in exc.errors():
        if error.get("type") == "json_invalid":
            parts.append(f"the request body is not valid JSON ({error.get('ctx', {}).get('error', 'unreadable')})")
            continue
        where, *names = [str(x) for x in error.get("loc", ())] or ["request"]
        name = ".".join(names)
        place = f"field {name}" if where == "body" and name else f"{where} parameter {name}" if name else where
        if place == "body" and error.get("type") == "missing":
            parts.append("the request needs a JSON body")
            continue
        value = error.get("input")
        shown = f" (got {value!r})" if isinstance(value, str | int | float) and len(repr(value)) <= 80 else ""
        parts.append(f"{place}: {error.get('msg', 'invalid')}{shown}")
    return "; ".join(parts) or "the request could not be read"


ERRORS: dict[int | str, dict[str, Any]] = {
    "4XX": {
        "model": ErrorBody,
        "description": "400 bad input, 401 a key is needed or the key is unknown or revoked, 403 a read key on a"
        " change (or a recording outside the library), 404 not found, 411/413 upload without a length or too large,"
        " 416 a Range that cannot be served, 429 too many requests (see Retry-After).",
    }
}
router = APIRouter(prefix="/api", route_class=_Route, responses=ERRORS)
READ = [Depends(require_read)]
ADMIN = [Depends(require_admin)]


def _lib(request: Request) -> Library:
    lib: Library = request.app.state.lib
    return lib


_jobs_lock = threading.Lock()


def _jobs(request: Request) -> Jobs:
    state = request.app.state
    with _jobs_lock:
        if getattr(state, "jobs", None) is None:
            state.jobs = Jobs(_lib(request))
        jobs: Jobs = state.jobs
    return jobs


# -- models: the shapes the library hands out as dicts or rows ---------------------------------------------------------


class Health(BaseModel):
    home: str
    counts: dict[str, int]


class SpeakerOut(BaseModel):
    """An episode speaker: its anonymous label, and who it is when a voice profile or a human says so."""

    id: int = Field(description="The episode speaker's id (also the id of its attribution in the review queue).")
    label: str
    name: str = Field(description="The person at tier matched or better, else the label.")
    person: str | None = Field(description="The attributed person at any tier (low included).")
    tier: str | None = Field(description="confirmed | verified | matched | low, or null when nobody.")
    score: float | None
    held: str | None = Field(description="Why a score above the publication threshold was held back to low.")
    speaking_time: float
    voiceprint: bool = Field(description="Whether the speaker's voiceprint is kept (it can be enrolled from).")


class Credit(BaseModel):
    name: str
    role: str
    group: str


class TurnOut(BaseModel):
    """A stretch of time in which one speaker talks, with or without recognised words in it."""

    start: float
    end: float
    speaker: str = Field(description="The episode speaker label.")
    name: str = Field(description="The person's name at tier matched or better, else the label.")


class EpisodeDetail(BaseModel):
    episode: Episode
    speakers: list[SpeakerOut]
    turns: list[TurnOut] = Field(
        description="Who spoke when, by start: the diarization turns (turns of different speakers may overlap), or"
        " for an episode without any (a transcript imported without audio), its segments that have a speaker."
    )
    credits: list[Credit]
    audio_url: str | None = Field(description="Where to stream the recording, or null when the library has none.")
    transcript_url: str


class PodcastPerson(BaseModel):
    name: str
    episodes: int
    speaking_seconds: float


class PodcastDetail(BaseModel):
    podcast: Podcast
    episodes: list[Episode]
    people: list[PodcastPerson] = Field(description="People heard on the podcast (tier matched or better).")


class WordOut(BaseModel):
    start: float
    end: float
    text: str
    probability: float


class SegmentOut(BaseModel):
    start: float
    end: float
    speaker: str | None = Field(description="The episode speaker label.")
    name: str | None = Field(description="The person's name at tier matched or better, else the label.")
    text: str
    words: list[WordOut]


class TranscriptOut(BaseModel):
    episode: Episode
    speakers: dict[str, str] = Field(description="Speaker label -> name shown (the label when nobody is named).")
    segments: list[SegmentOut]


class SoundAlike(BaseModel):
    name: str
    score: float


class PersonSummary(BaseModel):
    id: int
    name: str
    created_at: str
    active: bool = Field(description="Whether the voice profile recognises this person automatically.")
    exemplars: int
    flagged: int
    episodes: int
    sounds_like: list[SoundAlike]


class ExemplarOut(BaseModel):
    id: int
    origin: str
    source: str
    seconds: float
    flagged: str | None
    kept: bool
    created_at: str


class ProfileOut(BaseModel):
    active: bool
    status: str
    exemplars: list[ExemplarOut]
    verified_seconds: float
    sounds_like: list[SoundAlike]


class MonthOut(BaseModel):
    month: str = Field(description='"2025-03", or "undated".')
    episodes: int
    seconds: float


class AppearanceOut(BaseModel):
    podcast: str
    episode_id: int
    episode: str
    published: str | None
    speaker: str
    speaker_id: int
    tier: str
    score: float | None
    speaking_seconds: float


class QuoteOut(BaseModel):
    episode_id: int
    episode: str
    podcast: str
    published: str | None
    start: float
    end: float
    text: str


class PersonPageOut(BaseModel):
    name: str
    profile: ProfileOut
    episodes: int
    appearances_by_month: list[MonthOut]
    appearances: list[AppearanceOut]
    quotes: list[QuoteOut]


class Span(BaseModel):
    start: float
    end: float


class ReviewItemOut(BaseModel):
    id: int = Field(description="The attribution's id: POST /api/review/{id}/confirm or /reject.")
    person: str
    tier: str
    score: float | None
    held: str | None
    podcast: str
    episode_id: int
    episode: str
    published: dt.date | None
    speaker: str
    speaking_seconds: float
    listen: Span
    quote: str


class FlaggedExemplarOut(ExemplarOut):
    person: str


class ReviewOut(BaseModel):
    attributions: list[ReviewItemOut]
    flagged_exemplars: list[FlaggedExemplarOut]


class Changes(BaseModel):
    """What a decision changed across the library (every attribution re-scored because of it)."""

    changes: list[Change]
    attribution: Attribution | None = None


class FeedOut(BaseModel):
    id: int
    url: str
    podcast: str | None
    items: int
    pending: int
    done: int
    failed: int
    blocked: bool
    checked_at: str | None
    error: str | None
    language_declared: str | None = Field(None, description="The channel's <language> as the feed writes it.")
    language_set: str | None = Field(None, description="The language set for this podcast (wins over the feed's).")


class FeedRemoved(BaseModel):
    feed_id: int
    pending_dropped: int


class JobOut(BaseModel):
    id: str
    kind: str = Field(description="upload | sync")
    status: str = Field(description="queued | running | done | failed")
    stage: str | None = Field(description="The processing stage under way (decode, transcribe, ...).")
    progress: float | None = Field(description="0-1 within the stage.")
    position: int = Field(description="Jobs running or waiting before this one.")
    episode_id: int | None
    created: bool | None = Field(description="For uploads: false when the recording was already in the library.")
    error: str | None
    result: dict[str, Any]
    queued_at: str
    started_at: str | None
    finished_at: str | None
    url: str

    @classmethod
    def of(cls, job: Job, jobs: Jobs) -> JobOut:
        data = asdict(job)
        return cls(**data, position=jobs.position(job), url=f"/api/jobs/{job.id}")


class AssignBody(BaseModel):
    episode_id: int
    label: str = Field(description="The episode speaker label, e.g. SPEAKER_01.")
    name: str


class RenameBody(BaseModel):
    old: str
    new: str


class MergeBody(BaseModel):
    source: str = Field(description="The name that goes away.")
    target: str = Field(description="The name that stays.")


class EnrollBody(BaseModel):
    """Either an episode speaker (episode_id and label) or a recurring unknown voice (unknown_id)."""

    name: str
    episode_id: int | None = None
    label: str | None = None
    unknown_id: str | None = Field(default=None, description="An id from GET /api/people/unknown, e.g. U42.")


class FeedBody(BaseModel):
    url: str = Field(description="The feed's http(s) URL.")


class SyncBody(BaseModel):
    feed_id: int | None = Field(default=None, description="Only this feed.")
    limit: int | None = Field(default=None, ge=1, description="Process at most this many episodes (newest first).")
    since: dt.date | None = Field(default=None, description="Only episodes published on or after this date.")
    retranscribe: bool = Field(default=False, description="Transcribe even when the publisher provides a transcript.")


# -- health and search ---------------------------------------------------------------------------------------------


@router.get("/health", response_model=Health, dependencies=READ, tags=["library"])
def health(request: Request) -> Health:
    """The library's home and what it holds."""
    lib = _lib(request)
    return Health(home=str(lib.home), counts=lib.store.episodes.counts())


@router.get("/search", response_model=SearchResult, dependencies=READ, tags=["search"])
def search(
    request: Request,
    q: Annotated[str, Query(description='Words, "exact phrase", AND / OR / NOT, -exclude, prefix*, (groups).')],
    speaker: Annotated[str | None, Query(description="Only what this person said ('any': any named person).")] = None,
    podcast: Annotated[str | None, Query(description="Only this podcast.")] = None,
    since: Annotated[dt.date | None, Query(description="Only episodes published on or after this date.")] = None,
    until: Annotated[dt.date | None, Query(description="Only episodes published on or before this date.")] = None,
    mode: Annotated[str, Query(description="How to match.", json_schema_extra={"enum": list(MODES)})] = "hybrid",
    min_tier: Annotated[
        str,
        Query(
            description="Least certain voice attribution to show and filter on.",
            json_schema_extra={"enum": list(TIERS)},
        ),
    ] = "matched",
    language: Annotated[str | None, Query(description="Only episodes in this language (e.g. en).")] = None,
    sort: Annotated[str, Query(json_schema_extra={"enum": list(SORTS)})] = "relevance",
    limit: Annotated[int, Query(ge=1, le=1000, description="Results per page.")] = 10,
    offset: Annotated[int, Query(ge=0, description="Skip this many results (paging).")] = 0,
    context: Annotated[int, Query(ge=0, le=20, description="Segments of context before and after each result.")] = 0,
) -> SearchResult:
    """Find who said what, when: hits with the second to play from, highlights, context, facets and the total."""
    options = options_from(
        {
            "speaker": speaker,
            "podcast": podcast,
            "since": since,
            "until": until,
            "mode": mode,
            "min_tier": min_tier,
            "language": language,
            "sort": sort,
            "limit": limit,
            "offset": offset,
            "context": context,
        }
    )
    return _lib(request).search.search(q, options)


# -- podcasts and episodes -----------------------------------------------------------------------------------------


@router.get("/podcasts", response_model=list[Podcast], dependencies=READ, tags=["episodes"])
def podcasts(request: Request) -> list[Podcast]:
    """Every podcast with its number of episodes."""
    return _lib(request).podcasts()


@router.get("/podcasts/{podcast_id}", response_model=PodcastDetail, dependencies=READ, tags=["episodes"])
def podcast(request: Request, podcast_id: int) -> PodcastDetail:
    """A podcast, its episodes, and the people heard on it."""
    lib = _lib(request)
    found = next((p for p in lib.podcasts() if p.id == podcast_id), None)
    if found is None:
        raise NotFound(f"no podcast with id {podcast_id}; GET /api/podcasts lists them")
    episodes = lib.episodes(found.title)
    ids = {e.id for e in episodes}
    heard: dict[str, tuple[set[int], float]] = {}
    for a in lib.store.people.attributions(tiers=SHOWN_TIERS):
        if a.episode_id in ids:
            seen, seconds = heard.get(a.person, (set(), 0.0))
            heard[a.person] = (seen | {a.episode_id}, seconds + a.speaking_time)
    people = [
        PodcastPerson(name=name, episodes=len(seen), speaking_seconds=round(seconds, 1))
        for name, (seen, seconds) in sorted(heard.items(), key=lambda kv: (-len(kv[1][0]), -kv[1][1], kv[0]))
    ]
    return PodcastDetail(podcast=found, episodes=episodes, people=people)


@router.get("/episodes", response_model=list[Episode], dependencies=READ, tags=["episodes"])
def episodes(
    request: Request, podcast: Annotated[str | None, Query(description="Only this podcast.")] = None
) -> list[Episode]:
    """Every episode (pending ones from feeds included), by podcast and date."""
    return _lib(request).episodes(podcast)


@router.get("/episodes/{episode_id}", response_model=EpisodeDetail, dependencies=READ, tags=["episodes"])
def episode(request: Request, episode_id: int) -> EpisodeDetail:
    """An episode with its speakers (who each one is, how sure, how long they talk), who spoke when, and its
    credits."""
    lib = _lib(request)
    found = lib.store.episodes.get(episode_id)
    names = lib.store.people.speaker_names(episode_id)
    return EpisodeDetail(
        episode=found,
        speakers=_speakers(lib, episode_id),
        turns=[
            TurnOut(
                start=round(t.start, 3), end=round(t.end, 3), speaker=t.speaker, name=names.get(t.speaker, t.speaker)
            )
            for t in lib.timeline(episode_id)
        ],
        credits=[Credit(name=r.name, role=r.role, group=r.group) for r in lib.store.feeds.credits(episode_id)],
        audio_url=f"/api/episodes/{episode_id}/audio" if _has_recording(lib, found) else None,
        transcript_url=f"/api/episodes/{episode_id}/transcript",
    )


def _speakers(lib: Library, episode_id: int) -> list[SpeakerOut]:
    attributed = {a.speaker_id: a for a in lib.store.people.attributions(episode_id=episode_id)}
    out = []
    for s in lib.store.episodes.speakers(episode_id):
        a = attributed.get(s.id)
        out.append(
            SpeakerOut(
                id=s.id,
                label=s.label,
                name=a.person if a is not None and a.tier in SHOWN_TIERS else s.label,
                person=a.person if a else None,
                tier=a.tier if a else None,
                score=a.score if a else None,
                held=a.held if a else None,
                speaking_time=round(s.speaking_time, 2),
                voiceprint=s.embedding is not None,
            )
        )
    return out


TRANSCRIPT_TYPES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Without `format`: the transcript as JSON segments with words and speaker names. With it: the"
        " export in that format and media type.",
        "content": {t.mime_type: {} for t in formats.MEDIA_TYPES.values() if t.mime_type != "application/json"},
    }
}


@router.get(
    "/episodes/{episode_id}/transcript",
    response_model=TranscriptOut,
    responses=TRANSCRIPT_TYPES,
    dependencies=READ,
    tags=["episodes"],
)
def transcript(
    request: Request,
    episode_id: int,
    fmt: Annotated[
        str | None,
        Query(
            alias="format",
            description="An export format; omit it for JSON segments with words.",
            json_schema_extra={"enum": list(formats.FORMATS)},
        ),
    ] = None,
    download: Annotated[bool, Query(description="Ask the browser to save the export as a file.")] = False,
) -> Any:
    """The episode's transcript: JSON segments with word timings and speaker names, or an export (txt, json, srt,
    vtt, rttm, md) in its own media type, with people's names wherever a speaker is attributed at matched or
    better."""
    lib = _lib(request)
    if fmt is None:
        stored = lib.transcript(episode_id)
        names = lib.store.people.speaker_names(episode_id)
        return TranscriptOut(
            episode=stored.episode,
            speakers={s.label: names.get(s.label, s.label) for s in stored.speakers},
            segments=[
                SegmentOut(
                    start=round(s.start, 3),
                    end=round(s.end, 3),
                    speaker=s.speaker,
                    name=names.get(s.speaker, s.speaker) if s.speaker else None,
                    text=s.text,
                    words=[WordOut(start=w.start, end=w.end, text=w.text, probability=w.probability) for w in s.words],
                )
                for s in stored.segments
            ],
        )
    text = lib.export_transcript(episode_id, fmt)
    media = formats.MEDIA_TYPES[fmt.strip().lower().lstrip(".")]
    disposition = "attachment" if download else "inline"
    return Response(
        text,
        media_type=media.content_type,
        headers={"Content-Disposition": f'{disposition}; filename="episode-{episode_id}{media.extension}"'},
    )


@router.delete("/episodes/{episode_id}", response_model=Episode, dependencies=ADMIN, tags=["episodes"])
def delete_episode(request: Request, episode_id: int) -> Episode:
    """Remove an episode and everything derived from it (transcript, speakers, voiceprints, search entries)."""
    return _lib(request).delete_episode(episode_id)


# -- audio ---------------------------------------------------------------------------------------------------------


def _audio_type(path: Path) -> str | None:
    known = AUDIO_TYPES.get(path.suffix.lower())
    if known:
        return known
    guessed = mimetypes.guess_type(path.name)[0]
    return guessed if guessed and guessed.split("/")[0] in ("audio", "video") else None


def _has_recording(lib: Library, episode: Episode) -> bool:
    if not episode.source or _audio_type(Path(episode.source)) is None:
        return False
    path = _servable(lib, Path(episode.source))
    return path is not None and path.is_file()


def _servable(lib: Library, recorded: Path) -> Path | None:
    """The file to serve for a recorded source path: one inside the home's media folders, or exactly the file the
    episode was added from (the library records it resolved); None when it now resolves anywhere else."""
    real = recorded.resolve()
    home = lib.home.resolve()
    if any(real.is_relative_to(home / folder) for folder in MEDIA_FOLDERS) or real == recorded:
        return real
    return None


def _check_range(header: str | None, size: int) -> None:
    """Refuse (416, JSON) a Range that FileResponse could not serve; valid ones it serves itself."""
    if header is None:
        return
    unit, _, specs = header.partition("=")
    matches = [RANGE_SPEC.match(s) for s in specs.split(",")] if unit.strip().lower() == "bytes" else [None]
    ok = 0 < len(matches) <= MAX_RANGES
    for m in matches:
        if m is None or not (m[1] or m[2]):
            ok = False
        elif m[1]:
            ok = ok and int(m[1]) < size and not (m[2] and int(m[2]) < int(m[1]))
        else:
            ok = ok and int(m[2]) > 0 and size > 0
    if not ok:
        raise HTTPException(
            416,
            f"Range {header!r} cannot be served: expected bytes=START-END, bytes=START- or bytes=-LENGTH within the"
            f" recording's {size} bytes",
            headers={"Content-Range": f"bytes */{size}"},
        )


AUDIO_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The whole recording.", "content": {"audio/*": {}, "video/*": {}}},
    206: {"description": "The requested byte range (Range: bytes=START-END, START- or -LENGTH)."},
}


@router.get(
    "/episodes/{episode_id}/audio",
    response_class=FileResponse,
    responses=AUDIO_RESPONSES,
    dependencies=READ,
    tags=["episodes"],
)
@router.head("/episodes/{episode_id}/audio", response_class=FileResponse, dependencies=READ, include_in_schema=False)
def episode_audio(request: Request, episode_id: int) -> FileResponse:
    """The episode's recording, with HTTP Range support so players can seek."""
    lib = _lib(request)
    found = lib.store.episodes.get(episode_id)
    media_type = _audio_type(Path(found.source)) if found.source else None
    if media_type is None:
        raise NotFound(f"episode {episode_id} has no recording in the library (it was imported from a transcript)")
    path = _servable(lib, Path(found.source))
    if path is None:
        raise HTTPException(
            403,
            f"the recording of episode {episode_id} resolves outside the podscope home and is not the file it was"
            " added from; it is not served",
        )
    try:
        stat = path.stat()
    except OSError:
        raise NotFound(f"the recording of episode {episode_id} is no longer on disk") from None
    _check_range(request.headers.get("range"), stat.st_size)
    return FileResponse(
        path,
        media_type=media_type,
        stat_result=stat,
        filename=f"episode-{episode_id}{path.suffix.lower()}",
        content_disposition_type="inline",
    )


# -- uploads and jobs ----------------------------------------------------------------------------------------------

UPLOAD_FORM = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file", "podcast"],
                    "properties": {
                        "file": {"type": "string", "format": "binary", "description": "The recording."},
                        "podcast": {"type": "string", "description": "The podcast (created if new)."},
                        "title": {"type": "string", "description": "The episode's title (default: the file name)."},
                        "published": {"type": "string", "format": "date", "description": "YYYY-MM-DD"},
                    },
                }
            }
        },
    }
}


def _field(form: Any, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _keep_upload(uploads: Path, source: IO[bytes], filename: str, title: str, limit: int) -> Path:
    """Copy an upload into HOME/uploads under a name that cannot leave it, once it proves to be audio."""
    uploads.mkdir(parents=True, exist_ok=True)
    incoming = uploads / f".incoming-{uuid.uuid4().hex}"
    digest = hashlib.sha256()
    size = 0
    try:
        with incoming.open("wb") as out:
            while chunk := source.read(1 << 20):
                size += len(chunk)
                if size > limit:
                    raise HTTPException(
                        413, f"the upload is larger than {limit // 1_000_000} MB (setting max_upload_mb)"
                    )
                digest.update(chunk)
                out.write(chunk)
        info = audio.probe(incoming)
        default_ext = "." + info.format_name.split(",")[0]
        target = uploads / safe_filename(title, f"upload:{digest.hexdigest()}/{filename}", default_ext=default_ext)
        os.replace(incoming, target)
        return target
    finally:
        incoming.unlink(missing_ok=True)


@router.post(
    "/episodes",
    status_code=202,
    response_model=JobOut,
    dependencies=ADMIN,
    openapi_extra=UPLOAD_FORM,
    tags=["episodes"],
)
async def upload_episode(request: Request, response: Response) -> JobOut:
    """Upload a recording (multipart: file, podcast, title, published): it is kept in HOME/uploads and processed in
    the background; follow the job at the returned address."""
    lib = _lib(request)
    limit = int(lib.settings.max_upload_mb) * 1_000_000
    length = request.headers.get("content-length", "")
    if not length.isdigit():
        raise HTTPException(411, "an upload needs a Content-Length header")
    if int(length) > limit + FORM_OVERHEAD:
        raise HTTPException(413, f"the upload is larger than {limit // 1_000_000} MB (setting max_upload_mb)")
    async with request.form(max_files=1, max_fields=10) as form:
        file = form.get("file")
        if not isinstance(file, UploadFile):
            raise InputError(
                "expected a multipart form with the recording in a field named file, the podcast in podcast, and"
                " optionally title and published (YYYY-MM-DD)"
            )
        podcast, published = _field(form, "podcast"), _field(form, "published") or None
        title = _field(form, "title") or Path(file.filename or "").stem.strip()
        if not podcast:
            raise InputError("podcast name is empty: expected a form field podcast")
        if not title:
            raise InputError("episode title is empty: expected a form field title")
        parse_published(published)
        path = await run_in_threadpool(_keep_upload, lib.home / "uploads", file.file, file.filename or "", title, limit)

    def work(job_lib: Library, job: Job) -> None:
        keep = False
        try:
            result = job_lib.add_audio(path, podcast=podcast, title=title, published=published, hook=job.hook)
            job.episode_id, job.created = result.episode.id, result.created
            keep = Path(result.episode.source) == path.resolve()
        finally:
            if not keep:  # a failed upload, or a recording the library already had from elsewhere
                path.unlink(missing_ok=True)

    jobs = _jobs(request)
    job = jobs.submit("upload", work)
    response.headers["Location"] = f"/api/jobs/{job.id}"
    return JobOut.of(job, jobs)


@router.get("/jobs", response_model=list[JobOut], dependencies=READ, tags=["jobs"])
def list_jobs(request: Request) -> list[JobOut]:
    """Uploads and syncs this server has queued since it started, oldest first."""
    jobs = _jobs(request)
    return [JobOut.of(j, jobs) for j in jobs.all()]


@router.get("/jobs/{job_id}", response_model=JobOut, dependencies=READ, tags=["jobs"])
def get_job(request: Request, job_id: str) -> JobOut:
    """A background job: queued, running (with its stage and progress), done (with the episode) or failed (why)."""
    jobs = _jobs(request)
    return JobOut.of(jobs.get(job_id), jobs)


# -- people and review ---------------------------------------------------------------------------------------------


@router.get("/people", response_model=list[PersonSummary], dependencies=READ, tags=["people"])
def people(request: Request) -> list[PersonSummary]:
    """Every person: whether their voice profile is active, exemplars, episodes, and near-identical profiles."""
    lib = _lib(request)
    alikes = lib.people.sound_alikes()
    return [
        PersonSummary(
            id=p.id,
            name=p.name,
            created_at=p.created_at,
            active=active,
            exemplars=p.exemplars,
            flagged=p.flagged,
            episodes=p.episodes,
            sounds_like=[SoundAlike(name=n, score=s) for n, s in alikes.get(p.id, [])],
        )
        for p, active in lib.people.roster()
    ]


@router.get("/people/unknown", response_model=list[UnknownVoice], dependencies=READ, tags=["people"])
def unknown_voices(request: Request) -> list[UnknownVoice]:
    """Recurring voices that match nobody, with their episodes, where to listen, a quote and credited names."""
    return _lib(request).people.unknown()


@router.get("/people/{name:path}", response_model=PersonPageOut, dependencies=READ, tags=["people"])
def person(
    request: Request, name: str, quotes: Annotated[int, Query(ge=0, le=1000, description="How many quotes.")] = 5
) -> dict[str, Any]:
    """A person's page: voice-profile status, exemplars, appearances over time and per episode, and quotes."""
    page: PersonPage = _lib(request).people.show(name, quotes=quotes)
    return page.to_dict()


@router.get("/review", response_model=ReviewOut, dependencies=READ, tags=["people"])
def review(
    request: Request,
    tier: Annotated[
        str,
        Query(
            description="matched (with held-back ones), low or verified.",
            json_schema_extra={"enum": ["matched", "low", "verified"]},
        ),
    ] = "matched",
) -> ReviewOut:
    """Machine attributions waiting for a human, most uncertain first, and exemplars flagged as disagreeing."""
    lib = _lib(request)
    return ReviewOut(
        attributions=[_review_item(i) for i in lib.people.review(tier)],
        flagged_exemplars=[
            FlaggedExemplarOut(person=f.person, **exemplar_dict(f.exemplar)) for f in lib.people.flagged_exemplars()
        ],
    )


def _review_item(item: ReviewItem) -> ReviewItemOut:
    return ReviewItemOut.model_validate(review_dict(item))


@router.post("/review/{speaker_id}/confirm", response_model=Changes, dependencies=ADMIN, tags=["people"])
def confirm(request: Request, speaker_id: int) -> Changes:
    """A human says the attribution is right: it becomes confirmed (and, with learning on, an exemplar)."""
    lib = _lib(request)
    changes = lib.people.confirm(speaker_id)
    return Changes(changes=changes, attribution=lib.store.people.attribution(speaker_id))


@router.post("/review/{speaker_id}/reject", response_model=Changes, dependencies=ADMIN, tags=["people"])
def reject(request: Request, speaker_id: int) -> Changes:
    """A human says the voice is not that person: remembered for good, and the speaker is matched again."""
    lib = _lib(request)
    changes = lib.people.reject(speaker_id)
    return Changes(changes=changes, attribution=lib.store.people.attribution(speaker_id))


@router.post("/review/exemplars/{exemplar_id}/keep", response_model=Changes, dependencies=ADMIN, tags=["people"])
def keep_exemplar(request: Request, exemplar_id: int) -> Changes:
    """A flagged exemplar is right after all: it counts again, for good."""
    return Changes(changes=_lib(request).people.keep_exemplar(exemplar_id))


@router.post("/review/exemplars/{exemplar_id}/drop", response_model=Changes, dependencies=ADMIN, tags=["people"])
def drop_exemplar(request: Request, exemplar_id: int) -> Changes:
    """Remove an exemplar from its profile (a wrong sample)."""
    return Changes(changes=_lib(request).people.drop_exemplar(exemplar_id))


@router.post("/people/assign", response_model=Changes, dependencies=ADMIN, tags=["people"])
def assign(request: Request, body: AssignBody) -> Changes:
    """Say who an episode speaker is (a human decision the machine never overwrites)."""
    lib = _lib(request)
    changes = lib.people.assign(body.episode_id, body.label, body.name)
    return Changes(
        changes=changes,
        attribution=lib.store.people.attribution(lib.store.people.find_speaker(body.episode_id, body.label)),
    )


@router.post("/people/rename", response_model=Person, dependencies=ADMIN, tags=["people"])
def rename(request: Request, body: RenameBody) -> Person:
    """Rename a person (everything attributed to them follows)."""
    return _lib(request).people.rename(body.old, body.new)


@router.post("/people/merge", response_model=Changes, dependencies=ADMIN, tags=["people"])
def merge(request: Request, body: MergeBody) -> Changes:
    """Merge source into target: two names for one person."""
    return Changes(changes=_lib(request).people.merge(body.source, body.target))


@router.post("/people/enroll", response_model=Changes, dependencies=ADMIN, tags=["people"])
def enroll(request: Request, body: EnrollBody) -> Changes:
    """Name a voice: an episode speaker ({name, episode_id, label}) or a recurring unknown voice ({name,
    unknown_id})."""
    lib = _lib(request)
    if (body.episode_id is None) == (body.unknown_id is None):
        raise InputError("give either episode_id and label, or unknown_id (an id from GET /api/people/unknown)")
    if body.unknown_id is not None:
        return Changes(changes=lib.people.enroll_unknown(body.name, body.unknown_id))
    if not body.label:
        raise InputError("episode_id needs label: the episode speaker label, e.g. SPEAKER_01")
    assert body.episode_id is not None
    changes = lib.people.enroll_speaker(body.name, body.episode_id, body.label)
    return Changes(
        changes=changes,
        attribution=lib.store.people.attribution(lib.store.people.find_speaker(body.episode_id, body.label)),
    )


# -- feeds ---------------------------------------------------------------------------------------------------------


@router.get("/feeds", response_model=list[FeedOut], dependencies=READ, tags=["feeds"])
def feeds(request: Request) -> list[dict[str, Any]]:
    """The feeds followed, with their episodes' sync status."""
    return _lib(request).feeds.list()


@router.post("/feeds", status_code=201, response_model=AddedFeed, dependencies=ADMIN, tags=["feeds"])
def follow_feed(request: Request, body: FeedBody) -> AddedFeed:
    """Follow a feed: every episode is recorded at once as pending (POST /api/feeds/sync processes them)."""
    url = body.url.strip()
    if not url.lower().startswith(("http://", "https://")):
        raise InputError(f"feed {url!r}: expected an http(s) URL")
    return _lib(request).feeds.add(url)


@router.delete("/feeds/{feed_id}", response_model=FeedRemoved, dependencies=ADMIN, tags=["feeds"])
def unfollow_feed(request: Request, feed_id: int) -> FeedRemoved:
    """Stop following a feed; its pending episodes go, processed ones stay."""
    return FeedRemoved(feed_id=feed_id, pending_dropped=_lib(request).feeds.remove(feed_id))


@router.post("/feeds/sync", status_code=202, response_model=JobOut, dependencies=ADMIN, tags=["feeds"])
def sync_feeds(request: Request, response: Response, body: SyncBody | None = None) -> JobOut:
    """Refresh the feeds (or one) and process pending episodes, newest first, as a background job."""
    options = body or SyncBody()
    if options.feed_id is not None:
        _lib(request).store.feeds.get(options.feed_id)
    since = options.since.isoformat() if options.since else None

    def work(job_lib: Library, job: Job) -> None:
        report = job_lib.feeds.sync(
            options.feed_id, limit=options.limit, since=since, retranscribe=options.retranscribe, hook=job.hook
        )
        job.result = asdict(report)

    jobs = _jobs(request)
    job = jobs.submit("sync", work)
    response.headers["Location"] = f"/api/jobs/{job.id}"
    return JobOut.of(job, jobs)


# -- listening quizzes and translation ------------------------------------------------------------------------------


class AnswerIn(BaseModel):
    """An answer to one question of a quiz; the quiz is named by how it was generated (it is deterministic)."""

    learner: str = Field(min_length=1, max_length=80)
    question_id: str
    chosen: int
    seed: int
    level: str = "medium"
    count: int = 10
    start: float | None = None
    end: float | None = None


def _quiz(
    lib: Library, episode_id: int, seed: int, level: str, count: int, start: float | None, end: float | None
) -> Quiz:
    return lib.quizzes.generate(episode_id, seed=seed, level=level, count=count, start=start, end=end)


@router.get("/episodes/{episode_id}/quiz", dependencies=READ, tags=["quizzes"])
def episode_quiz(
    request: Request,
    episode_id: int,
    seed: int = 1,
    level: str = "medium",
    count: Annotated[int, Query(ge=1, le=50)] = 10,
    start: float | None = None,
    end: float | None = None,
) -> dict[str, Any]:
    """A listening quiz from the episode (gap and "who said it?" questions with clip times), the same for a seed."""
    return _quiz(_lib(request), episode_id, seed, level, count, start, end).to_dict()


@router.post("/episodes/{episode_id}/quiz/answers", dependencies=READ, tags=["quizzes"])
def answer_quiz(request: Request, episode_id: int, body: AnswerIn) -> dict[str, Any]:
    """Record a learner's answer; returns whether it was right, the right option and the learner's running result."""
    lib = _lib(request)
    quiz = _quiz(lib, episode_id, body.seed, body.level, body.count, body.start, body.end)
    lib.quizzes.record_answer(body.learner, quiz, body.question_id, body.chosen)
    question = quiz.question(body.question_id)
    result = lib.quizzes.result(body.learner, quiz)
    return {
        "correct": body.chosen == question.answer_index,
        "answer_index": question.answer_index,
        "answer": question.answer,
        "result": asdict(result),
    }


@router.get("/learners/{learner}/progress", dependencies=READ, tags=["quizzes"])
def learner_progress(request: Request, learner: str) -> dict[str, Any]:
    """A learner's answers over time: per episode, per day, and the words they missed."""
    return _lib(request).quizzes.progress(learner).to_dict()


@router.get("/episodes/{episode_id}/translation", dependencies=READ, tags=["translation"])
def episode_translation(
    request: Request, episode_id: int, to: str = "es", source: Annotated[str | None, Query(alias="from")] = None
) -> dict[str, Any]:
    """Every segment beside its translation (cached per segment and language)."""
    pairs = _lib(request).translations.translate_episode(episode_id, to, source)
    return {
        "episode_id": episode_id,
        "to": to,
        "segments": [
            {"start": seg.start, "end": seg.end, "speaker": seg.speaker, "text": seg.text, "translation": text}
            for seg, text in pairs
        ],
    }
