"""The store's search tables: the FTS5 index over segments (kept by triggers) and the segments' sentence vectors.

Every query here takes the user's search only as a bound parameter (an FTS5 expression built by
`podscope.search.query`, whose words are all quoted), and filters only as bound values, so no query text can change
the SQL. FTS5 syntax errors cannot happen for expressions from the parser; any other database error is a bug and
surfaces as StoreError.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence

import numpy as np
import numpy.typing as npt

from podscope.records import FacetCount, SearchFilters, TextPage
from podscope.store.segments import SegmentTables, facet, facet_counts


class SearchTables(SegmentTables):
    """Full-text search (FTS5) and sentence vectors (float16 blobs, indexed by faiss beside the file) over segments
    (`store.search`)."""

    # -- full text ------------------------------------------------------------------------------------------------

    def text_search(
        self, fts: str, f: SearchFilters, *, sort: str = "relevance", limit: int = 10, offset: int = 0
    ) -> list[tuple[int, float]]:
        where, params = self._membership(f)
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
        where, params = self._membership(f)
        return int(
            self._run(
                f"""SELECT COUNT(*) AS n FROM segments_fts JOIN segments g ON g.id = segments_fts.rowid
                    WHERE segments_fts MATCH ? {where}""",
                [fts, *params],
            )[0]["n"]
        )

    def text_facets(self, fts: str, f: SearchFilters, step: int = 1) -> list[FacetCount]:
        where, params = self._membership(f)
        tiers, tier_param = self._in("a.tier", f.tiers)
        sample = f" AND segments_fts.rowid % {int(step)} = 0" if step > 1 else ""
        rows = self._run(
            f"""WITH groups AS MATERIALIZED (
                    SELECT g.episode_id, g.speaker_id, COUNT(*) AS n
                    FROM segments_fts JOIN segments g ON g.id = segments_fts.rowid
                    WHERE segments_fts MATCH ? {sample} {where} GROUP BY 1, 2)
                {facet_counts("groups", tiers)}""",
            [fts, *params, tier_param],
        )
        return [facet(r) for r in rows]

    def text_page(
        self,
        fts: str,
        f: SearchFilters,
        *,
        sort: str = "relevance",
        limit: int = 10,
        offset: int = 0,
        exact: int = 2000,
        sample: int = 1000,
    ) -> TextPage:
        """The FTS5 index counts and ranks without reading segments: a page, the counts and the facets apart."""
        page = self.text_search(fts, f, sort=sort, limit=limit, offset=offset)
        total = self.text_count(fts, f)
        step = 1 if total <= exact else -(-total // sample)
        return TextPage(page, total, self.text_facets(fts, f, step), step)

    def common_terms(self, terms: Sequence[str], above: int) -> set[str]:
        return {term for term, n in self.term_documents(terms).items() if n > above}

    def term_documents(self, terms: Sequence[str]) -> dict[str, int]:
        if not terms:
            return {}
        rows = self._run(
            "SELECT term, doc FROM segments_fts_vocab WHERE term IN (SELECT value FROM json_each(?))",
            [json.dumps(list(terms))],
        )
        return {r["term"]: int(r["doc"]) for r in rows}

    def matching_fts(self, ids: Sequence[int], fts: str) -> set[int]:
        if not ids:
            return set()
        rows = self._run(
            "SELECT rowid FROM segments_fts WHERE segments_fts MATCH ? AND rowid IN (SELECT value FROM json_each(?))",
            [fts, json.dumps([int(i) for i in ids])],
        )
        return {r["rowid"] for r in rows}

    # -- vectors --------------------------------------------------------------------------------------------------

    def save_vectors(self, ids: Sequence[int], vectors: npt.NDArray[np.float32]) -> None:
        half = np.asarray(vectors, dtype=np.float16)
        with self.transaction():
            self._many(
                """INSERT INTO segment_vectors (segment_id, vector) VALUES (?, ?)
                   ON CONFLICT (segment_id) DO UPDATE SET vector = excluded.vector""",
                [(int(i), half[k].tobytes()) for k, i in enumerate(ids)],
            )

    def vector_count(self) -> int:
        return int(self._run("SELECT value FROM search_state WHERE key = 'vectors'", [])[0]["value"])

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

    def episode_vectors(self, episode_id: int) -> tuple[list[int], npt.NDArray[np.float32]]:
        rows = self._run(
            """SELECT g.id, v.vector FROM segments g LEFT JOIN segment_vectors v ON v.segment_id = g.id
               WHERE g.episode_id = ? ORDER BY g.start, g.id""",
            [episode_id],
        )
        dim = next((len(r["vector"]) // 2 for r in rows if r["vector"] is not None), 0)
        vectors = np.zeros((len(rows), dim), dtype=np.float32)
        for k, r in enumerate(rows):
            if r["vector"] is not None:
                vectors[k] = np.frombuffer(r["vector"], dtype=np.float16)
        return [int(r["id"]) for r in rows], vectors

    def vectors_of(self, ids: Sequence[int]) -> dict[int, npt.NDArray[np.float32]]:
        among, param = self._in("segment_id", [int(i) for i in ids])
        rows = self._run(
            f"SELECT segment_id, vector FROM segment_vectors WHERE {among}",
            [param],
        )
        return {int(r["segment_id"]): np.frombuffer(r["vector"], dtype=np.float16).astype(np.float32) for r in rows}
