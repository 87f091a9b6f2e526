"""Threads: a topic's history across the library.

    statements  segments near the topic in meaning: a cosine of their sentence vector with the topic's of at least
                RELEVANT, and within RELEVANT_MARGIN of the nearest one (how near a statement can be depends on the
                topic's wording: a fixed bar alone lets a short topic gather half the library); in date order
    firsts      the earliest statement, and the first of each person and each show
    echoes      later statements by another person that restate an earlier one: close in meaning (ECHO_SIMILARITY),
                or fairly close and sharing many content words (ECHO_NEAR + ECHO_OVERLAP); same-topic statements
                fall below both
    people      per person, their statements in order, the first and last, and how far apart they are in meaning

The thresholds are calibrated by `bench/lineage.py` on labelled statement pairs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from podscope.errors import InputError
from podscope.lineage.records import Echo, First, Firsts, PersonView, Statement, Thread, deep_link
from podscope.lineage.text import content_words, overlap
from podscope.records import SearchFilters, SegmentRow
from podscope.search.engine import CANDIDATES, Search
from podscope.search.query import STOPWORDS, QueryError, parse

RELEVANT = 0.30  # cosine to the topic from which a segment can be a statement on it
RELEVANT_MARGIN = 0.10  # ... when it is at most this far below the nearest statement (the seed segment aside)
ECHO_SIMILARITY = 0.75  # cosine from which a later statement restates an earlier one
ECHO_NEAR = 0.50  # ... or from this cosine, when they share ECHO_OVERLAP of their content words
ECHO_OVERLAP = 0.20
MAX_STATEMENTS = 400

Vector = npt.NDArray[np.float32]
Embed = Callable[[list[str]], npt.NDArray[np.float32]]


def statements(
    search: Search, embed: Embed, topic: str, filters: SearchFilters, seed: int | None = None
) -> list[tuple[Statement, Vector]]:
    """Every segment on the topic with its vector, in date order; `seed` is the segment the topic was taken from."""
    segments = search.segments
    nearest = search.nearest(topic, filters)
    ids = [i for i, _ in nearest]
    text: set[int] = set()
    try:
        query = parse(topic)
    except QueryError:
        query = None
    if query is not None:
        text = {i for i, _ in segments.text_search(query.fts, filters, limit=CANDIDATES)}
    wanted = list(dict.fromkeys([*ids, *sorted(text)]))
    vectors = segments.vectors_of(wanted)
    center = embed([topic])[0]
    near = {i: float(vectors[i] @ center) for i in wanted if i in vectors}
    best = max((c for i, c in near.items() if i != seed), default=1.0)
    keep = {i: c for i, c in near.items() if i == seed or (c >= RELEVANT and c >= best - RELEVANT_MARGIN)}
    rows = segments.segment_rows(list(keep), filters)
    found = [(_statement(rows[i], keep[i]), vectors[i]) for i in keep if i in rows]
    found.sort(key=lambda p: _when(p[0]))
    return found[:MAX_STATEMENTS]


def _when(s: Statement) -> tuple[int, dt.date, int, float]:
    return (s.published is None, s.published or dt.date.max, s.episode_id, s.start)


def _statement(r: SegmentRow, relevance: float) -> Statement:
    start = round(r.start, 2)
    return Statement(
        segment_id=r.id,
        episode_id=r.episode_id,
        podcast=r.podcast,
        episode=r.episode,
        published=dt.date.fromisoformat(r.published) if r.published else None,
        speaker=r.person or r.label or "unknown",
        person=r.person,
        start=start,
        end=round(r.end, 2),
        text=r.text,
        relevance=round(relevance, 3),
        link=deep_link(r.episode_id, start),
    )


def who(s: Statement) -> str:
    """Who said it, as one key: the person, or an anonymous label within its episode (labels are per episode)."""
    return s.person or f"{s.speaker} (episode {s.episode_id})"


def firsts(found: list[Statement]) -> Firsts:
    by_person: dict[str, Statement] = {}
    by_show: dict[str, Statement] = {}
    for s in found:
        if s.person:
            by_person.setdefault(s.person, s)
        by_show.setdefault(s.podcast, s)
    return Firsts(
        earliest=found[0] if found else None,
        by_person=tuple(First(k, v) for k, v in by_person.items()),
        by_show=tuple(First(k, v) for k, v in by_show.items()),
    )


def is_echo(similarity: float, shared: float) -> bool:
    return similarity >= ECHO_SIMILARITY or (similarity >= ECHO_NEAR and shared >= ECHO_OVERLAP)


def echoes(found: list[tuple[Statement, Vector]]) -> list[Echo]:
    """For each statement, the earlier statement by someone else it restates most closely, if any."""
    if len(found) < 2:
        return []
    matrix = np.stack([v for _, v in found]) @ np.stack([v for _, v in found]).T
    words = [content_words(s.text, STOPWORDS) for s, _ in found]
    out: list[Echo] = []
    for j in range(1, len(found)):
        later = found[j][0]
        best: Echo | None = None
        for i in range(j):
            earlier = found[i][0]
            if who(earlier) == who(later) or not _before(earlier, later):
                continue
            similarity = float(matrix[i, j])
            if similarity < ECHO_NEAR:
                continue
            shared = overlap(words[i], words[j])
            if is_echo(similarity, shared) and (best is None or similarity > best.similarity):
                best = Echo(earlier, later, round(similarity, 3), round(shared, 3))
        if best is not None:
            out.append(best)
    return out


def _before(a: Statement, b: Statement) -> bool:
    """Whether `a` was said before `b`: an earlier date, or earlier in the same episode."""
    if a.episode_id == b.episode_id:
        return a.start < b.start
    return a.published is not None and b.published is not None and a.published < b.published


def people(found: list[tuple[Statement, Vector]]) -> list[PersonView]:
    grouped: dict[str, list[tuple[Statement, Vector]]] = {}
    for s, v in found:
        if s.person:
            grouped.setdefault(s.person, []).append((s, v))
    out = []
    for person, said in grouped.items():
        (first, a), (last, b) = said[0], said[-1]
        out.append(
            PersonView(
                person=person,
                count=len(said),
                segment_ids=tuple(s.segment_id for s, _ in said),
                earliest=first,
                latest=last,
                distance=round(max(0.0, 1.0 - float(a @ b)), 3),
            )
        )
    return sorted(out, key=lambda p: (-p.count, p.person))


def thread(search: Search, embed: Embed, topic: str, filters: SearchFilters, seed: int | None = None) -> Thread:
    if not topic.strip():
        raise InputError("the topic is empty: expected words to follow, or a segment id")
    search.segments.check_filters(filters)
    found = statements(search, embed, topic, filters, seed)
    said = [s for s, _ in found]
    return Thread(
        topic=topic,
        statements=tuple(said),
        firsts=firsts(said),
        echoes=tuple(echoes(found)),
        people=tuple(people(found)),
    )
