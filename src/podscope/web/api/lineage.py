"""GET /api/quote-check (was this said, and how?) and GET /api/thread (a topic's history across the library)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from podscope.lineage.records import QuoteCheck, Thread
from podscope.web.api.base import IsoDate, Route, RowId
from podscope.web.auth import READ
from podscope.web.state import lib_of

router = APIRouter(route_class=Route)


@router.get("/quote-check", response_model=QuoteCheck, dependencies=READ, tags=["lineage"])
def quote_check(
    request: Request,
    q: Annotated[
        str,
        Query(
            json_schema_extra={"pattern": r"\w"},
            description="The quoted passage (at least 3 words); fillers, ellipses and punctuation are allowed for.",
        ),
    ],
    speaker: Annotated[str | None, Query(description="Only what this person said.")] = None,
    podcast: Annotated[str | None, Query(description="Only this podcast.")] = None,
) -> QuoteCheck:
    """Where the quote was said: the verdict (verbatim, close, paraphrase, not found), who, when, the deep link and
    the word-by-word alignment."""
    return lib_of(request).lineage.quote_check(q, speaker=speaker, podcast=podcast)


@router.get("/thread", response_model=Thread, dependencies=READ, tags=["lineage"])
def thread(
    request: Request,
    q: Annotated[
        str | None,
        Query(json_schema_extra={"pattern": r"\w"}, description="The topic, in the search language (or `segment`)."),
    ] = None,
    segment: Annotated[RowId | None, Query(description="Follow this segment's idea instead of a query.")] = None,
    speaker: Annotated[str | None, Query(description="Only what this person said.")] = None,
    podcast: Annotated[str | None, Query(description="Only this podcast.")] = None,
    since: Annotated[IsoDate | None, Query(description="Only episodes published on or after this date.")] = None,
    until: Annotated[IsoDate | None, Query(description="Only episodes published on or before this date.")] = None,
) -> Thread:
    """The topic's statements in date order, the firsts, the echoes and how each person's view moved."""
    return lib_of(request).lineage.thread(
        q, segment=segment, speaker=speaker, podcast=podcast, since=since, until=until
    )
