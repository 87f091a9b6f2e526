"""Follow what was said across the library: check a quote against the transcripts, and trace a topic's thread.

    check = lib.lineage.quote_check("the bitter lesson is that general methods win", speaker="Richard Sutton")
    print(check.verdict, check.best.link if check.best else "")
    thread = lib.lineage.thread("podcast trailer")
    for echo in thread.echoes:
        print(echo.source.speaker, echo.source.published, "->", echo.echo.speaker, echo.echo.published)

Both read the search indexes as they are (text and vectors), so they follow episodes as they arrive, are
re-attributed or deleted, on either store backend.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import numpy.typing as npt

from podscope.errors import InputError, NotFound
from podscope.lineage import quote, thread
from podscope.lineage.records import QuoteCheck, Thread
from podscope.records import SearchFilters
from podscope.search.engine import Search

__all__ = ["Lineage", "QuoteCheck", "Thread"]


class Lineage:
    """Quote checks and threads over one library's search (`lib.lineage`)."""

    def __init__(self, search: Search):
        self.search = search

    def _embed(self, texts: list[str]) -> npt.NDArray[np.float32]:
        return self.search.embedder(texts)

    def quote_check(self, text: str, *, speaker: str | None = None, podcast: str | None = None) -> QuoteCheck:
        """Where the quote was said and how faithfully: verbatim, close (the changed words), paraphrase, not found."""
        return quote.check(self.search, self._embed, text, SearchFilters(speaker=speaker, podcast=podcast))

    def thread(
        self,
        topic: str | None = None,
        *,
        segment: int | None = None,
        speaker: str | None = None,
        podcast: str | None = None,
        since: dt.date | None = None,
        until: dt.date | None = None,
    ) -> Thread:
        """The topic's statements in date order, the firsts, the echoes and how each person's view moved. The topic
        is a query in the search language, or a segment ("this idea": its words are the topic)."""
        if (topic is None) == (segment is None):
            raise InputError("expected a topic or a segment id: one of the two")
        if segment is not None:
            rows = self.search.segments.segment_rows([segment], SearchFilters())
            if segment not in rows:
                raise NotFound(f"no segment {segment}: expected the id of a segment (as search results give it)")
            topic = rows[segment].text
        assert topic is not None
        filters = SearchFilters(speaker=speaker, podcast=podcast, since=since, until=until)
        return thread.thread(self.search, self._embed, topic, filters, seed=segment)
