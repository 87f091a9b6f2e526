"""The PostgreSQL twin of the store's search tables: full text over `segments.tsv` (a generated tsvector over the
accent-folded text, GIN-indexed) and sentence vectors in `segment_vectors` (pgvector's halfvec(384), HNSW-indexed).

The repository receives the same FTS5 expression the SQLite one does (built by `podscope.search.query`, every word
double-quoted); `fts5_to_tsquery` rewrites it as a tsquery with the same meaning, which is only ever passed as a bound
parameter to `to_tsquery('simple', ?)`, every lexeme single-quoted, so no query text can change the SQL or the
tsquery's structure. Filters are bound values too.

Words and prefixes, alone or joined by OR, without filters and by relevance (most searches, and the text side of
hybrid search), are counted and ranked from the postings table instead (`podscope.store.postgres.postings`): by
bm25 exactly as FTS5 computes it, without reading a segment until the page and the facets' sample are read.

Anything else (phrases, AND, NOT, filters, the date order) goes through GIN. Ranking there: `ts_rank_cd(tsv, query,
1)`, cover density divided by 1 + the log of the segment's length (`ts_rank` for a query with alternatives: see
`_rank`), not bm25. Scores are returned negated so that, as on SQLite, lower is better; the sets of matches are the
same, the order within them may differ (boolean queries' first ten hits are bm25's in about 9 of 10). GIN finds the
matches, but every match's row must still be read (to see it, to rank it, to count it), so the cost of such a
search is the number of matches it reads: the page and the count come from one pass (a materialised CTE of the
matches that pass the filters); the filters are in that pass, so the planner can start from a speaker's segments or
an episode's rather than from every match of the words.

Facets: every match when at most `exact` pass, else about `sample` of them spread evenly by id, each facet (podcast,
person, year) grouped apart; their statement runs beside the page's on a second connection, so on a second core.
`common_terms` decides from the planner's statistics of the `tsv` column when they are clear (and counts, stopping
early, only near the threshold); the vector search filters as it walks the HNSW graph.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any, cast

import numpy as np
import numpy.typing as npt
import psycopg

from podscope.errors import StoreError
from podscope.records import FacetCount, SearchFilters, TextPage
from podscope.store.postgres.db import PgDatabase, native
from podscope.store.postgres.fold import fold
from podscope.store.postgres.postings import EXACT_BELOW, matching_sql, postings_terms, ranked_sql
from podscope.store.segments import SegmentTables, facet, facet_counts

# The words of a quoted FTS5 string as the unicode61 tokenizer sees them: runs of letters and digits.
_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)
_BAREWORD = re.compile(r"[^\W]+", re.UNICODE)


def _lexeme(word: str) -> str:
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "'"


def _phrase(text: str, prefix: bool) -> str:
    words = _TOKEN.findall(fold(text))
    if not words:
        raise StoreError(f"search failed: the FTS5 string {text!r} holds no word")
    lexemes = [_lexeme(w) for w in words]
    if prefix:
        lexemes[-1] += ":*"
    return lexemes[0] if len(lexemes) == 1 else "(" + " <-> ".join(lexemes) + ")"


def fts5_to_tsquery(expr: str) -> str:
    """An FTS5 expression (quoted strings or barewords, `*` prefixes, AND, OR, NOT, parentheses, implicit AND) as
    PostgreSQL tsquery text with the same meaning: "a b" -> ('a' <-> 'b'), "wor" * -> 'wor':*, AND -> &, OR -> |,
    x NOT y -> x & !y. FTS5's precedence (NOT, then AND, then OR) maps onto tsquery's (!, then &, then |) because
    a NOT's operand is always a single string or group. Anything else FTS5 knows (NEAR, column filters, ^) is refused:
    the query parser never writes it."""
    out: list[str] = []
    pending: str | None = None  # the last string, waiting to learn whether a `*` follows it
    i, n = 0, len(expr)

    def flush() -> None:
        nonlocal pending
        if pending is not None:
            out.append(_phrase(pending, prefix=False))
            pending = None

    def operand() -> None:  # a string or group starts: two operands in a row are an implicit AND
        flush()
        if out and (out[-1].endswith(")") or out[-1].endswith("'") or out[-1].endswith(":*")):
            out.append("&")

    while i < n:
        c = expr[i]
        if c.isspace():
            i += 1
        elif c == '"':
            j, buf = i + 1, []
            while True:
                k = expr.find('"', j)
                if k < 0:
                    raise StoreError(f"search failed: an unclosed string in the FTS5 expression {expr!r}")
                buf.append(expr[j:k])
                if k + 1 < n and expr[k + 1] == '"':
                    buf.append('"')
                    j = k + 2
                    continue
                i = k + 1
                break
            operand()
            pending = "".join(buf)
        elif c == "*":
            if pending is None:
                raise StoreError(f"search failed: '*' follows no string in the FTS5 expression {expr!r}")
            out.append(_phrase(pending, prefix=True))
            pending = None
            i += 1
        elif c == "(":
            operand()
            out.append("(")
            i += 1
        elif c == ")":
            flush()
            out.append(")")
            i += 1
        elif m := _BAREWORD.match(expr, i):
            word = m.group()
            i = m.end()
            if word in ("AND", "OR", "NOT"):
                flush()
                out.append({"AND": "&", "OR": "|", "NOT": "& !"}[word])
            elif word == "NEAR" or expr[i : i + 1] == ":":
                raise StoreError(f"search failed: NEAR and column filters are not supported: {expr!r}")
            else:
                operand()
                pending = word
        else:
            raise StoreError(f"search failed: unexpected {c!r} in the FTS5 expression {expr!r}")
    flush()
    return " ".join(out).replace("( ", "(").replace(" )", ")")


_QUERY = "to_tsquery('simple', ?)"


def _rank(tsquery: str, tsv: str = "g.tsv", q: str = "q.q") -> str:
    """The rank of a match, normalised by 1 + log(length) (see the module's notes): cover density, except for a
    query with alternatives (hybrid's relaxed side ORs every content word), where covers cost four times as much to
    find and rank no closer to bm25 (top 200 agreeing 0.61 against 0.63), so the frequency rank does."""
    return f"ts_rank({tsv}, {q}, 1)" if "|" in tsquery else f"ts_rank_cd({tsv}, {q}, 1)"


MARGIN = 1.25  # common_terms: how far from the threshold the statistics settle a term alone
_DATE_ORDER = "published IS NULL, published DESC, episode_id, start, id"  # newest first, in time order


def _ids(ids: Sequence[int]) -> list[int]:
    return [int(i) for i in ids]


def _halfvec(vector: npt.NDArray[Any]) -> str:
    """A vector as halfvec text, rounded to float16 first (what the column keeps)."""
    return "[" + ",".join(repr(float(x)) for x in np.asarray(vector, dtype=np.float16)) + "]"


def _unhalf(data: bytes) -> npt.NDArray[np.float32]:
    """halfvec_send's bytes (dimensions, a zero, then big-endian float16s) as float32."""
    dim = int.from_bytes(data[:2], "big")
    return np.frombuffer(data, dtype=">f2", count=dim, offset=4).astype(np.float32)


class PgSearchTables(SegmentTables):
    """Full-text and vector search over segments on PostgreSQL (`store.search`)."""

    # -- full text ------------------------------------------------------------------------------------------------

    def text_search(
        self, fts: str, f: SearchFilters, *, sort: str = "relevance", limit: int = 10, offset: int = 0
    ) -> list[tuple[int, float]]:
        """(segment id, -rank: lower is better, as bm25 on SQLite) for one page of matches."""
        where, params = self._membership(f)
        tsquery = fts5_to_tsquery(fts)
        terms = postings_terms(tsquery) if sort == "relevance" and not where else None
        if terms is not None:
            ranked, values, scale = ranked_sql(terms, *self._collection())
            rows = self._run(
                f"""WITH {ranked}, n AS MATERIALIZED (SELECT COUNT(*) AS total FROM m)
                    SELECT id, rank * {scale} AS rank FROM m, n ORDER BY m.rank DESC, id LIMIT ? OFFSET ?""",
                [*values, limit, offset],
            )
            return [(r["id"], -float(r["rank"])) for r in rows]
        if sort == "relevance":
            order, extra = "rank DESC, g.id", ""
        else:
            order, extra = (
                "e.published IS NULL, e.published DESC, g.episode_id, g.start, g.id",
                "JOIN episodes e ON e.id = g.episode_id",
            )
        rows = self._run(
            f"""SELECT g.id, {_rank(tsquery)} AS rank FROM {_QUERY} AS q(q), segments g {extra}
                WHERE g.tsv @@ q.q {where} ORDER BY {order} LIMIT ? OFFSET ?""",
            [tsquery, *params, limit, offset],
        )
        return [(r["id"], -float(r["rank"])) for r in rows]

    def text_count(self, fts: str, f: SearchFilters | None = None) -> int:
        where, params = self._membership(f) if f is not None else ("", [])
        rows = self._run(
            f"SELECT COUNT(*) AS n FROM segments g WHERE g.tsv @@ {_QUERY} {where}", [fts5_to_tsquery(fts), *params]
        )
        return int(rows[0]["n"])

    def text_facets(self, fts: str, f: SearchFilters, step: int = 1) -> list[FacetCount]:
        where, params = self._membership(f)
        tiers, tier_param = self._in("a.tier", f.tiers)
        sample = f" AND g.id % {int(step)} = 0" if step > 1 else ""
        rows = self._run(
            f"""WITH groups AS MATERIALIZED (SELECT g.episode_id, g.speaker_id, COUNT(*) AS n FROM segments g
                                            WHERE g.tsv @@ {_QUERY} {sample} {where} GROUP BY 1, 2)
                {facet_counts("groups", tiers)}""",
            [fts5_to_tsquery(fts), *params, tier_param],
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
        """One pass over the matches that pass the filters (a materialised CTE: id, episode, speaker, start, rank)
        for the page and the count, and another beside it for the facets (`_page`). Words and prefixes joined by
        OR, without filters and by relevance, come from the postings instead (`podscope.store.postgres.postings`)."""
        where, params = self._membership(f)
        relevance = sort == "relevance"
        tsquery = fts5_to_tsquery(fts)
        terms = postings_terms(tsquery) if relevance and not where else None
        if terms is not None:
            ranked, values, scale = ranked_sql(terms, *self._collection())
            return self._page(
                (ranked, values),
                scale,
                "SELECT id, rank FROM m ORDER BY rank DESC, id",
                "rank DESC, id",
                matching_sql(terms),  # the facets need only which segments match, not their rank
                "sampled m, LATERAL (SELECT episode_id, speaker_id FROM segments g WHERE g.id = m.id LIMIT 1) g",
                f,
                limit,
                offset,
                (exact, sample),
            )
        if relevance:
            inner, outer = "SELECT id, rank FROM m ORDER BY rank DESC, id", "rank DESC, id"
        else:
            inner = """SELECT m.id, m.rank, e.published, m.episode_id, m.start FROM m JOIN episodes e
                        ON e.id = m.episode_id
                        ORDER BY e.published IS NULL, e.published DESC, m.episode_id, m.start, m.id"""
            outer = _DATE_ORDER
        matches = f"""m AS MATERIALIZED (
                    SELECT g.id, g.episode_id, g.speaker_id, g.start, {_rank(tsquery) if relevance else "0::real"}
                    AS rank FROM {_QUERY} AS q(q), segments g WHERE g.tsv @@ q.q {where})"""
        found = (matches, [tsquery, *params])
        return self._page(found, "1", inner, outer, found, "sampled", f, limit, offset, (exact, sample))

    def _page(
        self,
        matches: tuple[str, list[Any]],
        scale: str,
        inner: str,
        outer: str,
        facet_matches: tuple[str, list[Any]],
        facet_from: str,
        f: SearchFilters,
        limit: int,
        offset: int,
        sampling: tuple[int, int],
    ) -> TextPage:
        """The page (`inner` ordered, limited; numbered by `outer`; its ranks times `scale`, an expression over
        `n.total`) and the count of the matches `m` (CTEs and their parameters: `matches`) from one statement, and
        their facets from another run at the same time on a second connection (the facets cost as much as the rest,
        and one statement runs on one core): there `m` is `facet_matches` (the same segments, perhaps without their
        rank) and `facet_from` gives the episode_id and speaker_id of each match `sampled` for the facets."""
        page = f"""SELECT id, rank * {scale} AS rank, row_number() OVER (ORDER BY {outer}) AS ord
                   FROM ({inner} LIMIT ? OFFSET ?) s, n"""
        tiers, tier_param = self._in("a.tier", f.tiers)
        exact, sample = sampling
        count = f"""n AS MATERIALIZED (SELECT COUNT(*) AS total, CASE WHEN COUNT(*) <= {int(exact)} THEN 1
                                                   ELSE CEIL(COUNT(*) / {int(sample)}::numeric)::bigint END AS step
                    FROM m)"""
        statements = [
            (
                f"""WITH {matches[0]}, {count}, page AS ({page})
                    SELECT 0 AS part, id, rank, ord, NULL AS n FROM page
                    UNION ALL SELECT 1, step, NULL, NULL, total FROM n""",
                [*matches[1], limit, offset],
            ),
            (
                f"""WITH {facet_matches[0]}, {count},
                    sampled AS MATERIALIZED (SELECT m.* FROM m, n  -- (the OR: a row estimate that leads to hash joins)
                        WHERE n.step = 1 OR m.id % n.step = 0),
                    groups AS MATERIALIZED (SELECT episode_id, speaker_id, COUNT(*) AS n FROM {facet_from}
                                            GROUP BY 1, 2)
                    {facet_counts("groups", tiers)}""",
                [*facet_matches[1], tier_param],
            ),
        ]
        try:
            rows, facets = cast(PgDatabase, self._db).portable_together(statements)
        except psycopg.Error as exc:
            raise StoreError(f"search failed in the database: {exc}") from exc
        counts = next(r for r in rows if r["part"] == 1)
        found = sorted((r for r in rows if r["part"] == 0), key=lambda r: r["ord"])
        return TextPage(
            page=[(r["id"], -float(r["rank"])) for r in found],
            total=int(counts["n"]),
            facets=[facet(r) for r in facets],
            step=int(counts["id"]),
        )

    def _collection(self) -> tuple[float, float]:
        """(segments, their average number of words) for bm25: from the planner's statistics in a library of
        EXACT_BELOW segments or more (see `podscope.store.postgres.postings`), counted in a smaller one or one the
        statistics have not reached yet."""
        row = self._run(
            """SELECT s.reltuples AS segments, t.reltuples AS postings,
                      (SELECT SUM(v * f) / NULLIF(SUM(f), 0)
                       FROM pg_stats st, unnest(st.most_common_vals::text::float8[], st.most_common_freqs) AS x(v, f)
                       WHERE st.schemaname = current_schema() AND st.tablename = 'segment_terms' AND st.attname = 'tf')
                      AS tf
               FROM pg_class s, pg_class t WHERE s.oid = 'segments'::regclass AND t.oid = 'segment_terms'::regclass""",
            [],
        )[0]
        if row["segments"] >= EXACT_BELOW and row["postings"] > 0 and row["tf"]:
            segments = float(row["segments"])
            return segments, float(row["postings"]) * float(row["tf"]) / segments
        row = self._run(
            "SELECT (SELECT COUNT(*) FROM segments) AS n, (SELECT SUM(tf) FROM segment_terms) AS words", []
        )[0]
        segments = max(float(row["n"]), 1.0)
        return segments, max(float(row["words"] or 0) / segments, 1.0)

    def common_terms(self, terms: Sequence[str], above: int) -> set[str]:
        """The planner's statistics of `tsv` (the share of rows holding each of its most common lexemes, from a
        sample) settle a term whose estimate is more than MARGIN times the threshold or under 1 / MARGIN of it:
        the sample is 30,000 rows (at the default statistics target), so a share of 1% rests on about 300 of
        them, give or take 6%, and the margin is four times that. A term near the threshold, or any term before
        the table has statistics, is counted, up to `above` + 1 matches."""
        if not terms:
            return set()
        stats = self._run(
            """SELECT s.most_common_elems::text::text[] AS lexemes, s.most_common_elem_freqs AS freqs,
                      GREATEST(c.reltuples, 0) AS rows
               FROM pg_stats s JOIN pg_class c ON c.relname = s.tablename AND c.relnamespace =
                    (SELECT oid FROM pg_namespace WHERE nspname = s.schemaname)
               WHERE s.schemaname = current_schema() AND s.tablename = 'segments' AND s.attname = 'tsv'""",
            [],
        )
        share: dict[str, float] = {}
        floor: float | None = None
        if stats and stats[0]["lexemes"] and stats[0]["rows"] > 0:
            lexemes, freqs, rows = stats[0]["lexemes"], stats[0]["freqs"], float(stats[0]["rows"])
            share = {lexeme: float(freq) * rows for lexeme, freq in zip(lexemes, freqs, strict=False)}
            floor = float(freqs[len(lexemes)]) * rows  # the least common of them: rarer lexemes are not listed
        common, unsure = set(), []
        for term in terms:
            folded = fold(term)
            listed = share.get(folded)
            bound = listed if listed is not None else floor if _TOKEN.fullmatch(folded) else None
            if listed is not None and listed > MARGIN * above:
                common.add(term)
            elif bound is None or bound * MARGIN >= above:  # an unlisted term's bound is the rarest listed one
                unsure.append(term)
        if unsure:
            counted = self._run(
                """SELECT t.term FROM unnest(?::text[], ?::text[]) AS t(term, folded)
                   WHERE (SELECT COUNT(*) FROM (SELECT 1 FROM segments g
                          WHERE g.tsv @@ phraseto_tsquery('simple', t.folded) LIMIT ?) x) > ?""",
                [unsure, [fold(t) for t in unsure], above + 1, above],
            )
            common |= {r["term"] for r in counted}
        return common

    # -- ids from elsewhere (vector search) -----------------------------------------------------------------------

    def term_documents(self, terms: Sequence[str]) -> dict[str, int]:
        """How many segments hold each term: one GIN-index count per term (no vocabulary table here; `ts_stat`
        would read every segment). Terms no segment holds are left out, as on SQLite."""
        if not terms:
            return {}
        rows = self._run(
            """SELECT t.term, (SELECT COUNT(*) FROM segments g WHERE g.tsv @@ phraseto_tsquery('simple', t.folded))
                      AS n
               FROM unnest(?::text[], ?::text[]) AS t(term, folded)""",
            [list(terms), [fold(t) for t in terms]],
        )
        return {r["term"]: int(r["n"]) for r in rows if r["n"]}

    def matching_fts(self, ids: Sequence[int], fts: str) -> set[int]:
        if not ids:
            return set()
        rows = self._run(
            f"SELECT id FROM segments WHERE id = ANY(?) AND tsv @@ {_QUERY}", [_ids(ids), fts5_to_tsquery(fts)]
        )
        return {r["id"] for r in rows}

    # -- vectors --------------------------------------------------------------------------------------------------

    def save_vectors(self, ids: Sequence[int], vectors: npt.NDArray[np.float32]) -> None:
        """Stores (or replaces) each segment's vector as halfvec, sent as text."""
        rows = [(int(i), _halfvec(vectors[k])) for k, i in enumerate(ids)]
        if not rows:
            return
        try:
            with self.transaction():
                self._many(
                    """INSERT INTO segment_vectors (segment_id, vector) VALUES (?, ?::halfvec)
                       ON CONFLICT (segment_id) DO UPDATE SET vector = excluded.vector""",
                    rows,
                )
        except psycopg.Error as exc:
            raise StoreError(f"saving vectors failed in the database: {exc}") from exc

    def vector_count(self) -> int:
        """An exact count (an index-only scan of the primary key; SQLite keeps a counter by triggers instead)."""
        return int(self._run("SELECT COUNT(*) AS n FROM segment_vectors", [])[0]["n"])

    def vector_batches(self, size: int = 50_000) -> Iterator[tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]]:
        last = -1
        while True:
            rows = self._run(
                """SELECT segment_id, halfvec_send(vector) AS vector FROM segment_vectors WHERE segment_id > ?
                   ORDER BY segment_id LIMIT ?""",
                [last, size],
            )
            if not rows:
                return
            ids = np.array([r["segment_id"] for r in rows], dtype=np.int64)
            yield ids, np.stack([_unhalf(bytes(r["vector"])) for r in rows])
            last = int(ids[-1])

    def vectors_of(self, ids: Sequence[int]) -> dict[int, npt.NDArray[np.float32]]:
        rows = self._run(
            "SELECT segment_id, halfvec_send(vector) AS vector FROM segment_vectors WHERE segment_id = ANY(?)",
            [_ids(ids)],
        )
        return {int(r["segment_id"]): _unhalf(bytes(r["vector"])) for r in rows}

    def nearest(self, vector: npt.NDArray[np.float32], k: int, f: SearchFilters) -> list[tuple[int, float]]:
        """The k segments whose vectors are nearest by cosine (HNSW index), as (id, cosine similarity) best first,
        among those that pass the filters. The graph is walked with a candidate list of k (`hnsw.ef_search`, at
        most 1,000); with filters, the walk goes on until k pass (pgvector's iterative scan) rather than filtering
        only the first candidates. One round trip: the settings and the query go in one pipeline."""
        where, params = self._membership(f)
        text = _halfvec(vector)
        join = "JOIN segments g ON g.id = v.segment_id" if where else ""
        try:
            with self.transaction() as conn, conn.pipeline():
                conn.execute(
                    native("SELECT set_config('hnsw.ef_search', ?, true), set_config('hnsw.iterative_scan', ?, true)"),
                    [str(max(40, min(1000, k))), "relaxed_order" if where else "off"],
                )
                cur = conn.execute(
                    native(
                        f"""SELECT v.segment_id AS id, v.vector <=> ?::halfvec AS distance FROM segment_vectors v {join}
                            WHERE true {where} ORDER BY v.vector <=> ?::halfvec LIMIT ?"""
                    ),
                    [text, *params, text, k],
                )
                rows = cur.fetchall()
        except psycopg.Error as exc:
            raise StoreError(f"vector search failed in the database: {exc}") from exc
        found = [(int(r["id"]), 1.0 - float(r["distance"])) for r in rows]
        return sorted(found, key=lambda p: (-p[1], p[0]))

    def episode_vectors(self, episode_id: int) -> tuple[list[int], npt.NDArray[np.float32]]:
        rows = self._run(
            """SELECT g.id, halfvec_send(v.vector) AS vector FROM segments g
               LEFT JOIN segment_vectors v ON v.segment_id = g.id WHERE g.episode_id = ? ORDER BY g.start, g.id""",
            [episode_id],
        )
        found = [_unhalf(bytes(r["vector"])) if r["vector"] is not None else None for r in rows]
        dim = next((len(v) for v in found if v is not None), 0)
        vectors = np.zeros((len(rows), dim), dtype=np.float32)
        for k, v in enumerate(found):
            if v is not None:
                vectors[k] = v
        return [int(r["id"]) for r in rows], vectors
