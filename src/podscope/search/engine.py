"""Search over a library: text (FTS5, bm25), semantic (sentence vectors) and hybrid (both, fused by reciprocal rank).

    search = lib.search
    result = search.search('"bitter lesson" OR scaling', SearchOptions(speaker="Richard Sutton", mode="hybrid"))
    for hit in result.hits:
        print(hit.podcast, hit.episode, hit.start, hit.speaker, hit.text)

Results carry what a player needs (episode id and the second to start at), the matched words' character spans for
highlighting, optional neighbouring segments, and facet counts. Semantic and hybrid results are ranked among the
`CANDIDATES` best of each retriever; their facets count those candidates.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
import numpy.typing as npt

from podscope.errors import InputError
from podscope.records import TIERS, FacetCount, SearchFilters, SegmentRow, Tier
from podscope.search.embed import DIMENSION, SentenceEmbedder
from podscope.search.query import (
    MAX_TERMS,
    And,
    Query,
    QueryError,
    Term,
    highlight_spans,
    normalise,
    parse,
    words,
)
from podscope.search.vectors import NearestVectors, ServerVectors, VectorIndex, VectorSearch
from podscope.store.contract import SearchRepository

SearchMode = Literal["hybrid", "text", "semantic"]  # words and meaning fused, exact words, meaning
SearchSort = Literal["relevance", "date"]
MODES: tuple[SearchMode, ...] = get_args(SearchMode)
SORTS: tuple[SearchSort, ...] = get_args(SearchSort)
CANDIDATES = 200  # per retriever, for semantic and hybrid ranking
RRF_K = 60  # reciprocal rank fusion constant (Cormack et al.)
MIN_SIMILARITY = 0.25  # below this cosine a segment is not about the query at all (all-MiniLM-L6-v2)
COMMON_SHARE = 0.01  # a word in more than this share of segments is left out of hybrid's relaxed text side
COMMON_FLOOR = 500  # ... but only once it is in more than this many segments (small libraries keep every word)
EMBED_BATCH = 256
# Hybrid search ranks by words on this pool's thread while it embeds the query and ranks by meaning: the database
# (or SQLite, or the ONNX model) works without the interpreter's lock, so the two sides run on two cores. Reads
# there see committed rows, as every search does.
_BESIDE = ThreadPoolExecutor(max_workers=4, thread_name_prefix="podscope-search")
EXACT_FACETS = 2_000  # up to this many matches facets are exact; above, counted on a sample and scaled
SAMPLE_FACETS = 1_000  # about how many matches, evenly spread by id, that sample holds


@dataclass(frozen=True)
class SearchOptions:
    mode: SearchMode = "hybrid"
    speaker: str | None = None
    podcast: str | None = None
    since: dt.date | None = None
    until: dt.date | None = None
    min_tier: Tier = "matched"
    language: str | None = None
    sort: SearchSort = "relevance"
    limit: int = 10
    offset: int = 0
    context: int = 0

    def filters(self) -> SearchFilters:
        return SearchFilters(
            speaker=self.speaker,
            podcast=self.podcast,
            since=self.since,
            until=self.until,
            min_tier=self.min_tier,
            language=self.language,
        )


@dataclass(frozen=True)
class Line:
    """A neighbouring segment shown for context."""

    segment_id: int
    start: float
    end: float
    speaker: str
    text: str


@dataclass(frozen=True)
class Hit:
    segment_id: int
    episode_id: int
    podcast: str
    episode: str
    published: dt.date | None
    speaker: str  # the person's name when attributed at min_tier or better, else the anonymous label
    person: str | None
    tier: str | None
    label: str | None
    start: float
    end: float
    text: str
    highlights: tuple[tuple[int, int], ...]  # character spans of `text` that matched
    score: float
    before: tuple[Line, ...] = ()
    after: tuple[Line, ...] = ()


@dataclass(frozen=True)
class SearchResult:
    query: str
    mode: str
    total: int  # matches (text) or candidates (semantic, hybrid) passing the filters
    hits: tuple[Hit, ...]
    facets: dict[str, dict[str, int]] = field(default_factory=dict)
    offset: int = 0
    estimated: bool = False  # facets counted on a sample of a large result set (the total is always exact)
    notice: str | None = None  # the query's syntax could not be read: why, and that its words were searched alone


def _speaker(row: SegmentRow) -> str:
    return str(row.person or row.label or "unknown")


class Search:
    """The search operations of one library; `embedder` is built on first semantic use."""

    def __init__(
        self, segments: SearchRepository, index_path: Path, embedder: Callable[[], SentenceEmbedder], threads: int = 2
    ):
        self.segments = segments
        # A store that searches its own vectors (PostgreSQL) needs no local index; the SQLite store has faiss beside it.
        self.vectors: VectorSearch = (
            ServerVectors(segments)
            if isinstance(segments, NearestVectors)
            else VectorIndex(index_path, DIMENSION, threads)
        )
        self._make_embedder = embedder
        self._embedder: SentenceEmbedder | None = None

    @property
    def embedder(self) -> SentenceEmbedder:
        if self._embedder is None:
            self._embedder = self._make_embedder()
        return self._embedder

    # -- keeping the index --------------------------------------------------------------------------------------

    def index_pending(self, episode_id: int | None = None, hook: Callable[[int, int], None] | None = None) -> int:
        """Embed the segments that have no vector yet (one episode's, or all) and add them to the vector index."""
        done = 0
        fresh: list[tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]] = []
        while True:
            batch = self.segments.segments_without_vectors(EMBED_BATCH, episode_id)
            if not batch:
                break
            ids = np.array([i for i, _ in batch], dtype=np.int64)
            vectors = self.embedder([t for _, t in batch])
            self.segments.save_vectors(ids.tolist(), vectors)
            fresh.append((ids, vectors))
            done += len(batch)
            if hook:
                hook(done, done + (EMBED_BATCH if len(batch) == EMBED_BATCH else 0))
        count = self.segments.vector_count()
        if fresh and self.vectors.size == count - done:  # the index was current: add to it
            self.vectors.add(np.concatenate([i for i, _ in fresh]), np.concatenate([v for _, v in fresh]))
        self._rebuild_if_stale(count)
        return done

    def _rebuild_if_stale(self, count: int) -> None:
        """Rebuild the vector index from the store when it does not hold exactly its `count` vectors."""
        if self.vectors.needs_rebuild(count):
            self.vectors.rebuild(count, self.segments.vector_batches)

    def rebuild_index(self) -> None:
        """Build the vector index again from the stored vectors (the local faiss file; a server's index needs none)."""
        self.vectors.rebuild(self.segments.vector_count(), self.segments.vector_batches)

    def mend_index(self) -> None:
        """Make the local vector index hold exactly the stored vectors, keeping its trained layout: drop the entries of
        segments that are gone and add the stored vectors it lacks (one pass over them, far cheaper than training
        again); a rebuild when there is no index yet, or when its layout is outgrown."""
        try:
            held = self.vectors.ids()
        except RuntimeError:  # faiss cannot read the file: nothing in it to keep
            held = None
        if held is None:
            self.rebuild_index()
            return
        stored, add_ids, add_vectors = [], [], []
        for ids, vectors in self.segments.vector_batches():
            stored.append(ids)
            lacking = ~np.isin(ids, held, assume_unique=True)
            if lacking.any():
                add_ids.append(ids[lacking])
                add_vectors.append(vectors[lacking])
        every = np.concatenate(stored) if stored else np.zeros(0, np.int64)
        self.vectors.remove(np.setdiff1d(held, every, assume_unique=True))
        if add_ids:
            self.vectors.add(np.concatenate(add_ids), np.concatenate(add_vectors))
        self._rebuild_if_stale(int(every.size))

    def index_ids(self) -> npt.NDArray[np.int64] | None:
        """The segment ids the local vector index holds, ascending; None when the store's server keeps the index, or
        before the local index is first built."""
        return self.vectors.ids()

    def forget_segments(self, ids: list[int]) -> None:
        """Drop deleted segments from the vector index (their stored vectors went with them)."""
        self.vectors.remove(np.array(ids, dtype=np.int64))

    def _ensure_index(self) -> None:
        """Embed whatever is missing (episodes stored before search existed, or an interrupted ingest)."""
        if self.segments.vectors_behind():
            self.index_pending()
            return
        if not isinstance(self.vectors, ServerVectors):  # the server's index is always current: no count to check
            self._rebuild_if_stale(self.segments.vector_count())

    # -- searching ------------------------------------------------------------------------------------------------

    def search(self, text: str, options: SearchOptions | None = None) -> SearchResult:
        o = options or SearchOptions()
        if o.mode not in MODES:
            raise InputError(f"search mode {o.mode!r}: expected one of {', '.join(MODES)}")
        if o.sort not in SORTS:
            raise InputError(f"sort {o.sort!r}: expected relevance or date")
        if o.min_tier not in TIERS:
            raise InputError(f"tier {o.min_tier!r}: expected one of {', '.join(TIERS)}")
        if o.limit < 1 or o.limit > 1000 or o.offset < 0 or o.context < 0 or o.context > 20:
            raise InputError("expected --limit 1-1000, --offset 0 or more and --context 0-20")
        notice = None
        try:
            query = parse(text)
        except QueryError as exc:
            found = list(dict.fromkeys(words(text)))[:MAX_TERMS]
            if exc.reading == "refuse" or not found:
                raise
            notice = str(exc).splitlines()[0]
            if exc.reading == "nothing":  # "-video": nothing is asked for, so nothing is found; said, not refused
                return SearchResult(query=text, mode=o.mode, total=0, hits=(), offset=o.offset, notice=notice)
            # A search box answers: a quote left open or a stray operator searches the words as plain words (all of
            # them; by meaning, the syntax does not matter), and says why.
            alone = " ".join(found)
            query = Query(alone, Term(tuple(found)) if o.mode == "semantic" else And(tuple(Term((w,)) for w in found)))
            notice += f": searched the words alone ({alone})"
        if o.since and o.until and o.since > o.until:  # an empty window: nothing is in it, said rather than refused
            window = f"--since {o.since} is after --until {o.until}: no episode is published in between"
            return SearchResult(query=text, mode=o.mode, total=0, hits=(), offset=o.offset, notice=window)
        filters = o.filters()
        self.segments.check_filters(filters)
        estimated = False
        if o.mode == "text":
            ranked, total, facets, estimated = self._text(query, filters, o)
        else:
            ranked, total, facets = self._ranked(query, filters, o)
        return SearchResult(
            query=text,
            mode=o.mode,
            total=total,
            hits=tuple(self._hits(ranked, query, filters, o)),
            facets=facets,
            offset=o.offset,
            estimated=estimated,
            notice=notice,
        )

    def nearest(self, text: str, filters: SearchFilters) -> list[tuple[int, float]]:
        """The segments nearest to a text in meaning, as (segment id, cosine) best first: the candidates semantic
        search ranks (up to CANDIDATES, none below MIN_SIMILARITY), without building hits. The text is read as
        words, its query syntax ignored."""
        found = list(dict.fromkeys(words(text)))
        if not found:
            raise InputError("expected words to look for")
        return self._semantic(Query(text, Term(tuple(found))), filters)

    def _text(
        self, query: Query, f: SearchFilters, o: SearchOptions
    ) -> tuple[list[tuple[int, float]], int, dict[str, dict[str, int]], bool]:
        """One page by bm25 (or date), the number of matches and the facets. Above EXACT_FACETS matches (that pass
        the filters) the facets are estimated from every n-th match, and say so."""
        found = self.segments.text_page(
            query.fts, f, sort=o.sort, limit=o.limit, offset=o.offset, exact=EXACT_FACETS, sample=SAMPLE_FACETS
        )
        facets = _facets(found.facets, scale=found.step)
        return [(i, -score) for i, score in found.page], found.total, facets, found.step > 1

    def _ranked(
        self, query: Query, f: SearchFilters, o: SearchOptions
    ) -> tuple[list[tuple[int, float]], int, dict[str, dict[str, int]]]:
        words = _BESIDE.submit(self._words, query, f) if o.mode == "hybrid" else None  # on another core meanwhile
        semantic = self._semantic(query, f)
        if o.mode == "hybrid" and not query.plain:  # quotes, operators, prefixes: results must honour them
            allowed = self.segments.matching_fts([i for i, _ in semantic], query.fts)
            semantic = [p for p in semantic if p[0] in allowed]
        fused = semantic if words is None else rrf([words.result(), [i for i, _ in semantic]])
        ids = [i for i, _ in fused]
        if o.sort == "date":
            rows = self.segments.segment_rows(ids, f)
            fused.sort(key=lambda p: (rows[p[0]].published or "", -rows[p[0]].start), reverse=True)
        facets = _facets(self.segments.facets_of(ids, f)) if ids else {}
        return fused[o.offset : o.offset + o.limit], len(fused), facets

    def _words(self, query: Query, f: SearchFilters) -> list[int]:
        """Hybrid's text side: the CANDIDATES best segments by bm25 for the query (its content words, any of them,
        when it is plain words)."""
        fts = self._relaxed(query) if query.plain else query.fts
        return [i for i, _ in self.segments.text_search(fts, f, limit=CANDIDATES)]

    def _relaxed(self, query: Query) -> str:
        """The OR of a plain query's content words without those in more than COMMON_SHARE of all segments: they add
        little to the ranking and would make bm25 score a large part of the library."""
        terms = [normalise(t.words[0]) for t in query.content_highlights if not t.phrase]
        limit = max(COMMON_FLOOR, int(COMMON_SHARE * self.segments.segment_id_bound()))
        common = self.segments.common_terms(terms, limit)
        return query.relaxed_fts(common)

    def _semantic(self, query: Query, f: SearchFilters) -> list[tuple[int, float]]:
        """The CANDIDATES most similar segments that pass the filters, fetching more when filters reject many."""
        self._ensure_index()
        vector = self.embedder([query.semantic_text])[0]
        if isinstance(self.vectors, ServerVectors):  # the server applies the filters as it walks its index
            return [p for p in self.vectors.source.nearest(vector, CANDIDATES, f) if p[1] >= MIN_SIMILARITY]
        k = CANDIDATES * 2
        while True:
            ids, scores = self.vectors.search(vector, k)
            keep = set(self.segments.keep_matching(ids.tolist(), f))
            found = [(int(i), float(s)) for i, s in zip(ids, scores, strict=True) if int(i) in keep]
            found = [p for p in found if p[1] >= MIN_SIMILARITY]
            if len(found) >= CANDIDATES or len(ids) < k or k >= 64 * CANDIDATES or scores[-1] < MIN_SIMILARITY:
                return found[:CANDIDATES]
            k *= 4

    def _hits(self, ranked: list[tuple[int, float]], query: Query, f: SearchFilters, o: SearchOptions) -> list[Hit]:
        rows = self.segments.segment_rows([i for i, _ in ranked], f)
        terms = query.highlights if o.mode == "text" else query.content_highlights
        hits = []
        for segment_id, score in ranked:
            r = rows.get(segment_id)
            if r is None:
                continue
            before: tuple[Line, ...] = ()
            after: tuple[Line, ...] = ()
            if o.context:
                b, a = self.segments.neighbours(segment_id, o.context, f)
                before = tuple(Line(x.id, x.start, x.end, _speaker(x), x.text) for x in b)
                after = tuple(Line(x.id, x.start, x.end, _speaker(x), x.text) for x in a)
            hits.append(
                Hit(
                    segment_id=segment_id,
                    episode_id=r.episode_id,
                    podcast=r.podcast,
                    episode=r.episode,
                    published=dt.date.fromisoformat(r.published) if r.published else None,
                    speaker=_speaker(r),
                    person=r.person,
                    tier=r.tier,
                    label=r.label,
                    start=round(r.start, 2),
                    end=round(r.end, 2),
                    text=r.text,
                    highlights=tuple(highlight_spans(r.text, terms)),
                    score=round(score, 5),
                    before=before,
                    after=after,
                )
            )
        return hits


def rrf(rankings: list[list[int]], k: int = RRF_K) -> list[tuple[int, float]]:
    """Reciprocal rank fusion: each list gives 1 / (k + rank) to its items; best total first."""
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda p: (-p[1], p[0]))


def _facets(rows: list[FacetCount], scale: int = 1) -> dict[str, dict[str, int]]:
    counts: dict[str, Counter[str]] = {"speaker": Counter(), "podcast": Counter(), "year": Counter()}
    unknown = {"speaker": "(unnamed)", "podcast": "", "year": "(undated)"}
    for r in rows:
        counts[r.facet][r.value or unknown[r.facet]] += r.n * scale
    return {
        "speaker": dict(counts["speaker"].most_common()),
        "podcast": dict(counts["podcast"].most_common()),
        "year": dict(sorted(counts["year"].items(), reverse=True)),
    }


def options_from(values: dict[str, Any]) -> SearchOptions:
    """SearchOptions from loosely typed values (CLI or HTTP), dates as YYYY-MM-DD strings."""
    out = SearchOptions()
    for key in ("since", "until"):
        value = values.get(key)
        if isinstance(value, str):
            try:
                values = {**values, key: dt.date.fromisoformat(value)}
            except ValueError as exc:
                raise InputError(f"--{key} {value!r}: expected YYYY-MM-DD") from exc
    return replace(out, **{k: v for k, v in values.items() if v is not None})
