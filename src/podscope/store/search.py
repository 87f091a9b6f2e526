"""The store's search tables: the FTS5 index over segments (kept by triggers) and the segments' sentence vectors.

Every query here takes the user's search only as a bound parameter (an FTS5 expression built by
`podscope.search.query`, whose words are all quoted), and filters only as bound values, so no query text can change
the SQL. FTS5 syntax errors cannot happen for expressions from the parser; any other database error is a bug and
surfaces as StoreError.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from podscope.errors import NotFound, StoreError
from podscope.records import TIERS, FacetCount, SearchFilters, SegmentRow, TextPage
from podscope.store.db import Tables
from podscope.store.names import name_key


def _facet(row: sqlite3.Row) -> FacetCount:
    return FacetCount(podcast=row["podcast"], person=row["person"], year=row["year"], n=int(row["n"]))


def _segment(row: sqlite3.Row) -> SegmentRow:
    keys = row.keys()
    extra = {k: row[k] for k in ("episode_id", "score", "episode", "published", "language", "podcast") if k in keys}
    return SegmentRow(
        id=row["id"],
        start=row["start"],
        end=row["end"],
        text=row["text"],
        label=row["label"],
        person=row["person"],
        tier=row["tier"],
        **extra,
    )


_FROM = """
    FROM segments g
    JOIN episodes e ON e.id = g.episode_id
    JOIN podcasts p ON p.id = e.podcast_id
    LEFT JOIN episode_speakers s ON s.id = g.speaker_id
    LEFT JOIN attributions a ON a.speaker_id = g.speaker_id AND a.tier IN ({tiers})
    LEFT JOIN people pe ON pe.id = a.person_id
"""


def _membership(f: SearchFilters) -> tuple[str, list[Any]]:
    """The filters as membership tests on a segment's own columns (episode_id, speaker_id), each subquery run once:
    far cheaper per matching row than joining five tables."""
    clauses: list[str] = []
    params: list[Any] = []
    episode: list[str] = []
    if f.podcast is not None:
        episode.append("podcast_id IN (SELECT id FROM podcasts WHERE title_key = ?)")
        params.append(name_key(f.podcast))
    if f.since is not None:
        episode.append("published >= ?")
        params.append(f.since.isoformat())
    if f.until is not None:
        episode.append("published <= ?")
        params.append(f.until.isoformat())
    if f.language is not None:
        episode.append("language = ?")
        params.append(f.language)
    if episode:
        clauses.append(f"g.episode_id IN (SELECT id FROM episodes WHERE {' AND '.join(episode)})")
    if f.speaker is not None:
        tiers = ",".join("?" * len(f.tiers))
        if f.speaker.lower() == "any":
            clauses.append(f"g.speaker_id IN (SELECT speaker_id FROM attributions WHERE tier IN ({tiers}))")
            params.extend(f.tiers)
        else:
            clauses.append(
                f"g.speaker_id IN (SELECT a.speaker_id FROM attributions a JOIN people pe ON pe.id = a.person_id"
                f" WHERE pe.name_key = ? AND a.tier IN ({tiers}))"
            )
            params.extend([name_key(f.speaker), *f.tiers])
    return (" AND " + " AND ".join(clauses)) if clauses else "", params


def _from(f: SearchFilters) -> tuple[str, list[Any]]:
    return _FROM.format(tiers=",".join("?" * len(f.tiers))), list(f.tiers)


class SearchTables(Tables):
    """Full-text and vector search over segments (`store.search`)."""

    def check_filters(self, f: SearchFilters) -> None:
        if f.min_tier not in TIERS:
            raise NotFound(f"tier {f.min_tier!r}: expected one of {', '.join(TIERS)}")
        if f.podcast is not None and not self._query(
            "SELECT 1 FROM podcasts WHERE title_key = ?", (name_key(f.podcast),)
        ):
            raise NotFound(f"no podcast named {f.podcast!r}; `podscope podcasts` lists them")
        if (
            f.speaker is not None
            and f.speaker.lower() != "any"
            and not self._query("SELECT 1 FROM people WHERE name_key = ?", (name_key(f.speaker),))
        ):
            raise NotFound(f"no person named {f.speaker!r}; `podscope people list` lists them (or use 'any')")

    def _run(self, sql: str, params: Sequence[Any]) -> list[sqlite3.Row]:
        try:
            return self._query(sql, tuple(params))
        except sqlite3.Error as exc:
            raise StoreError(f"search failed in the database: {exc}") from exc

    # -- full text ------------------------------------------------------------------------------------------------

    def text_search(
        self, fts: str, f: SearchFilters, *, sort: str = "relevance", limit: int = 10, offset: int = 0
    ) -> list[tuple[int, float]]:
        where, params = _membership(f)
        if sort == "relevance" and not where:  # the FTS index alone ranks: no row of `segments` is read
            rows = self._run(
                "SELECT rowid AS id, rank FROM segments_fts WHERE segments_fts MATCH ? ORDER BY rank LIMIT ? OFFSET ?",
                [fts, limit, offset],
            )
            return [(r["id"], float(r["rank"])) for r in rows]
        if sort == "relevance":
            order, extra = "rank, g.id", ""
        else:
            order, extra = (
                "e.published IS NULL, e.published DESC, g.episode_id, g.start",
                "JOIN episodes e ON e.id = g.episode_id",
            )
        rows = self._run(
            f"""SELECT g.id, segments_fts.rank AS rank FROM segments_fts JOIN segments g ON g.id = segments_fts.rowid
                {extra} WHERE segments_fts MATCH ? {where} ORDER BY {order} LIMIT ? OFFSET ?""",
            [fts, *params, limit, offset],
        )
        return [(r["id"], float(r["rank"])) for r in rows]

    def text_count(self, fts: str, f: SearchFilters | None = None) -> int:
        if f is None or not f.any:
            return int(self._run("SELECT COUNT(*) AS n FROM segments_fts WHERE segments_fts MATCH ?", [fts])[0]["n"])
        where, params = _membership(f)
        return int(
            self._run(
                f"""SELECT COUNT(*) AS n FROM segments_fts JOIN segments g ON g.id = segments_fts.rowid
                    WHERE segments_fts MATCH ? {where}""",
                [fts, *params],
            )[0]["n"]
        )

    def text_facets(self, fts: str, f: SearchFilters, step: int = 1) -> list[FacetCount]:
        where, params = _membership(f)
        tiers = ",".join("?" * len(f.tiers))
        sample = f" AND segments_fts.rowid % {int(step)} = 0" if step > 1 else ""
        rows = self._run(
            f"""SELECT p.title AS podcast, pe.name AS person, substr(e.published, 1, 4) AS year, SUM(x.n) AS n
                FROM (SELECT g.episode_id, g.speaker_id, COUNT(*) AS n
                      FROM segments_fts JOIN segments g ON g.id = segments_fts.rowid
                      WHERE segments_fts MATCH ? {sample} {where} GROUP BY 1, 2) x
                JOIN episodes e ON e.id = x.episode_id JOIN podcasts p ON p.id = e.podcast_id
                LEFT JOIN attributions a ON a.speaker_id = x.speaker_id AND a.tier IN ({tiers})
                LEFT JOIN people pe ON pe.id = a.person_id
                GROUP BY 1, 2, 3""",
            [fts, *params, *f.tiers],
        )
        return [_facet(r) for r in rows]

    def text_page(
        self,
        fts: str,
        f: SearchFilters,
        *,
        sort: str = "relevance",
        limit: int = 10,
        offset: int = 0,
        exact: int = 2000,
    ) -> TextPage:
        """The FTS5 index counts and ranks without reading segments: a page, the counts and the facets apart."""
        page = self.text_search(fts, f, sort=sort, limit=limit, offset=offset)
        total = self.text_count(fts, f)
        step = max(1, -(-total // exact))
        return TextPage(page, total, self.text_facets(fts, f, step), step)

    def common_terms(self, terms: Sequence[str], above: int) -> set[str]:
        return {term for term, n in self.term_documents(terms).items() if n > above}

    # -- ids from elsewhere (vector search) -----------------------------------------------------------------------

    def keep_matching(self, ids: Sequence[int], f: SearchFilters) -> list[int]:
        if not ids:
            return []
        where, params = _membership(f)
        rows = self._run(
            f"SELECT g.id FROM segments g WHERE g.id IN (SELECT value FROM json_each(?)) {where}",
            [json.dumps([int(i) for i in ids]), *params],
        )
        found = {r["id"] for r in rows}
        return [i for i in ids if i in found]

    def term_documents(self, terms: Sequence[str]) -> dict[str, int]:
        if not terms:
            return {}
        rows = self._run(
            "SELECT term, doc FROM segments_fts_vocab WHERE term IN (SELECT value FROM json_each(?))",
            [json.dumps(list(terms))],
        )
        return {r["term"]: int(r["doc"]) for r in rows}

    def segment_id_bound(self) -> int:
        return int(self._run("SELECT COALESCE(MAX(id), 0) AS n FROM segments", [])[0]["n"])

    def matching_fts(self, ids: Sequence[int], fts: str) -> set[int]:
        if not ids:
            return set()
        rows = self._run(
            "SELECT rowid FROM segments_fts WHERE segments_fts MATCH ? AND rowid IN (SELECT value FROM json_each(?))",
            [fts, json.dumps([int(i) for i in ids])],
        )
        return {r["rowid"] for r in rows}

    def facets_of(self, ids: Sequence[int], f: SearchFilters) -> list[FacetCount]:
        frm, params = _from(f)
        rows = self._run(
            f"""SELECT p.title AS podcast, pe.name AS person, substr(e.published, 1, 4) AS year, COUNT(*) AS n
                {frm} WHERE g.id IN (SELECT value FROM json_each(?)) GROUP BY 1, 2, 3""",
            [*params, json.dumps([int(i) for i in ids])],
        )
        return [_facet(r) for r in rows]

    # -- what a hit shows -----------------------------------------------------------------------------------------

    def segment_rows(self, ids: Sequence[int], f: SearchFilters) -> dict[int, SegmentRow]:
        frm, params = _from(f)
        rows = self._run(
            f"""SELECT g.id, g.episode_id, g.start, g.end, g.text, s.label, pe.name AS person, a.tier, a.score,
                       e.title AS episode, e.published, e.language, p.title AS podcast
                {frm} WHERE g.id IN (SELECT value FROM json_each(?))""",
            [*params, json.dumps([int(i) for i in ids])],
        )
        return {r["id"]: _segment(r) for r in rows}

    def neighbours(self, segment_id: int, count: int, f: SearchFilters) -> tuple[list[SegmentRow], list[SegmentRow]]:
        frm, params = _from(f)
        columns = "g.id, g.start, g.end, g.text, s.label, pe.name AS person, a.tier"
        anchor = "(SELECT episode_id FROM segments WHERE id = ?)"
        start = "(SELECT start FROM segments WHERE id = ?)"
        before = self._run(
            f"""SELECT {columns} {frm} WHERE g.episode_id = {anchor} AND (g.start < {start}
                OR (g.start = {start} AND g.id < ?)) ORDER BY g.start DESC, g.id DESC LIMIT ?""",
            [*params, segment_id, segment_id, segment_id, segment_id, count],
        )
        after = self._run(
            f"""SELECT {columns} {frm} WHERE g.episode_id = {anchor} AND (g.start > {start}
                OR (g.start = {start} AND g.id > ?)) ORDER BY g.start, g.id LIMIT ?""",
            [*params, segment_id, segment_id, segment_id, segment_id, count],
        )
        return [_segment(r) for r in reversed(before)], [_segment(r) for r in after]

    # -- vectors --------------------------------------------------------------------------------------------------

    def segments_without_vectors(self, limit: int, episode_id: int | None = None) -> list[tuple[int, str]]:
        sql = """SELECT g.id, g.text FROM segments g LEFT JOIN segment_vectors v ON v.segment_id = g.id
                 WHERE v.segment_id IS NULL"""
        params: list[Any] = []
        if episode_id is not None:
            sql += " AND g.episode_id = ?"
            params.append(episode_id)
        return [(r["id"], r["text"]) for r in self._run(sql + " ORDER BY g.id LIMIT ?", [*params, limit])]

    def save_vectors(self, ids: Sequence[int], vectors: npt.NDArray[np.float32]) -> None:
        half = np.asarray(vectors, dtype=np.float16)
        with self.transaction() as conn:
            conn.executemany(
                """INSERT INTO segment_vectors (segment_id, vector) VALUES (?, ?)
                   ON CONFLICT (segment_id) DO UPDATE SET vector = excluded.vector""",
                [(int(i), half[k].tobytes()) for k, i in enumerate(ids)],
            )

    def vector_count(self) -> int:
        return int(self._run("SELECT value FROM search_state WHERE key = 'vectors'", [])[0]["value"])

    def vectors_behind(self) -> bool:
        row = self._run(
            """SELECT (SELECT MAX(id) FROM segments) > COALESCE((SELECT MAX(segment_id) FROM segment_vectors), 0)
               AS behind""",
            [],
        )[0]
        return bool(row["behind"])

    def vector_batches(self, size: int = 50_000) -> Iterator[tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]]:
        last = -1
        while True:
            rows = self._run(
                "SELECT segment_id, vector FROM segment_vectors WHERE segment_id > ? ORDER BY segment_id LIMIT ?",
                [last, size],
            )
            if not rows:
                return
            ids = np.array([r["segment_id"] for r in rows], dtype=np.int64)
            vectors = np.frombuffer(b"".join(r["vector"] for r in rows), dtype=np.float16).reshape(len(rows), -1)
            yield ids, vectors.astype(np.float32)
            last = int(ids[-1])

    def episode_segment_ids(self, episode_id: int) -> list[int]:
        return [r["id"] for r in self._run("SELECT id FROM segments WHERE episode_id = ?", [episode_id])]

    def vectors_of(self, ids: Sequence[int]) -> dict[int, npt.NDArray[np.float32]]:
        rows = self._run(
            "SELECT segment_id, vector FROM segment_vectors WHERE segment_id IN (SELECT value FROM json_each(?))",
            [json.dumps([int(i) for i in ids])],
        )
        return {int(r["segment_id"]): np.frombuffer(r["vector"], dtype=np.float16).astype(np.float32) for r in rows}
