"""GET /api/search: the complete search result (hits, highlights, context, facets), with every filter as a parameter."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from podscope.records import TIERS
from podscope.search.engine import MODES, SORTS, SearchResult, options_from
from podscope.web.api.base import IsoDate, Route
from podscope.web.auth import READ
from podscope.web.state import lib_of

router = APIRouter(route_class=Route)


@router.get("/search", response_model=SearchResult, dependencies=READ, tags=["search"])
def search(
    request: Request,
    q: Annotated[
        str,
        Query(
            json_schema_extra={"pattern": r"\w"},  # the document's; a query without a word is refused in its words
            description='Words, "exact phrase", AND / OR / NOT, -exclude, prefix*, (groups); at least one word. Broken'
            " syntax (an unclosed quote, a stray operator) searches the words alone and says so in `notice`.",
        ),
    ],
    speaker: Annotated[str | None, Query(description="Only what this person said ('any': any named person).")] = None,
    podcast: Annotated[str | None, Query(description="Only this podcast.")] = None,
    since: Annotated[IsoDate | None, Query(description="Only episodes published on or after this date.")] = None,
    until: Annotated[IsoDate | None, Query(description="Only episodes published on or before this date.")] = None,
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
    return lib_of(request).search.search(q, options)
