"""The review queue: machine attributions waiting for a human, flagged exemplars, and the decisions on them."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from podscope.people import ReviewItem, exemplar_dict, review_dict
from podscope.web.api.base import Route, RowId
from podscope.web.api.people import Changes, ExemplarOut
from podscope.web.auth import ADMIN, READ
from podscope.web.state import lib_of

router = APIRouter(route_class=Route)


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
    episode_id: RowId
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
    lib = lib_of(request)
    return ReviewOut(
        attributions=[_review_item(i) for i in lib.people.review(tier)],
        flagged_exemplars=[
            FlaggedExemplarOut(person=f.person, **exemplar_dict(f.exemplar)) for f in lib.people.flagged_exemplars()
        ],
    )


def _review_item(item: ReviewItem) -> ReviewItemOut:
    return ReviewItemOut.model_validate(review_dict(item))


@router.post("/review/{speaker_id}/confirm", response_model=Changes, dependencies=ADMIN, tags=["people"])
def confirm(request: Request, speaker_id: RowId) -> Changes:
    """A human says the attribution is right: it becomes confirmed (and, with learning on, an exemplar)."""
    lib = lib_of(request)
    changes = lib.people.confirm(speaker_id)
    return Changes(changes=changes, attribution=lib.people.attribution(speaker_id))


@router.post("/review/{speaker_id}/reject", response_model=Changes, dependencies=ADMIN, tags=["people"])
def reject(request: Request, speaker_id: RowId) -> Changes:
    """A human says the voice is not that person: remembered for good, and the speaker is matched again."""
    lib = lib_of(request)
    changes = lib.people.reject(speaker_id)
    return Changes(changes=changes, attribution=lib.people.attribution(speaker_id))


@router.post("/review/exemplars/{exemplar_id}/keep", response_model=Changes, dependencies=ADMIN, tags=["people"])
def keep_exemplar(request: Request, exemplar_id: RowId) -> Changes:
    """A flagged exemplar is right after all: it counts again, for good."""
    return Changes(changes=lib_of(request).people.keep_exemplar(exemplar_id))


@router.post("/review/exemplars/{exemplar_id}/drop", response_model=Changes, dependencies=ADMIN, tags=["people"])
def drop_exemplar(request: Request, exemplar_id: RowId) -> Changes:
    """Remove an exemplar from its profile (a wrong sample)."""
    return Changes(changes=lib_of(request).people.drop_exemplar(exemplar_id))
