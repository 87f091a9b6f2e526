"""The PostgreSQL search repository on a real server, checked against the SQLite FTS5 repository on the same rows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from podscope.errors import NotFound, StoreError
from podscope.records import SearchFilters
from podscope.search.query import parse
from podscope.store.names import name_key
from podscope.store.sqlite import Store

pytest.importorskip("psycopg", reason="pip install 'podscope[postgres]'")

from podscope.store.postgres.db import PgDatabase
from podscope.store.postgres.fold import fold
from podscope.store.postgres.postings import postings_terms
from podscope.store.postgres.search import PgSearchTables, fts5_to_tsquery

pytestmark = pytest.mark.postgres  # these tests need a PostgreSQL server (a throwaway one, see conftest)

PODCASTS = [(1, "Tech Talk"), (2, "Cooking Hour")]
EPISODES = [  # id, podcast, title, published, language
    (1, 1, "Ep one", "2023-05-01", "en"),
    (2, 1, "Ep two", "2024-02-01", "en"),
    (3, 2, "Soup", "2024-06-01", "fr"),
]
SPEAKERS = [(1, 1, "SPEAKER_00"), (2, 1, "SPEAKER_01"), (3, 2, "SPEAKER_00"), (4, 3, "SPEAKER_00")]
PEOPLE = [(1, "Ada Lovelace"), (2, "Bob Smith")]
ATTRIBUTIONS = [(1, 1, 0.9, "confirmed"), (2, 2, 0.3, "low"), (3, 1, 0.7, "matched"), (4, 2, 0.8, "verified")]
SEGMENTS = [  # id, episode, speaker, start, end, text
    (1, 1, 1, 0.0, 5.0, "Rookie mistakes with a cheap microphone"),
    (2, 1, 2, 5.0, 10.0, "Mistakes by a rookie are common in podcasting"),
    (3, 1, 1, 10.0, 15.0, "The budget microphone sounds fine for a podcast"),
    (4, 1, 2, 15.0, 20.0, "A video podcast needs a big screen"),
    (5, 2, 3, 0.0, 4.0, "Monetization and monetizing your show"),
    (6, 2, 3, 4.0, 8.0, "We met at the Café de Flore in Paris"),
    (7, 2, None, 8.0, 12.0, "The cafe was crowded; don't stop the podcast"),
    (8, 3, 4, 0.0, 6.0, "Une soupe à l'oignon, c'est DÉLICIEUX"),
    (9, 3, 4, 6.0, 9.0, "Rookie cooks make mistakes with salt"),
    (10, 3, 4, 9.0, 12.0, "Video recipes on a big screen, not a small podcast"),
]

QUERIES = [
    "rookie mistakes",
    '"rookie mistakes"',
    '"mistakes with"',
    "microphone AND (cheap OR budget)",
    "podcast NOT video",
    "podcast -video",
    'podcast -"big screen"',
    "monetiz*",
    "Monet* show",
    "café",
    "cafe",
    "CAFÉ",
    "delicieux",
    "Délicieux",
    "mistakes OR soupe",
    "don't",
    "l'oignon",
    "rookie -(salt OR cheap)",
    "(video OR microphone) screen",
    "screen OR microphone -cheap",
    "rookie OR podcast OR soupe -(mistakes video)",
    "nothing matches this",
]


@dataclass
class Stores:
    pg: PgSearchTables
    sqlite: Store


def _insert(execute: Any, mark: str) -> None:
    def q(sql: str) -> str:
        return sql.replace("?", mark)

    for row in PODCASTS:
        execute(q("INSERT INTO podcasts (id, title, title_key) VALUES (?, ?, ?)"), (*row, name_key(row[1])))
    for row in EPISODES:
        execute(q("INSERT INTO episodes (id, podcast_id, title, published, language) VALUES (?, ?, ?, ?, ?)"), row)
    for row in SPEAKERS:
        execute(q("INSERT INTO episode_speakers (id, episode_id, label) VALUES (?, ?, ?)"), row)
    for row in PEOPLE:
        execute(q("INSERT INTO people (id, name, name_key) VALUES (?, ?, ?)"), (*row, name_key(row[1])))
    for row in ATTRIBUTIONS:
        execute(q("INSERT INTO attributions (speaker_id, person_id, score, tier) VALUES (?, ?, ?, ?)"), row)


def _insert_pg(conn: Any) -> None:
    """The rows and segments on PostgreSQL, each segment with its folded text (which podscope writes)."""
    _insert(conn.execute, "%s")
    for row in SEGMENTS:
        conn.execute(
            'INSERT INTO segments (id, episode_id, speaker_id, start, "end", text, folded)'
            " VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (*row, fold(row[-1])),
        )


@pytest.fixture()
def stores(pg_url: str, tmp_path: Path) -> Iterator[Stores]:
    db = PgDatabase(pg_url)
    lite = Store(tmp_path / "library.db")
    try:
        with db.transaction() as conn:
            _insert_pg(conn)
        with lite.db.transaction() as sconn:
            _insert(sconn.execute, "?")
            for row in SEGMENTS:
                sconn.execute(
                    'INSERT INTO segments (id, episode_id, speaker_id, start, "end", text) VALUES (?, ?, ?, ?, ?, ?)',
                    row,
                )
        yield Stores(PgSearchTables(db), lite)
    finally:
        lite.close()
        db.close()


# -- the translator ----------------------------------------------------------------------------------------------------


def test_fts5_expressions_become_tsqueries_with_the_same_shape() -> None:
    cases = {
        "rookie mistakes": "('rookie' & 'mistakes')",
        '"rookie mistakes"': "('rookie' <-> 'mistakes')",
        "microphone AND (cheap OR budget)": "('microphone' & ('cheap' | 'budget'))",
        "podcast -video": "('podcast' & ! ('video'))",
        'podcast NOT "big screen"': "('podcast' & ! (('big' <-> 'screen')))",
        "monetiz*": "'monetiz':*",
        "don't*": "('don' <-> 't':*)",
        "Café": "'cafe'",
    }
    for query, expected in cases.items():
        assert fts5_to_tsquery(parse(query).fts) == expected, query
    # What the parser never writes but FTS5 allows: barewords, implicit AND, doubled quotes; a lone quote's text
    # cannot escape its lexeme.
    assert fts5_to_tsquery('alpha "beta gamma" delta') == "'alpha' & ('beta' <-> 'gamma') & 'delta'"
    assert fts5_to_tsquery('"it""s"') == "('it' <-> 's')"
    assert fts5_to_tsquery(parse("alpha OR beta gamma").relaxed_fts()) == "'alpha' | 'beta' | 'gamma'"
    for bad in ('"open', "* x", "NEAR(a b)", "text: a", '"a" ^ "b"', '"!!!"'):
        with pytest.raises(StoreError):
            fts5_to_tsquery(bad)


# -- full text against SQLite's FTS5 ---------------------------------------------------------------------------------


def test_every_query_matches_the_same_segments_as_sqlite(stores: Stores) -> None:
    none = SearchFilters()
    for query in QUERIES:
        fts = parse(query).fts
        lite = stores.sqlite.search.text_search(fts, none, limit=100)
        pg = stores.pg.text_search(fts, none, limit=100)
        assert {i for i, _ in pg} == {i for i, _ in lite}, query
        assert stores.pg.text_count(fts) == stores.sqlite.search.text_count(fts) == len(pg), query
        # Scores: lower is better, as bm25's; ties go by id.
        scores = [s for _, s in pg]
        assert scores == sorted(scores), query
        assert stores.pg.matching_fts(list(range(1, 11)), fts) == {i for i, _ in lite}, query
    # Real values, not only agreement.
    ids = lambda q: {i for i, _ in stores.pg.text_search(parse(q).fts, none, limit=100)}  # noqa: E731
    assert ids('"rookie mistakes"') == {1}
    assert ids("rookie mistakes") == {1, 2, 9}
    assert ids("café") == ids("cafe") == ids("CAFÉ") == {6, 7}
    assert ids("podcast -video") == {3, 7}
    assert ids("monetiz*") == {5}
    assert ids("delicieux") == {8}
    assert ids("rookie -(salt OR cheap)") == {2}


def test_relevance_ranks_denser_matches_first_and_pages(stores: Stores) -> None:
    none = SearchFilters()
    fts = parse("podcast").fts
    ranked = stores.pg.text_search(fts, none, limit=100)
    assert {i for i, _ in ranked} == {3, 4, 7, 10}
    assert all(s < 0 for _, s in ranked)
    page = stores.pg.text_search(fts, none, limit=2, offset=1)
    assert page == ranked[1:3]
    # "monetiz*" hits two words in segment 5 only.
    ((five, score),) = stores.pg.text_search(parse("monetiz*").fts, none)
    assert five == 5 and score < 0


def test_date_order_and_filters_agree_with_sqlite(stores: Stores) -> None:
    fts = parse("rookie OR podcast OR mistakes OR cafe").fts
    cases = [
        SearchFilters(),
        SearchFilters(speaker="Ada Lovelace"),
        SearchFilters(speaker="ada lovelace"),
        SearchFilters(speaker="Bob Smith"),
        SearchFilters(speaker="Bob Smith", min_tier="low"),
        SearchFilters(speaker="any"),
        SearchFilters(speaker="any", min_tier="confirmed"),
        SearchFilters(podcast="cooking hour"),
        SearchFilters(since=dt.date(2024, 1, 1)),
        SearchFilters(until=dt.date(2023, 12, 31)),
        SearchFilters(language="fr"),
        SearchFilters(podcast="Tech Talk", speaker="any", since=dt.date(2024, 1, 1)),
    ]
    for f in cases:
        lite = stores.sqlite.search.text_search(fts, f, sort="date", limit=100)
        pg = stores.pg.text_search(fts, f, sort="date", limit=100)
        assert [i for i, _ in pg] == [i for i, _ in lite], f
        assert stores.pg.text_count(fts, f) == stores.sqlite.search.text_count(fts, f) == len(pg), f
        assert stores.pg.keep_matching([10, 1, 99, 4], f) == stores.sqlite.search.keep_matching([10, 1, 99, 4], f)
        relevance = stores.pg.text_search(fts, f, limit=100)
        assert {i for i, _ in relevance} == {i for i, _ in pg}, f
    date = lambda f: [i for i, _ in stores.pg.text_search(fts, f, sort="date", limit=100)]  # noqa: E731
    assert date(SearchFilters()) == [9, 10, 6, 7, 1, 2, 3, 4]
    assert date(SearchFilters(speaker="Ada Lovelace")) == [6, 1, 3]
    assert date(SearchFilters(speaker="Bob Smith")) == [9, 10]  # the low-tier attribution does not count
    assert date(SearchFilters(speaker="Bob Smith", min_tier="low")) == [9, 10, 2, 4]
    assert date(SearchFilters(speaker="any", min_tier="confirmed")) == [1, 3]
    assert date(SearchFilters(podcast="cooking hour")) == [9, 10]
    assert date(SearchFilters(until=dt.date(2023, 12, 31))) == [1, 2, 3, 4]


def test_facets_term_counts_and_filter_checks(stores: Stores) -> None:
    fts = parse("rookie OR podcast OR mistakes OR cafe").fts
    for f in (SearchFilters(), SearchFilters(min_tier="low"), SearchFilters(podcast="Tech Talk")):
        pg = sorted(stores.pg.text_facets(fts, f), key=repr)
        assert pg == sorted(stores.sqlite.search.text_facets(fts, f), key=repr)
        assert sorted(stores.pg.facets_of([1, 2, 6, 9], f), key=repr) == sorted(
            stores.sqlite.search.facets_of([1, 2, 6, 9], f), key=repr
        )
    facets = {(c.facet, c.value): c.n for c in stores.pg.text_facets(fts, SearchFilters())}
    assert facets == {  # each facet counts every match once
        ("podcast", "Tech Talk"): 6,
        ("podcast", "Cooking Hour"): 2,
        ("speaker", "Ada Lovelace"): 3,
        ("speaker", None): 3,
        ("speaker", "Bob Smith"): 2,
        ("year", "2023"): 4,
        ("year", "2024"): 4,
    }
    sampled = stores.pg.text_facets(fts, SearchFilters(), step=2)  # only even ids: 2, 4, 6, 10
    assert {c.facet: 0 for c in sampled} == {"podcast": 0, "speaker": 0, "year": 0}
    assert all(sum(c.n for c in sampled if c.facet == name) == 4 for name in ("podcast", "speaker", "year"))

    terms = ["rookie", "podcast", "cafe", "absent"]
    assert stores.pg.term_documents(terms) == stores.sqlite.search.term_documents(terms)
    assert stores.pg.term_documents(terms) == {"rookie": 3, "podcast": 4, "cafe": 2}
    assert stores.pg.term_documents([]) == {}
    for above in (0, 1, 2, 3, 4):  # counted exactly (a table this small has no statistics to settle them)
        assert stores.pg.common_terms(terms, above) == stores.sqlite.search.common_terms(terms, above), above
    assert stores.pg.common_terms(terms, 2) == {"rookie", "podcast"} and stores.pg.common_terms([], 0) == set()
    stores.pg._q("ANALYZE segments")  # with statistics: the same answers
    for above in (0, 1, 2, 3, 4):
        assert stores.pg.common_terms(terms, above) == stores.sqlite.search.common_terms(terms, above), above
    assert stores.pg.segment_id_bound() == 10
    assert sorted(stores.pg.episode_segment_ids(2)) == [5, 6, 7]

    stores.pg.check_filters(SearchFilters(speaker="ada LOVELACE", podcast="TECH TALK"))
    stores.pg.check_filters(SearchFilters(speaker="any"))
    for f in (SearchFilters(speaker="Nobody"), SearchFilters(podcast="Nope"), SearchFilters(min_tier="best")):  # type: ignore[arg-type]
        with pytest.raises(NotFound):
            stores.pg.check_filters(f)


def test_segment_rows_and_neighbours_agree_with_sqlite(stores: Stores) -> None:
    for f in (SearchFilters(), SearchFilters(min_tier="low")):
        rows = stores.pg.segment_rows([1, 2, 7, 8, 99], f)
        assert rows == stores.sqlite.search.segment_rows([1, 2, 7, 8, 99], f)
        for anchor in (1, 2, 4, 6, 9):
            assert stores.pg.neighbours(anchor, 2, f) == stores.sqlite.search.neighbours(anchor, 2, f)
    rows = stores.pg.segment_rows([2, 8], SearchFilters())
    assert set(rows) == {2, 8}
    assert (rows[2].person, rows[2].tier, rows[2].label) == (None, None, "SPEAKER_01")  # low is below matched
    eight = rows[8]
    assert (eight.person, eight.tier, eight.score, eight.podcast, eight.episode) == (
        "Bob Smith",
        "verified",
        0.8,
        "Cooking Hour",
        "Soup",
    )
    assert (eight.start, eight.end, eight.published, eight.language) == (0.0, 6.0, "2024-06-01", "fr")
    before, after = stores.pg.neighbours(2, 2, SearchFilters(min_tier="low"))
    assert [r.id for r in before] == [1] and [r.id for r in after] == [3, 4]
    assert after[1].person == "Bob Smith" and after[1].tier == "low"


# -- vectors -----------------------------------------------------------------------------------------------------------


def _vectors(n: int, seed: int = 7) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal((n, 384)).astype(np.float32)
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def test_vectors_save_count_batch_and_find_their_nearest(stores: Stores) -> None:
    pg = stores.pg
    assert pg.vector_count() == 0 and pg.vectors_behind()
    assert [i for i, _ in pg.segments_without_vectors(100)] == list(range(1, 11))
    assert pg.segments_without_vectors(5, episode_id=2) == [(i, SEGMENTS[i - 1][5]) for i in (5, 6, 7)]
    vectors = _vectors(10)
    ids = list(range(1, 11))
    pg.save_vectors(ids[:6], vectors[:6])
    assert pg.vector_count() == 6 and pg.vectors_behind()
    pg.save_vectors(ids[4:], vectors[4:])  # 5 and 6 again: replaced, not doubled
    stores.sqlite.search.save_vectors(ids, vectors)
    assert pg.vector_count() == 10 and not pg.vectors_behind()
    assert pg.segments_without_vectors(100) == []

    batches = list(pg.vector_batches(size=4))
    assert [b[0].tolist() for b in batches] == [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10]]
    assert all(b[0].dtype == np.int64 and b[1].dtype == np.float32 and b[1].shape[1] == 384 for b in batches)
    got = np.concatenate([b[1] for b in batches])
    np.testing.assert_allclose(got, vectors, atol=1e-3)  # float16 storage
    lite = np.concatenate([b[1] for b in stores.sqlite.search.vector_batches(size=4)])
    np.testing.assert_array_equal(got, lite)  # the same float16 rounding as SQLite's

    for k in (0, 3, 9):
        found = pg.nearest(vectors[k], 3, SearchFilters())
        assert found[0][0] == k + 1 and found[0][1] == pytest.approx(1.0, abs=1e-3)
        assert len(found) == 3 and all(s < 0.5 for _, s in found[1:])
    # A blend of 2 and 7 lies nearest to those two.
    blend = vectors[1] + vectors[6]
    assert {i for i, _ in pg.nearest(blend / np.linalg.norm(blend), 2, SearchFilters())} == {2, 7}
    # Filters: only the cooking podcast's segments, the nearest first; a speaker's segments only.
    cooking = pg.nearest(vectors[0], 5, SearchFilters(podcast="Cooking Hour"))
    assert {i for i, _ in cooking} == {8, 9, 10}
    assert pg.nearest(vectors[8], 1, SearchFilters(podcast="Cooking Hour"))[0][0] == 9
    assert {i for i, _ in pg.nearest(vectors[0], 10, SearchFilters(speaker="Ada Lovelace"))} == {1, 3, 5, 6}


def test_words_inside_urls_emails_and_numbers_match_as_on_sqlite(stores: Stores) -> None:
    texts = ["visit example.com today", "version 3.5 released", "email bob@mail.org", "path /usr/local/bin"]
    with stores.pg.transaction() as conn:
        for i, text in enumerate(texts, 11):
            conn.execute(
                'INSERT INTO segments (id, episode_id, start, "end", text, folded) VALUES (%s, 1, 30, 31, %s, %s)',
                (i, text, fold(text)),
            )
    with stores.sqlite.db.transaction() as sconn:
        for i, text in enumerate(texts, 11):
            sconn.execute(
                'INSERT INTO segments (id, episode_id, start, "end", text) VALUES (?, 1, 30, 31, ?)', (i, text)
            )
    for query in ("example", "example.com", "3.5", "bob", "mail", "usr"):
        fts = parse(query).fts
        lite = {i for i, _ in stores.sqlite.search.text_search(fts, SearchFilters(), limit=100)}
        assert lite, query
        assert {i for i, _ in stores.pg.text_search(fts, SearchFilters(), limit=100)} == lite, query


def test_a_text_page_is_the_page_counts_and_facets_in_one_pass(stores: Stores) -> None:
    fts = parse("rookie OR podcast OR mistakes OR cafe").fts
    filters = (
        SearchFilters(),
        SearchFilters(min_tier="low"),
        SearchFilters(podcast="Tech Talk"),
        SearchFilters(speaker="Ada Lovelace"),
        SearchFilters(since=dt.date(2024, 1, 1)),
        SearchFilters(speaker="Nobody at all"),  # no match passes: the counts and facets still come back
    )
    for f in filters:
        for sort in ("relevance", "date"):
            for exact in (2000, 3):  # 3: more match than that, so facets are sampled every 4th id
                lite = stores.sqlite.search.text_page(fts, f, sort=sort, limit=3, offset=1, exact=exact, sample=2)
                pg = stores.pg.text_page(fts, f, sort=sort, limit=3, offset=1, exact=exact, sample=2)
                assert (pg.total, pg.step) == (lite.total, lite.step), (f, sort, exact)
                assert sorted(pg.facets, key=repr) == sorted(lite.facets, key=repr), (f, sort, exact)
                assert [i for i, _ in pg.page] == [
                    i for i, _ in stores.pg.text_search(fts, f, sort=sort, limit=3, offset=1)
                ]
                if sort == "date":  # the date order is the same on both backends; relevance may differ
                    assert [i for i, _ in pg.page] == [i for i, _ in lite.page], f
    assert stores.pg.text_page(parse("absent").fts, SearchFilters()).total == 0


# -- words and prefixes from the postings table ------------------------------------------------------------------------


def test_only_words_prefixes_and_their_ors_are_read_from_the_postings() -> None:
    terms = lambda q: postings_terms(fts5_to_tsquery(parse(q).fts))  # noqa: E731
    assert terms("podcast") == [("podcast", False)]
    assert terms("monetiz*") == [("monetiz", True)]
    assert terms("mistakes OR soupe OR mon*") == [("mistakes", False), ("soupe", False), ("mon", True)]
    assert terms("(video OR microphone)") == [("video", False), ("microphone", False)]
    for other in ("rookie mistakes", '"rookie mistakes"', "podcast -video", "(video OR microphone) screen", "don't"):
        assert terms(other) is None, other


def _postings(stores: Stores) -> list[tuple[str, int, int, int]]:
    return [
        (r["lexeme"], r["segment_id"], r["tf"], r["len"])
        for r in stores.pg._run("SELECT lexeme, segment_id, tf, len FROM segment_terms ORDER BY 1, 2", [])
    ]


def _from_tsv(stores: Stores) -> list[tuple[str, int, int, int]]:
    rows = stores.pg._run(
        """SELECT t.lexeme, s.id, cardinality(t.positions) AS tf,
                  (SELECT SUM(cardinality(positions)) FROM unnest(s.tsv)) AS len
           FROM segments s, unnest(s.tsv) t ORDER BY t.lexeme COLLATE "C", s.id""",
        [],
    )
    return [(r["lexeme"], r["id"], r["tf"], r["len"]) for r in rows]


def test_the_postings_follow_every_insert_change_and_delete_of_a_segment(stores: Stores) -> None:
    assert _postings(stores) == _from_tsv(stores) and len(_postings(stores)) > 50
    with stores.pg.transaction() as conn:
        conn.execute("UPDATE segments SET folded = %s, text = %s WHERE id = 3", ("podcast podcast gear", "x"))
        conn.execute("UPDATE segments SET start = 11 WHERE id = 4")  # no change of words: nothing to do
        conn.execute("DELETE FROM segments WHERE id = 6")
        conn.execute("DELETE FROM episodes WHERE id = 3")  # its segments go by the cascade
    assert _postings(stores) == _from_tsv(stores)
    assert ("podcast", 3, 2, 3) in _postings(stores)
    assert not [p for p in _postings(stores) if p[1] in (6, 8, 9, 10)]
    none = SearchFilters()
    assert [i for i, _ in stores.pg.text_search(parse("podcast").fts, none)] == [3, 4, 7]
    assert stores.pg.text_page(parse("gear OR cafe").fts, none).total == 2


def test_words_and_prefixes_rank_by_bm25_as_on_sqlite(stores: Stores) -> None:
    none = SearchFilters()
    for query in ("podcast", "rookie", "mistakes OR soupe", "rookie OR podcast OR mistakes OR cafe", "mi*", "a"):
        fts = parse(query).fts
        lite = stores.sqlite.search.text_search(fts, none, limit=100)
        pg = stores.pg.text_search(fts, none, limit=100)
        assert [i for i, _ in pg] == [i for i, _ in lite], query
        assert np.allclose([s for _, s in pg], [s for _, s in lite], rtol=1e-6), query  # the same bm25


def test_a_library_made_before_the_postings_gets_them_when_it_migrates(pg_url: str) -> None:
    import psycopg

    from podscope.store.postgres.migrations import MIGRATIONS

    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
        for name, sql in MIGRATIONS:
            if name < "0017":
                conn.execute(sql)  # type: ignore[arg-type]
                conn.execute("INSERT INTO migrations VALUES (%s, 'then')", (name,))
        _insert_pg(conn)
    db = PgDatabase(pg_url)  # migrates: 0017 writes every segment's postings, then vacuums them
    try:
        stores = Stores(PgSearchTables(db), None)  # type: ignore[arg-type]
        assert _postings(stores) == _from_tsv(stores)
        # vacuumed once committed, for the visibility map index-only scans need (which this test server, without
        # synchronous commits, may not fill at once: its hint bits wait for the WAL writer)
        vacuums = db._query("SELECT vacuum_count AS n FROM pg_stat_user_tables WHERE relname = 'segment_terms'")
        assert vacuums[0]["n"] == 1
        # the shortest segment first (bm25): 4 has 7 words, 3 has 8, 7 has 9, 10 has 10
        assert [i for i, _ in stores.pg.text_search(parse("podcast").fts, SearchFilters())] == [4, 3, 7, 10]
    finally:
        db.close()
