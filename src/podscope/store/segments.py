"""What a search reads besides its index, written once for both engines: the filters as membership tests, the rows a
hit shows (with its speaker's name at the filters' tiers), a hit's neighbours, facets of a set of ids, and the
segments still without a sentence vector. The engines' own indexes (FTS5 and faiss on SQLite, a tsvector and
pgvector on PostgreSQL) are in `podscope.store.search` and `podscope.store.postgres.search`, on top of this."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from podscope.errors import NotFound, StoreError
from podscope.records import TIERS, FacetCount, SearchFilters, SegmentRow
from podscope.store.names import name_key
from podscope.store.sql import Row, SqlTables


def facet(row: Mapping[str, Any]) -> FacetCount:
    return FacetCount(facet=row["facet"], value=row["value"], n=int(row["n"]))


def facet_counts(groups: str, tiers: str) -> str:
    """The facets (facet, value, n) of matches counted per episode speaker in the CTE `groups` (episode_id,
    speaker_id, n), as the end of a WITH clause: each facet grouped apart, so a page gets a row per podcast, person
    and year rather than one per combination of them, and each episode, podcast, speaker and person is looked up
    once. `tiers` tests `a.tier`."""
    return f""", by_episode AS (SELECT episode_id, SUM(n) AS n FROM {groups} GROUP BY episode_id),
               by_podcast_year AS MATERIALIZED (SELECT e.podcast_id, substr(e.published, 1, 4) AS year, SUM(x.n) AS n
                                   FROM by_episode x JOIN episodes e ON e.id = x.episode_id GROUP BY 1, 2),
               by_speaker AS (SELECT speaker_id, SUM(n) AS n FROM {groups} GROUP BY speaker_id)
               SELECT 'podcast' AS facet, p.title AS value, SUM(x.n) AS n
               FROM by_podcast_year x JOIN podcasts p ON p.id = x.podcast_id GROUP BY p.title
               UNION ALL
               SELECT 'year', year, SUM(n) FROM by_podcast_year GROUP BY year
               UNION ALL
               SELECT 'speaker', pe.name, SUM(x.n) FROM by_speaker x
               LEFT JOIN attributions a ON a.speaker_id = x.speaker_id AND {tiers}
               LEFT JOIN people pe ON pe.id = a.person_id
               GROUP BY pe.name"""


def segment(row: Mapping[str, Any]) -> SegmentRow:
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


class SegmentTables(SqlTables):
    """The part of `store.search` both engines share (see the module's notes)."""

    def _run(self, sql: str, params: Sequence[Any]) -> Sequence[Row]:
        try:
            return self._q(sql, params)
        except self._dialect.error as exc:
            raise StoreError(f"search failed in the database: {exc}") from exc

    def _from(self, f: SearchFilters) -> tuple[str, Any]:
        """Segments with their episode, podcast, speaker and the speaker's person at the filters' tiers."""
        tiers, param = self._in("a.tier", f.tiers)
        return (
            f"""FROM segments g
                JOIN episodes e ON e.id = g.episode_id
                JOIN podcasts p ON p.id = e.podcast_id
                LEFT JOIN episode_speakers s ON s.id = g.speaker_id
                LEFT JOIN attributions a ON a.speaker_id = g.speaker_id AND {tiers}
                LEFT JOIN people pe ON pe.id = a.person_id""",
            param,
        )

    def _membership(self, f: SearchFilters) -> tuple[str, list[Any]]:
        """The filters as membership tests on a segment's own columns (episode_id, speaker_id), each set computed
        once (`Dialect.in_set`): far cheaper per matching row than joining five tables, and on PostgreSQL never a
        join the planner could turn into one index scan per episode. Podcast titles and people's names compare by
        their keys (`podscope.store.names`)."""
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
            clauses.append(
                self._dialect.in_set("g.episode_id", f"SELECT id FROM episodes WHERE {' AND '.join(episode)}")
            )
        if f.speaker is not None:
            if f.speaker.lower() == "any":
                tiers, param = self._in("tier", f.tiers)
                clauses.append(
                    self._dialect.in_set("g.speaker_id", f"SELECT speaker_id FROM attributions WHERE {tiers}")
                )
                params.append(param)
            else:
                tiers, param = self._in("a.tier", f.tiers)
                clauses.append(
                    self._dialect.in_set(
                        "g.speaker_id",
                        "SELECT a.speaker_id FROM attributions a JOIN people pe ON pe.id = a.person_id"
                        f" WHERE pe.name_key = ? AND {tiers}",
                    )
                )
                params.extend([name_key(f.speaker), param])
        return (" AND " + " AND ".join(clauses)) if clauses else "", params

    def check_filters(self, f: SearchFilters) -> None:
        if f.min_tier not in TIERS:
            raise NotFound(f"tier {f.min_tier!r}: expected one of {', '.join(TIERS)}")
        if f.podcast is not None and not self._q("SELECT 1 FROM podcasts WHERE title_key = ?", (name_key(f.podcast),)):
            raise NotFound(f"no podcast named {f.podcast!r}; `podscope podcasts` lists them")
        if (
            f.speaker is not None
            and f.speaker.lower() != "any"
            and not self._q("SELECT 1 FROM people WHERE name_key = ?", (name_key(f.speaker),))
        ):
            raise NotFound(f"no person named {f.speaker!r}; `podscope people list` lists them (or use 'any')")

    # -- ids from elsewhere (vector search) -----------------------------------------------------------------------

    def keep_matching(self, ids: Sequence[int], f: SearchFilters) -> list[int]:
        if not ids:
            return []
        where, params = self._membership(f)
        among, param = self._in("g.id", [int(i) for i in ids])
        rows = self._run(f"SELECT g.id FROM segments g WHERE {among} {where}", [param, *params])
        found = {r["id"] for r in rows}
        return [i for i in ids if i in found]

    def segment_id_bound(self) -> int:
        return int(self._run("SELECT COALESCE(MAX(id), 0) AS n FROM segments", [])[0]["n"])

    def facets_of(self, ids: Sequence[int], f: SearchFilters) -> list[FacetCount]:
        among, param = self._in("id", [int(i) for i in ids])
        tiers, tier_param = self._in("a.tier", f.tiers)
        rows = self._run(
            f"""WITH groups AS MATERIALIZED (
                    SELECT episode_id, speaker_id, COUNT(*) AS n FROM segments WHERE {among} GROUP BY 1, 2)
                {facet_counts("groups", tiers)}""",
            [param, tier_param],
        )
        return [facet(r) for r in rows]

    # -- what a hit shows -----------------------------------------------------------------------------------------

    def segment_rows(self, ids: Sequence[int], f: SearchFilters) -> dict[int, SegmentRow]:
        frm, tiers = self._from(f)
        among, param = self._in("g.id", [int(i) for i in ids])
        rows = self._run(
            f"""SELECT g.id, g.episode_id, g.start, g."end", g.text, s.label, pe.name AS person, a.tier, a.score,
                       e.title AS episode, e.published, e.language, p.title AS podcast
                {frm} WHERE {among}""",
            [tiers, param],
        )
        return {r["id"]: segment(r) for r in rows}

    def neighbours(self, segment_id: int, count: int, f: SearchFilters) -> tuple[list[SegmentRow], list[SegmentRow]]:
        frm, tiers = self._from(f)
        columns = 'g.id, g.start, g."end", g.text, s.label, pe.name AS person, a.tier'
        anchor = "(SELECT episode_id, start, id FROM segments WHERE id = ?) o"
        before = self._run(
            f"""SELECT {columns} {frm} JOIN {anchor} ON g.episode_id = o.episode_id
                WHERE (g.start, g.id) < (o.start, o.id) ORDER BY g.start DESC, g.id DESC LIMIT ?""",
            [tiers, segment_id, count],
        )
        after = self._run(
            f"""SELECT {columns} {frm} JOIN {anchor} ON g.episode_id = o.episode_id
                WHERE (g.start, g.id) > (o.start, o.id) ORDER BY g.start, g.id LIMIT ?""",
            [tiers, segment_id, count],
        )
        return [segment(r) for r in reversed(before)], [segment(r) for r in after]

    # -- vectors --------------------------------------------------------------------------------------------------

    def segments_without_vectors(self, limit: int, episode_id: int | None = None) -> list[tuple[int, str]]:
        sql = """SELECT g.id, g.text FROM segments g LEFT JOIN segment_vectors v ON v.segment_id = g.id
                 WHERE v.segment_id IS NULL"""
        params: list[Any] = []
        if episode_id is not None:
            sql += " AND g.episode_id = ?"
            params.append(episode_id)
        return [(r["id"], r["text"]) for r in self._run(sql + " ORDER BY g.id LIMIT ?", [*params, limit])]

    def vectors_behind(self) -> bool:
        row = self._run(
            """SELECT COALESCE((SELECT MAX(id) FROM segments) > COALESCE((SELECT MAX(segment_id) FROM segment_vectors),
               0), false) AS behind""",
            [],
        )[0]
        return bool(row["behind"])

    def episode_segment_ids(self, episode_id: int) -> list[int]:
        return [r["id"] for r in self._run("SELECT id FROM segments WHERE episode_id = ?", [episode_id])]
