"""The people: who is known (voice profile, exemplars, episodes), one person's page, unknown voices, and the
decisions that name, rename, merge and enrol them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from podscope.errors import InputError
from podscope.people import Change, PersonPage, UnknownVoice
from podscope.records import Attribution, Person
from podscope.web.api.base import Route, RowId
from podscope.web.api.jobs import JobOut, queued
from podscope.web.auth import ADMIN, READ
from podscope.web.state import lib_of

router = APIRouter(route_class=Route)


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
    episode_id: RowId
    episode: str
    published: str | None
    speaker: str
    speaker_id: RowId
    tier: str
    score: float | None
    speaking_seconds: float


class QuoteOut(BaseModel):
    episode_id: RowId
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


class Changes(BaseModel):
    """What a decision changed across the library (every attribution re-scored because of it)."""

    changes: list[Change]
    attribution: Attribution | None = None


# A person's name or a speaker label: not blank (said in the document; the library refuses a blank one in its words).
Name = Annotated[str, WithJsonSchema({"type": "string", "pattern": r"\S"})]


class AssignBody(BaseModel):
    episode_id: RowId
    label: Name = Field(description="The episode speaker label, e.g. SPEAKER_01.")
    name: Name


class RenameBody(BaseModel):
    old: Name
    new: Name


class MergeBody(BaseModel):
    source: Name = Field(description="The name that goes away.")
    target: Name = Field(description="The name that stays.")


# What the OpenAPI document says of EnrollBody: one of the two sources, given in full.
ENROLL_SOURCES: dict[str, Any] = {
    "oneOf": [
        {
            "required": ["episode_id", "label"],
            "properties": {
                "episode_id": {"type": "integer"},
                "label": {"type": "string"},
                "unknown_id": {"type": "null"},
            },
        },
        {
            "required": ["unknown_id"],
            "properties": {"unknown_id": {"type": "string"}, "episode_id": {"type": "null"}, "label": {"type": "null"}},
        },
    ]
}


class EnrollBody(BaseModel):
    """Either an episode speaker (episode_id and label) or a recurring unknown voice (unknown_id)."""

    model_config = ConfigDict(json_schema_extra=ENROLL_SOURCES)

    name: Name
    episode_id: RowId | None = None
    label: Name | None = None
    unknown_id: str | None = Field(
        default=None,
        description="An id from GET /api/people/unknown, e.g. U42.",
        json_schema_extra={"pattern": r"\S"},
    )


@router.get("/people", response_model=list[PersonSummary], dependencies=READ, tags=["people"])
def people(request: Request) -> list[PersonSummary]:
    """Every person: whether their voice profile is active, exemplars, episodes, and near-identical profiles."""
    lib = lib_of(request)
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
    return lib_of(request).people.unknown()


@router.post("/people/rescore", status_code=202, response_model=JobOut, dependencies=ADMIN, tags=["people"])
def rescore(request: Request, response: Response) -> JobOut:
    """Match every episode speaker with a voiceprint against the voice profiles again, as a background job (human
    decisions are kept). Each decision re-scores on its own; this is for after changing the thresholds."""
    lib = lib_of(request)
    if not lib.people.enabled:
        raise InputError("voice profiles are switched off (setting voice_profiles = false): there is nothing to score")
    return queued(request, response, lib.jobs.rescore())


@router.get("/people/{name:path}", response_model=PersonPageOut, dependencies=READ, tags=["people"])
def person(
    request: Request, name: str, quotes: Annotated[int, Query(ge=0, le=1000, description="How many quotes.")] = 5
) -> dict[str, Any]:
    """A person's page: voice-profile status, exemplars, appearances over time and per episode, and quotes."""
    page: PersonPage = lib_of(request).people.show(name, quotes=quotes)
    return page.to_dict()


@router.post("/people/assign", response_model=Changes, dependencies=ADMIN, tags=["people"])
def assign(request: Request, body: AssignBody) -> Changes:
    """Say who an episode speaker is (a human decision the machine never overwrites)."""
    lib = lib_of(request)
    changes = lib.people.assign(body.episode_id, body.label, body.name)
    return Changes(changes=changes, attribution=lib.people.speaker_attribution(body.episode_id, body.label))


@router.post("/people/rename", response_model=Person, dependencies=ADMIN, tags=["people"])
def rename(request: Request, body: RenameBody) -> Person:
    """Rename a person (everything attributed to them follows)."""
    return lib_of(request).people.rename(body.old, body.new)


@router.post("/people/merge", response_model=Changes, dependencies=ADMIN, tags=["people"])
def merge(request: Request, body: MergeBody) -> Changes:
    """Merge source into target: two names for one person."""
    return Changes(changes=lib_of(request).people.merge(body.source, body.target))


@router.post("/people/enroll", response_model=Changes, dependencies=ADMIN, tags=["people"])
def enroll(request: Request, body: EnrollBody) -> Changes:
    """Name a voice: an episode speaker ({name, episode_id, label}) or a recurring unknown voice ({name,
    unknown_id})."""
    lib = lib_of(request)
    if (body.episode_id is None) == (body.unknown_id is None):
        raise InputError("give either episode_id and label, or unknown_id (an id from GET /api/people/unknown)")
    if body.unknown_id is not None:
        return Changes(changes=lib.people.enroll_unknown(body.name, body.unknown_id))
    if not body.label:
        raise InputError("episode_id needs label: the episode speaker label, e.g. SPEAKER_01")
    assert body.episode_id is not None
    changes = lib.people.enroll_speaker(body.name, body.episode_id, body.label)
    return Changes(changes=changes, attribution=lib.people.speaker_attribution(body.episode_id, body.label))
