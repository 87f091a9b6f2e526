"""Search on a small real library: the Podcasting 2.0 example transcripts (tests/data/transcripts) imported as four
episodes of two podcasts (the SRT twice, as an episode and its rebroadcast, plus the VTT and the JSON), into a real
SQLite file with a real vector index. The tests about results run on both backends: on that file, then on a copy of
it in a real PostgreSQL database (`podscope store copy`), where the same assertions hold. Each test that changes the
library works on its own copy of the file (or of the database)."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing, suppress
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from helpers import DATA, cli, copy_library
from podscope.errors import InputError, NotFound
from podscope.library import Library
from podscope.search.embed import SentenceEmbedder
from podscope.search.engine import Hit, SearchOptions, SearchResult
from podscope.search.query import STOPWORDS, QueryError, normalise, parse, words

TRANSCRIPTS = DATA / "transcripts"
SRT = TRANSCRIPTS / "example.srt"
BUZZCAST = "Buzzcast"
QA = "Podcasting Q&A"
# key -> (file, podcast, title, published, language); "rerun" is a byte-different copy of the SRT (made below).
EPISODES: dict[str, tuple[str, str, str, str | None, str]] = {
    "ten": ("example.srt", BUZZCAST, "10 things we wish we knew", "2021-03-01", "en"),
    "trailer": ("example.vtt", QA, "Do you need a podcast trailer?", "2022-06-15", "en"),
    "rerun": ("rerun.srt", QA, "Best of: rookie mistakes", "2022-11-30", "en-GB"),
    "cold": ("example.json", BUZZCAST, "Cold open", None, "en"),
}
LENGTH = "So is there an ideal podcast length"  # Gilon, in the SRT: the start of a segment
MICS = "or rent a podcasting studio"  # Sarah: "good audio from mic's that costs less than a hundred dollars"


@dataclass(frozen=True)
class Corpus:
    home: Path
    template: Path  # the library file as built, for per-test copies
    ids: dict[str, int]  # episode key -> episode id
    url: str = ""  # the store_url: "" for the SQLite file in the home, else the PostgreSQL database holding a copy
    template_url: str = ""  # on PostgreSQL: a database holding the library as copied, never opened, for tests' copies


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    """The library in a SQLite file, as imported from the transcripts."""
    work = tmp_path_factory.mktemp("search")
    (work / "rerun.srt").write_bytes(SRT.read_bytes() + b"\n")  # same transcript, another file (another hash)
    home = work / "home"
    ids: dict[str, int] = {}
    with Library(home) as lib:
        for key, (name, podcast, title, published, language) in EPISODES.items():
            path = work / name if key == "rerun" else TRANSCRIPTS / name
            result = lib.import_transcript(path, podcast=podcast, title=title, published=published, language=language)
            assert result.created
            ids[key] = result.episode.id
    template = work / "template.db"
    shutil.copy(home / "podscope.db", template)
    return Corpus(home, template, ids)


@pytest.fixture(scope="module")
def corpus(backend: str, built: Corpus, request: pytest.FixtureRequest) -> Corpus:
    """The library on each backend in turn: the SQLite file, then a copy of it in a PostgreSQL database of the
    module's own (`podscope store copy`: the same rows, the same ids), itself a copy of the database the file was
    copied into, which stays untouched for the tests' own copies."""
    if backend == "sqlite":
        return built
    databases = request.getfixturevalue("pg_database")
    template = copy_library(built.home, databases("search_template", template=request.getfixturevalue("pg_template")))
    return replace(built, url=databases("search", template=template), template_url=template)


@pytest.fixture(scope="module")
def shared(corpus: Corpus) -> Iterator[Library]:
    """The module's library, for tests that only read (its embedder stays loaded)."""
    lib = Library(corpus.home, settings={"store_url": corpus.url})
    assert lib.store.location.startswith("postgresql://") == bool(corpus.url)
    yield lib
    lib.close()


def copy_home(corpus: Corpus, home: Path) -> Path:
    """A home holding a copy of the library file (no vector index: it is rebuilt from the file on first use), sharing
    the module's exported embedding model."""
    home.mkdir()
    shutil.copy(corpus.template, home / "podscope.db")
    (home / "models").symlink_to(corpus.home / "models", target_is_directory=True)
    return home


@pytest.fixture()
def fresh(corpus: Corpus, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Library]:
    """A library of the test's own on the corpus's backend: a copy of the file, or on PostgreSQL a copy of the
    module's database."""
    home = copy_home(corpus, tmp_path / "home")
    lib = Library(home, settings={"store_url": own_store(corpus, request)})
    yield lib
    lib.close()


def own_store(corpus: Corpus, request: pytest.FixtureRequest) -> str:
    """The store_url of a test's own copy of the library: "" for the file `copy_home` copied into its home, else a
    new PostgreSQL database copied from the module's untouched one."""
    if not corpus.url:
        return ""
    url: str = request.getfixturevalue("pg_copy")(corpus.template_url)
    return url


def on_store(url: str) -> list[str]:
    """The command line's option for the store at `url` (none for the home's SQLite file)."""
    return ["--store", url] if url else []


def reopen(lib: Library) -> Library:
    """Another Library on the same home and store, as another process would open it."""
    return Library(lib.home, settings={"store_url": lib.settings.store_url})


# -- helpers ----------------------------------------------------------------------------------------------------------


def rows(where: Library | Corpus, sql: str) -> list[tuple[Any, ...]]:
    """The rows of a query run straight on the library's store: its SQLite file or its PostgreSQL database."""
    url = where.settings.store_url if isinstance(where, Library) else where.url
    if not url:
        with closing(sqlite3.connect(where.home / "podscope.db")) as conn:
            return list(conn.execute(sql))
    import psycopg

    with psycopg.connect(url) as conn:
        return list(conn.execute(sql))  # type: ignore[arg-type]


def segments(where: Library | Corpus) -> dict[int, tuple[int, str]]:
    """segment id -> (episode id, text), read straight from the library's store."""
    return {i: (e, t) for i, e, t in rows(where, "SELECT id, episode_id, text FROM segments")}


def counts(where: Library | Corpus) -> tuple[int, ...]:
    tables = ("segments", "episodes", "podcasts", "people", "attributions", "segment_vectors")
    return tuple(rows(where, f"SELECT COUNT(*) FROM {t}")[0][0] for t in tables)


def find(lib: Library, text: str, **options: object) -> SearchResult:
    return lib.search.search(text, SearchOptions(**{"mode": "text", "limit": 1000, **options}))  # type: ignore[arg-type]


def ids(result: SearchResult) -> list[int]:
    return [h.segment_id for h in result.hits]


def has(text: str, phrase: str) -> bool:
    """The text holds the phrase's words, consecutively (case, accents and punctuation aside)."""
    w, p = words(text), words(phrase)
    return any(w[i : i + len(p)] == p for i in range(len(w) - len(p) + 1))


def starts(text: str, prefix: str) -> bool:
    return any(w.startswith(prefix) for w in words(text))


def segment_starting(where: Library | Corpus, opening: str) -> set[int]:
    return {i for i, (_, t) in segments(where).items() if t.startswith(opening)}


# -- the query language -----------------------------------------------------------------------------------------------

Predicate = Callable[[str], bool]
LANGUAGE: list[tuple[str, Predicate]] = [
    ("rookie mistakes", lambda t: has(t, "rookie") and has(t, "mistakes")),
    ('"rookie mistakes"', lambda t: has(t, "rookie mistakes")),
    ('"podcast episode"', lambda t: has(t, "podcast episode")),
    ("podcast episode", lambda t: has(t, "podcast") and has(t, "episode")),
    ("templates AND (outro OR intro)", lambda t: has(t, "templates") and (has(t, "outro") or has(t, "intro"))),
    ("podcast NOT video", lambda t: has(t, "podcast") and not has(t, "video")),
    ("podcast -video", lambda t: has(t, "podcast") and not has(t, "video")),
    ("monetiz*", lambda t: starts(t, "monetiz")),
    ("batch* episodes", lambda t: starts(t, "batch") and has(t, "episodes")),
    ('"show notes" OR "audio editing"', lambda t: has(t, "show notes") or has(t, "audio editing")),
    ("podcast or minutes", lambda t: has(t, "podcast") and has(t, "or") and has(t, "minutes")),
    ("podcast OR minutes", lambda t: has(t, "podcast") or has(t, "minutes")),
    ("guest* -(email OR podcast)", lambda t: starts(t, "guest") and not (has(t, "email") or has(t, "podcast"))),
    (
        "(intro OR outro) (templates OR scratch) -email",
        lambda t: (
            (has(t, "intro") or has(t, "outro")) and (has(t, "templates") or has(t, "scratch")) and not has(t, "email")
        ),
    ),
    ("ÉPISODE Description", lambda t: has(t, "episode") and has(t, "description")),
    ("mic's", lambda t: has(t, "mic s")),
    ("pod-casters", lambda t: has(t, "pod casters")),
    ("Q&A", lambda t: has(t, "q a")),
    ("FATHER OR nooooo", lambda t: has(t, "father") or has(t, "nooooo")),
]


@pytest.mark.models
@pytest.mark.parametrize(("query", "expected"), LANGUAGE, ids=[q for q, _ in LANGUAGE])
def test_text_results_are_exactly_the_segments_the_query_describes(
    shared: Library, corpus: Corpus, query: str, expected: Predicate
) -> None:
    want = {i for i, (_, text) in segments(corpus).items() if expected(text)}
    assert want, "the query should describe some segment of the real transcripts"
    result = find(shared, query)
    assert set(ids(result)) == want
    assert result.total == len(want) == len(result.hits)
    assert [h.score for h in result.hits] == sorted((h.score for h in result.hits), reverse=True)


@pytest.mark.models
def test_operators_are_upper_case_only_and_narrow_or_widen(shared: Library) -> None:
    lower, upper = find(shared, "podcast or minutes"), find(shared, "podcast OR minutes")
    assert 0 < lower.total < find(shared, "podcast").total < upper.total
    phrase, both = find(shared, '"podcast episode"'), find(shared, "podcast episode")
    assert set(ids(phrase)) < set(ids(both))
    assert set(ids(find(shared, "podcast -video"))) == set(ids(find(shared, "podcast NOT video")))
    assert set(ids(find(shared, "Épisode"))) == set(ids(find(shared, "episode")))


@pytest.mark.parametrize(
    ("query", "fts"),
    [
        ("rookie mistakes", '("rookie" AND "mistakes")'),
        ('"Rookie Mistakes"', '"Rookie Mistakes"'),  # FTS5 folds case and accents itself
        ("monetiz*", '"monetiz" *'),
        ("podcast -video", '("podcast" NOT ("video"))'),
        ("a b -c -d", '(("a" AND "b") NOT ("c" OR "d"))'),
        ("a OR b c", '("a" OR ("b" AND "c"))'),
        ("Café", '"Café"'),
        ("NEAR(a b)", '("NEAR" AND "a" AND "b")'),
        ("text:foo", '"text foo"'),
        ("{a b}", '("a" AND "b")'),
        ("^start", '"start"'),
        ("a + b", '("a" AND "b")'),
        ("rank MATCH x", '("rank" AND "MATCH" AND "x")'),
        ("x\x00y", '"x y"'),
    ],
)
def test_every_word_reaches_fts5_quoted(query: str, fts: str) -> None:
    assert parse(query).fts == fts


def _outside_quotes(fts: str) -> str:
    return re.sub(r'"(?:[^"]|"")*"', "", fts)


@pytest.mark.parametrize(
    "query",
    [
        "'; DROP TABLE segments; x",
        "NEAR(show notes, 2)",
        "text:podcast OR rank:1",
        "{text} : podcast",
        "col1 : x*",
        "^podcast",
        "show + notes",
        "rank MATCH 'x'",
        "podcast\x00notes",
        "日本語 الصوت",
        "a AND b OR NOT-c d*",
    ],
)
def test_the_fts_expression_holds_nothing_but_quoted_strings_and_operators(query: str) -> None:
    rest = _outside_quotes(parse(query).fts)
    assert re.fullmatch(r"[\s()*]*((AND|OR|NOT)[\s()*]*)*", rest), rest


# (query, character the caret points at (0-based), words of the message)
MALFORMED: list[tuple[str, int, str]] = [
    ('"rookie mistakes', 0, "never closed"),
    ('rookie "mistakes', 7, "never closed"),
    ('""', 0, "empty phrase"),
    ('podcast " ,; " video', 8, "empty phrase"),
    ("(intro OR outro", 0, "'(' is never closed"),
    ("show (intro OR outro", 5, "'(' is never closed"),
    ("intro) outro", 5, "')' has no '('"),
    ("(intro)) outro", 7, "')' has no '('"),
    ("()", 0, "empty group"),
    ("intro () outro", 6, "empty group"),
    ("AND intro", 0, "AND needs something before it"),
    ("intro AND", 6, "AND needs something after it"),
    ("intro AND AND outro", 6, "AND needs something after it"),
    ("intro OR", 6, "OR needs something after it"),
    ("intro OR OR outro", 6, "OR needs something after it"),
    ("OR intro", 0, ""),  # the message is wrong (see test_or_at_the_start_says_so): only the caret is checked here
    ("intro NOT", 6, "NOT needs a word"),
    ("NOT intro", 0, "only exclusions"),
    ("-video", 0, "only exclusions"),
    ("-video -audio", 0, "only exclusions"),
    ("podcast (-video)", 9, "only exclusions"),
    ("podcast - video", 8, "'-' excludes what follows it"),
    ("podcast -", 8, "'-' excludes what follows it"),
    ("*", 0, "needs the start of a word"),
    ("podcast *", 8, "needs the start of a word"),
    ("mon*tize", 3, "only goes at the end of a word"),
    ("", 0, "nothing to search for"),
    ("   ", 0, "nothing to search for"),
    ("?! ... ,;", 0, "nothing to search for"),
]


@pytest.mark.parametrize(("query", "position", "message"), MALFORMED, ids=[repr(q) for q, _, _ in MALFORMED])
def test_malformed_queries_point_at_the_problem(query: str, position: int, message: str) -> None:
    with pytest.raises(QueryError) as caught:
        parse(query)
    error = caught.value
    assert isinstance(error, InputError)
    assert error.position == position
    text = str(error)
    assert message in text.splitlines()[0]
    assert f"(at character {position + 1})" in text
    *_, shown, caret = text.split("\n")
    assert shown == f"  {query}"
    assert caret == " " * (2 + position) + "^"


@pytest.mark.models
@pytest.mark.parametrize(("query", "position", "message"), MALFORMED, ids=[repr(q) for q, _, _ in MALFORMED])
def test_a_malformed_query_searches_its_words_and_says_why(
    shared: Library, query: str, position: int, message: str
) -> None:
    """A search box answers: broken syntax searches the words alone, only exclusions find nothing, and both say why
    in `notice`; a query without a single word is refused."""
    found = words(query)
    if not found:
        with pytest.raises(QueryError, match=message):
            shared.search.search(query, SearchOptions(mode="hybrid"))
        return
    for mode in ("text", "hybrid"):
        result = shared.search.search(query, SearchOptions(mode=mode, limit=50))
        assert result.notice is not None and message in result.notice
        if "only exclusions" in message:
            assert result.total == 0 and not result.hits
            continue
        assert result.notice.endswith(f"searched the words alone ({' '.join(dict.fromkeys(found))})")
        if mode == "text":
            plain = shared.search.search(" ".join(dict.fromkeys(found)), SearchOptions(mode="text", limit=50))
            assert plain.notice is None and [h.start for h in result.hits] == [h.start for h in plain.hits]


def test_or_at_the_start_says_so() -> None:
    with pytest.raises(QueryError) as caught:
        parse("OR intro")
    assert "OR needs something before it" in str(caught.value)


INJECTIONS = [
    "'; DROP TABLE segments; --",
    "podcast'; DELETE FROM segments; SELECT '",
    '" OR 1=1 --',
    '" OR ""="',
    'podcast" OR 1=1 OR "',
    "NEAR(show notes)",
    "NEAR(show notes, 2)",
    "text:podcast",
    "segments_fts:podcast",
    "- text : podcast",
    "{text} : podcast",
    "^podcast",
    "show + notes",
    "rank MATCH podcast",
    "podcast) OR (1=1",
    "podcast*) OR rowid > 0 OR (x",
    "podcast\x00notes",
    "\x00",
    "日本語のポッドキャスト",
    "🎙️ podcast",
    "podcast' UNION SELECT name FROM sqlite_master --",
    "x" * 5000,
]


@pytest.mark.models
def test_injection_attempts_never_reach_the_database(fresh: Library) -> None:
    before = counts(fresh)
    for query in INJECTIONS:
        for mode in ("text", "hybrid"):
            try:
                result = fresh.search.search(query, SearchOptions(mode=mode, limit=50))
            except QueryError:
                continue
            if mode == "text":  # it parsed: every hit holds some of the query's words
                assert all(h.highlights for h in result.hits), query
    assert counts(fresh) == before
    assert find(fresh, "podcast").total == sum(has(t, "podcast") for _, t in segments(fresh).values())
    if fresh.settings.store_url:
        return  # the checks below are SQLite's own (its FTS5 index and its file); the counts above hold on both
    with closing(sqlite3.connect(fresh.home / "podscope.db")) as conn:
        conn.execute("INSERT INTO segments_fts (segments_fts) VALUES ('integrity-check')")
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


@pytest.mark.models
def test_many_exclusions_are_not_a_database_error(shared: Library) -> None:
    query = "podcast " + " ".join(f"-w{i}" for i in range(96))
    assert find(shared, query).total == find(shared, "podcast").total
    with pytest.raises(QueryError, match="too many words"):
        parse(" ".join(f"w{i}" for i in range(200)))


@pytest.mark.models
def test_nested_groups_are_not_a_database_error(shared: Library) -> None:
    deep = "".join(f"(w{i} OR " for i in range(33)) + "podcast" + ")" * 33
    with suppress(QueryError):  # too deep for the parser is a QueryError, never a database error
        assert find(shared, deep).total == find(shared, "podcast").total
    alternating = "".join(f"(w{i} OR (podcast " for i in range(7)) + "podcast" + "))" * 7
    assert find(shared, alternating).total == find(shared, "podcast").total


@pytest.mark.models
def test_deeply_nested_parentheses_are_a_query_error(shared: Library) -> None:
    query = "(" * 400 + "podcast" + ")" * 400
    with suppress(QueryError):  # a QueryError would do as well as results
        assert find(shared, query).total == find(shared, "podcast").total


def _import_vtt(lib: Library, path: Path, speaker: str, line: str) -> int:
    path.write_text(f"WEBVTT\n\n00:00:00.000 --> 00:00:04.000\n<v {speaker}>{line}\n", encoding="utf-8")
    return lib.import_transcript(path, podcast="Kaffeepause", title="Folge 1", published="2023-01-01").episode.id


@pytest.mark.models
def test_accents_and_case_are_ignored_both_ways(fresh: Library, tmp_path: Path) -> None:
    episode = _import_vtt(fresh, tmp_path / "cafe.vtt", "Anna", "Wir treffen uns im Café Central, nicht im Büro.")
    for query in ("Café", "cafe", "CAFE", "büro", "Buro", "BÜRO", "caf*"):
        result = find(fresh, query)
        assert [h.episode_id for h in result.hits] == [episode], query
        [(start, end)] = result.hits[0].highlights
        assert result.hits[0].text[start:end] in ("Café", "Büro"), query


@pytest.mark.models
def test_a_word_with_sharp_s_finds_itself(fresh: Library, tmp_path: Path) -> None:
    episode = _import_vtt(fresh, tmp_path / "strasse.vtt", "Anna", "Wir wohnen in der Hauptstraße.")
    assert [h.episode_id for h in find(fresh, "Hauptstraße").hits] == [episode]


# -- filters ----------------------------------------------------------------------------------------------------------


@pytest.mark.models
def test_speaker_filter(shared: Library, corpus: Corpus) -> None:
    everyone = find(shared, "podcast")
    sarah = find(shared, "podcast", speaker="Sarah")
    assert 0 < sarah.total < everyone.total
    assert all(h.person == "Sarah" and h.speaker == "Sarah" and h.tier == "confirmed" for h in sarah.hits)
    assert set(ids(sarah)) == {h.segment_id for h in everyone.hits if h.person == "Sarah"}
    assert {h.episode_id for h in sarah.hits} == {corpus.ids["ten"], corpus.ids["trailer"], corpus.ids["rerun"]}
    assert find(shared, "podcast", speaker="any").total == everyone.total  # every speaker here is named
    with pytest.raises(NotFound, match="people list"):
        find(shared, "podcast", speaker="Joe Rogan")


@pytest.mark.models
def test_podcast_filter(shared: Library, corpus: Corpus) -> None:
    everyone = find(shared, "podcast")
    qa = find(shared, "podcast", podcast=QA)
    assert 0 < qa.total < everyone.total
    assert {h.episode_id for h in qa.hits} == {corpus.ids["trailer"], corpus.ids["rerun"]}
    assert find(shared, "podcast", podcast=BUZZCAST).total + qa.total == everyone.total
    with pytest.raises(NotFound, match="podcasts"):
        find(shared, "podcast", podcast="Buzzcasts")


@pytest.mark.models
def test_date_filters_are_inclusive(shared: Library, corpus: Corpus) -> None:
    import datetime as dt

    day = dt.date(2022, 6, 15)  # the trailer's date
    only = find(shared, "podcast", since=day, until=day)
    assert {h.episode_id for h in only.hits} == {corpus.ids["trailer"]}
    after = find(shared, "podcast", since=day)
    assert {h.episode_id for h in after.hits} == {corpus.ids["trailer"], corpus.ids["rerun"]}
    upto = find(shared, "podcast", until=day)
    assert {h.episode_id for h in upto.hits} == {corpus.ids["ten"], corpus.ids["trailer"]}
    assert find(shared, "father", since=dt.date(1900, 1, 1)).total == 0  # an undated episode has no date to pass
    assert find(shared, "father").total == 1
    empty = find(shared, "podcast", since=dt.date(2023, 1, 1), until=dt.date(2022, 1, 1))  # said, not refused
    assert empty.total == 0 and empty.notice is not None and "is after --until 2022-01-01" in empty.notice


@pytest.mark.models
def test_language_filter(shared: Library, corpus: Corpus) -> None:
    gb = find(shared, "podcast", language="en-GB")
    en = find(shared, "podcast", language="en")
    assert gb.total > 0 and en.total > 0
    assert {h.episode_id for h in gb.hits} == {corpus.ids["rerun"]}
    assert corpus.ids["rerun"] not in {h.episode_id for h in en.hits}
    assert gb.total + en.total == find(shared, "podcast").total
    assert find(shared, "podcast", language="fr").total == 0


@pytest.mark.models
def test_a_low_attribution_is_hidden_unless_asked_for(fresh: Library, corpus: Corpus) -> None:
    ten = corpus.ids["ten"]
    speaker_id = fresh.store.people.find_speaker(ten, "Gilon")
    gillian = fresh.store.people.find("Gillian")
    assert gillian is not None
    fresh.store.people.set_attribution(speaker_id, gillian.id, score=0.4, tier="low", reason="test", machine=False)

    [hit] = [h for h in find(fresh, '"Joe Rogan"').hits if h.episode_id == ten]
    assert (hit.speaker, hit.person, hit.tier, hit.label) == ("Gilon", None, None, "Gilon")
    assert ten not in {h.episode_id for h in find(fresh, "podcast", speaker="Gillian").hits}
    assert ten not in {h.episode_id for h in find(fresh, "podcast", speaker="Gilon").hits}

    [low] = [h for h in find(fresh, '"Joe Rogan"', min_tier="low").hits if h.episode_id == ten]
    assert (low.speaker, low.person, low.tier) == ("Gillian", "Gillian", "low")
    assert ten in {h.episode_id for h in find(fresh, "podcast", speaker="Gillian", min_tier="low").hits}
    # "any" named person: the low one counts only when asked for
    assert low.segment_id not in ids(find(fresh, '"Joe Rogan"', speaker="any"))
    assert low.segment_id in ids(find(fresh, '"Joe Rogan"', speaker="any", min_tier="low"))


@pytest.mark.models
@pytest.mark.parametrize("mode", ["text", "hybrid"])
def test_sort_by_date_puts_the_newest_first(shared: Library, mode: str) -> None:
    result = shared.search.search("father OR podcast", SearchOptions(mode=mode, sort="date", limit=1000))
    dates = [h.published for h in result.hits]
    assert len(set(dates)) == 4 and dates[-1] is None  # three dated episodes, the undated one last
    dated = [d for d in dates if d is not None]
    assert dated == sorted(dated, reverse=True)
    for a, b in zip(result.hits, result.hits[1:], strict=False):  # within an episode, in time order
        if a.episode_id == b.episode_id:
            assert a.start <= b.start


@pytest.mark.models
@pytest.mark.parametrize(("mode", "sort"), [("text", "relevance"), ("text", "date"), ("hybrid", "relevance")])
def test_pages_do_not_overlap_and_cover_the_results_in_order(shared: Library, mode: str, sort: str) -> None:
    everything = shared.search.search("podcast", SearchOptions(mode=mode, sort=sort, limit=1000))
    assert everything.total == len(everything.hits) > 20
    pages: list[int] = []
    for offset in range(0, everything.total + 7, 7):
        page = shared.search.search("podcast", SearchOptions(mode=mode, sort=sort, limit=7, offset=offset))
        assert page.total == everything.total and page.offset == offset
        assert len(page.hits) == min(7, max(0, everything.total - offset))
        pages += ids(page)
    assert pages == ids(everything)
    assert len(set(pages)) == len(pages)


@pytest.mark.models
def test_bad_options_are_input_errors(shared: Library) -> None:
    for options in (
        SearchOptions(mode="fuzzy"),
        SearchOptions(sort="loudest"),
        SearchOptions(min_tier="maybe"),
        SearchOptions(limit=0),
        SearchOptions(offset=-1),
        SearchOptions(context=21),
    ):
        with pytest.raises(InputError):
            shared.search.search("podcast", options)


# -- highlights -------------------------------------------------------------------------------------------------------

# (query, terms that may be highlighted as (words, prefix), words that must not be)
HIGHLIGHTS: list[tuple[str, list[tuple[tuple[str, ...], bool]], set[str]]] = [
    ("podcast* -video", [(("podcast",), True)], {"video"}),
    ('"show notes" OR outro', [(("show", "notes"), False), (("outro",), False)], set()),
    ("intro OR (outro -templates)", [(("intro",), False), (("outro",), False)], {"templates"}),
    (
        'guest* AND ("audio editing" OR template*)',
        [(("guest",), True), (("audio", "editing"), False), (("template",), True)],
        set(),
    ),
    ("ÉPISODE description", [(("episode",), False), (("description",), False)], set()),
    ("mic's", [(("mic", "s"), False)], set()),
]


def _matches(span_words: list[str], term: tuple[tuple[str, ...], bool]) -> bool:
    want, prefix = term
    if len(span_words) != len(want) or span_words[:-1] != list(want[:-1]):
        return False
    return span_words[-1] == want[-1] or (prefix and span_words[-1].startswith(want[-1]))


@pytest.mark.models
@pytest.mark.parametrize(("query", "terms", "excluded"), HIGHLIGHTS, ids=[q for q, _, _ in HIGHLIGHTS])
def test_highlights_are_the_matched_words(
    shared: Library, query: str, terms: list[tuple[tuple[str, ...], bool]], excluded: set[str]
) -> None:
    result = find(shared, query)
    assert result.hits
    for hit in result.hits:
        assert hit.highlights, hit.text
        assert list(hit.highlights) == sorted(hit.highlights)
        for start, end in hit.highlights:
            assert 0 <= start < end <= len(hit.text)
            piece = words(hit.text[start:end])
            assert any(_matches(piece, t) for t in terms), (query, hit.text[start:end])
            assert not excluded & set(piece)
            assert hit.text[start:end] == hit.text[start:end].strip()
        # every occurrence of a term is highlighted
        tokens = [(m.start(), m.end(), normalise(m.group())) for m in re.finditer(r"\w+", hit.text)]
        for words_, prefix in terms:
            for i in range(len(tokens) - len(words_) + 1):
                window = tokens[i : i + len(words_)]
                if _matches([w for _, _, w in window], (words_, prefix)):
                    s, e = window[0][0], window[-1][1]
                    assert any(a <= s and e <= b for a, b in hit.highlights), (query, hit.text[s:e])


@pytest.mark.models
def test_an_excluded_word_is_not_highlighted_where_it_occurs(shared: Library) -> None:
    hits = [h for h in find(shared, "intro OR (outro -templates)").hits if has(h.text, "templates")]
    assert hits  # matched by "intro", and holding the excluded word too
    for hit in hits:
        marked = {normalise(hit.text[s:e]) for s, e in hit.highlights}
        assert "intro" in marked and "templates" not in marked


@pytest.mark.models
def test_a_phrase_is_highlighted_whole(shared: Library) -> None:
    result = find(shared, '"audio editing software"')
    assert result.total == 4  # twice in each copy of the SRT
    for hit in result.hits:
        assert [hit.text[s:e] for s, e in hit.highlights] == ["audio editing software"]


@pytest.mark.models
def test_a_semantic_hit_highlights_content_words_only(shared: Library) -> None:
    result = shared.search.search("what is the ideal podcast length", SearchOptions(mode="semantic", limit=3))
    target = next(h for h in result.hits if h.text.startswith(LENGTH))
    marked = {normalise(target.text[s:e]) for s, e in target.highlights}
    assert marked == {"ideal", "podcast", "length"}


# -- facets -----------------------------------------------------------------------------------------------------------


@pytest.mark.models
@pytest.mark.parametrize("query", ["podcast", "father OR podcast", '"show notes" OR Gillian'])
def test_text_facets_add_up_and_agree_with_the_filters(shared: Library, query: str) -> None:
    import datetime as dt

    result = find(shared, query)
    assert set(result.facets) == {"speaker", "podcast", "year"}
    for name, facet in result.facets.items():
        assert sum(facet.values()) == result.total, name
        assert all(n > 0 for n in facet.values())
    for person, n in result.facets["speaker"].items():
        assert person != "(unnamed)"  # every speaker here is named
        assert find(shared, query, speaker=person).total == n, person
    for podcast, n in result.facets["podcast"].items():
        assert find(shared, query, podcast=podcast).total == n, podcast
    dated = 0
    for year, n in result.facets["year"].items():
        if year == "(undated)":
            continue
        y = int(year)
        assert find(shared, query, since=dt.date(y, 1, 1), until=dt.date(y, 12, 31)).total == n, year
        dated += n
    assert result.facets["year"].get("(undated)", 0) == result.total - dated
    assert list(result.facets["year"]) == sorted(result.facets["year"], reverse=True)


@pytest.mark.models
def test_semantic_facets_count_the_candidates(shared: Library) -> None:
    result = shared.search.search("how long should an episode be", SearchOptions(mode="hybrid"))
    assert result.total > 10
    for name, facet in result.facets.items():
        assert sum(facet.values()) == result.total, name


# -- changes show at once ---------------------------------------------------------------------------------------------


@pytest.mark.models
def test_reattribution_changes_results_at_once(fresh: Library, corpus: Corpus) -> None:
    ten, rerun = corpus.ids["ten"], corpus.ids["rerun"]
    before = {h.episode_id: h for h in find(fresh, '"Joe Rogan"').hits}
    assert before[ten].speaker == before[rerun].speaker == "Gilon"
    gilon_ten = find(fresh, "podcast", speaker="Gilon").facets["podcast"]

    fresh.people.assign(ten, "Gilon", "Gillian")  # the SRT's "Gilon" is Gillian

    after = {h.episode_id: h for h in find(fresh, '"Joe Rogan"').hits}
    assert (after[ten].speaker, after[ten].person, after[ten].tier) == ("Gillian", "Gillian", "confirmed")
    assert after[rerun].speaker == "Gilon"
    gillian = find(fresh, "podcast", speaker="Gillian")
    assert {h.episode_id for h in gillian.hits} == {ten, corpus.ids["trailer"]}
    assert {h.episode_id for h in find(fresh, "podcast", speaker="Gilon").hits} == {rerun}
    assert find(fresh, "podcast", speaker="Gilon").facets["podcast"] == {QA: gilon_ten[QA]}
    semantic = fresh.search.search("ideal podcast length", SearchOptions(mode="semantic", speaker="Gillian"))
    assert any(h.episode_id == ten and h.text.startswith(LENGTH) for h in semantic.hits)
    assert all(h.person == "Gillian" for h in semantic.hits)


@pytest.mark.models
def test_the_vector_index_is_rebuilt_from_the_library_file(fresh: Library) -> None:
    index = fresh.home / "index" / "segments.faiss"
    if fresh.settings.store_url:  # on PostgreSQL the server's HNSW index holds the vectors: no local file, no rebuild
        assert fresh.search.vectors.size == len(segments(fresh))
        result = fresh.search.search("ideal podcast length", SearchOptions(mode="semantic", limit=3))
        assert any(h.text.startswith(LENGTH) for h in result.hits)
        assert not (fresh.home / "index").exists()
        return
    assert not index.exists() and fresh.search.vectors.size == 0
    result = fresh.search.search("ideal podcast length", SearchOptions(mode="semantic", limit=3))
    assert any(h.text.startswith(LENGTH) for h in result.hits)
    assert index.is_file() and fresh.search.vectors.size == len(segments(fresh))


@pytest.mark.models
def test_deleting_an_episode_removes_it_from_every_kind_of_result(fresh: Library, corpus: Corpus) -> None:
    rerun = corpus.ids["rerun"]
    probe = SearchOptions(mode="semantic", limit=50)
    assert rerun in {h.episode_id for h in fresh.search.search("ideal podcast length", probe).hits}
    size = fresh.search.vectors.size
    gone = {i for i, (e, _) in segments(fresh).items() if e == rerun}
    assert size == len(segments(fresh)) and gone

    fresh.delete_episode(rerun)

    assert fresh.search.vectors.size == size - len(gone)
    for mode in ("text", "semantic", "hybrid"):
        for query in ('"Joe Rogan"', "ideal podcast length", "podcast"):
            result = fresh.search.search(query, SearchOptions(mode=mode, limit=1000))
            assert result.hits, (mode, query)
            assert not gone & set(ids(result)), (mode, query)
            assert sum(result.facets["podcast"].values()) == result.total
    with reopen(fresh) as again:  # and from the index (file or server) another process reads
        assert again.search.vectors.size == size - len(gone)
        assert not gone & set(ids(again.search.search("ideal podcast length", probe)))


# -- modes ------------------------------------------------------------------------------------------------------------


@pytest.mark.models
@pytest.mark.parametrize(
    ("query", "opening"),
    [("What is the right duration for a show?", LENGTH), ("Which cheap microphone should I buy?", MICS)],
)
def test_semantic_search_finds_a_paraphrase(shared: Library, corpus: Corpus, query: str, opening: str) -> None:
    [target, *_] = [t for t in segments(corpus).values() if t[1].startswith(opening)]
    content = set(words(query)) - STOPWORDS
    assert not content & set(words(target[1])), "the query must share no content word with the segment"
    assert not any(h.text.startswith(opening) for h in find(shared, " OR ".join(sorted(content))).hits)
    result = shared.search.search(query, SearchOptions(mode="semantic", limit=4))
    assert any(h.text.startswith(opening) for h in result.hits[:4]), [h.text[:40] for h in result.hits]
    assert [h.score for h in result.hits] == sorted((h.score for h in result.hits), reverse=True)


@pytest.mark.models
def test_hybrid_puts_the_exact_match_first(shared: Library) -> None:
    result = shared.search.search("Joe Rogan", SearchOptions(mode="hybrid"))
    assert [has(h.text, "Joe Rogan") for h in result.hits[:2]] == [True, True]
    first = result.hits[0]
    assert [first.text[s:e] for s, e in first.highlights] == ["Joe", "Rogan"]


@pytest.mark.models
@pytest.mark.parametrize(
    ("query", "holds"),
    [
        ('"show notes" -templates', lambda t: has(t, "show notes") and not has(t, "templates")),
        ("guest* -podcast", lambda t: starts(t, "guest") and not has(t, "podcast")),
        ("microphone OR equipment", lambda t: has(t, "microphone") or has(t, "equipment")),
        (
            '"social media" AND (graphic OR picture)',
            lambda t: has(t, "social media") and (has(t, "graphic") or has(t, "picture")),
        ),
    ],
)
def test_hybrid_results_honour_the_query_syntax(shared: Library, query: str, holds: Predicate) -> None:
    hybrid = shared.search.search(query, SearchOptions(mode="hybrid", limit=1000))
    assert hybrid.hits
    assert all(holds(h.text) for h in hybrid.hits), query
    assert set(ids(hybrid)) == set(ids(find(shared, query)))


def test_hybrid_text_side_is_any_content_word() -> None:
    # Stop words go, and so do words that punctuation splits into stop words and single letters ("that's", "I'm"):
    # they carry nothing, and as phrases they would cost a check of positions; "e-mail" keeps its content.
    assert parse("That's what runners call the wall, I'm told: e-mail").relaxed_fts() == (
        '"runners" OR "call" OR "wall" OR "told" OR "e mail"'
    )
    assert parse("runners call the wall").relaxed_fts({"call"}) == '"runners" OR "wall"'
    assert parse("it's what it is").relaxed_fts() == '"it s" OR "what" OR "it" OR "is"'  # nothing else: all of them


@pytest.mark.models
def test_plain_hybrid_adds_results_by_meaning(shared: Library) -> None:
    text = find(shared, "microphone")
    hybrid = shared.search.search("microphone", SearchOptions(mode="hybrid", limit=1000))
    assert text.total == 0 < hybrid.total  # the transcript says "mic's" and "audio", never "microphone"


@pytest.mark.models
def test_onnx_and_torch_embeddings_agree(built: Corpus) -> None:
    texts = [t for _, t in list(segments(built).values())[:3]] + ["Which cheap microphone should I buy?"]
    onnx = SentenceEmbedder(built.home / "models", "onnx")(texts)
    torch = SentenceEmbedder(built.home / "models", "torch")(texts)
    assert onnx.shape == torch.shape == (4, 384)
    assert np.allclose(np.linalg.norm(onnx, axis=1), 1.0, atol=1e-4)
    cosine = (onnx * torch).sum(axis=1)
    assert (cosine > 0.999).all(), cosine
    assert (onnx @ onnx.T)[0, 3] < 0.9  # different sentences stay apart


# -- context ----------------------------------------------------------------------------------------------------------


@pytest.mark.models
def test_context_gives_the_neighbouring_segments_in_time_order(shared: Library, corpus: Corpus) -> None:
    episode = shared.transcript(corpus.ids["ten"]).segments
    i = next(k for k, s in enumerate(episode) if s.text.startswith(LENGTH))
    result = find(shared, '"Joe Rogan"', context=2, podcast=BUZZCAST)
    [hit] = result.hits
    assert [line.text for line in hit.before] == [s.text for s in episode[i - 2 : i]]
    assert [line.text for line in hit.after] == [s.text for s in episode[i + 1 : i + 3]]
    assert [line.speaker for line in hit.before] == ["Travis", "Travis"]
    assert [line.speaker for line in hit.after] == ["Gilon", "Gilon"]
    starts_ = [line.start for line in hit.before] + [hit.start] + [line.start for line in hit.after]
    assert starts_ == sorted(starts_)

    [first] = find(shared, '"rookie mistakes"', context=1, podcast=BUZZCAST).hits  # the episode's first segment
    assert first.before == () and [line.text for line in first.after] == [episode[1].text]
    [last] = find(shared, "nooooo", context=3).hits  # the last segment of a two-segment episode
    assert [line.text for line in last.before] == ["I am your father."] and last.after == ()
    assert find(shared, '"Joe Rogan"').hits[0].before == ()


# -- the command line -------------------------------------------------------------------------------------------------


@pytest.mark.models
def test_cli_search_json_is_the_complete_result(corpus: Corpus, tmp_path: Path) -> None:
    home = copy_home(corpus, tmp_path / "home")
    store = on_store(corpus.url)  # the module's database is only read here
    proc = cli(home, "search", '"show notes"', "--mode", "text", "--limit", "3", "--context", "1", "--json", *store)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert set(result) == {"query", "mode", "total", "hits", "facets", "offset", "estimated", "notice"}
    assert result["query"] == '"show notes"' and result["mode"] == "text" and result["total"] > 3
    assert len(result["hits"]) == 3
    for hit in result["hits"]:
        assert set(hit) == {f for f in Hit.__dataclass_fields__}
        assert 0 <= hit["start"] < hit["end"]
        assert hit["highlights"] and all(words(hit["text"][s:e]) == ["show", "notes"] for s, e in hit["highlights"])
        assert len(hit["before"]) == 1 and len(hit["after"]) == 1
        assert {"start", "end", "speaker", "text"} <= set(hit["after"][0])
    assert set(result["facets"]) == {"speaker", "podcast", "year"}
    assert sum(result["facets"]["podcast"].values()) == result["total"]

    proc = cli(home, "search", "ideal length", "--speaker", "Gilon", "--since", "2022-01-01", "--json", *store)
    assert proc.returncode == 0, proc.stderr
    hybrid = json.loads(proc.stdout)
    assert hybrid["mode"] == "hybrid" and hybrid["hits"]
    assert all(h["speaker"] == "Gilon" and h["published"] >= "2022-01-01" for h in hybrid["hits"])
    assert hybrid["hits"][0]["text"].startswith(LENGTH)


@pytest.mark.models
@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["?!"], ["nothing to search for", "(at character 1)", "\n  ?!\n  ^"]),
        (["podcast", "--speaker", "Nobody"], ["no person named 'Nobody'"]),
        (["podcast", "--since", "01/01/2023"], ["YYYY-MM-DD"]),
    ],
)
def test_cli_errors_are_a_message_not_a_traceback(corpus: Corpus, args: list[str], needles: list[str]) -> None:
    proc = cli(corpus.home, "search", *args, *on_store(corpus.url))
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    assert proc.stdout == ""
    assert proc.stderr.startswith("Error: ")
    assert "Traceback" not in proc.stderr
    for needle in needles:
        assert needle in proc.stderr, proc.stderr


@pytest.mark.models
@pytest.mark.parametrize(
    ("args", "note"),
    [
        (["ideal (length"], "'(' is never closed (at character 7): searched the words alone (ideal length)"),
        (["podcast", "--since", "2023-01-01", "--until", "2022-01-01"], "is after --until 2022-01-01"),
    ],
)
def test_cli_a_query_it_cannot_read_as_written_is_answered_with_a_note(
    corpus: Corpus, args: list[str], note: str
) -> None:
    proc = cli(corpus.home, "search", *args, *on_store(corpus.url))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.startswith("Note: ") and note in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.models
def test_cli_delete_then_search(corpus: Corpus, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    home = copy_home(corpus, tmp_path / "home")
    store = on_store(own_store(corpus, request))
    rerun = corpus.ids["rerun"]

    def episodes_found(*args: str) -> set[int]:
        proc = cli(home, "search", "Joe Rogan", "--limit", "100", "--json", *args, *store)
        assert proc.returncode == 0, proc.stderr
        return {h["episode_id"] for h in json.loads(proc.stdout)["hits"]}

    assert rerun in episodes_found()
    proc = cli(home, "delete", str(rerun), "--yes", *store)
    assert proc.returncode == 0, proc.stderr
    assert f"Deleted episode {rerun}" in proc.stderr
    assert episodes_found() == episodes_found("--mode", "text") == {corpus.ids["ten"]}
    assert rerun not in episodes_found("--mode", "semantic")
    again = cli(home, "delete", str(rerun), "--yes", *store)
    assert again.returncode == 1 and "Traceback" not in again.stderr
