"""The store on both backends (SQLite and PostgreSQL, through the `store_url` fixture): migrations, one transaction
per episode, crash safety, reading back, names that compare without case."""

from __future__ import annotations

import datetime as dt
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from podscope.errors import InputError, NotFound
from podscope.records import (
    Diarization,
    EpisodeMeta,
    ProcessedEpisode,
    SearchFilters,
    Segment,
    SpeakerTrack,
    Turn,
    Word,
)
from podscope.store import Store, StoreBackend, open_store
from podscope.store.migrations import MIGRATIONS


def processed(content_hash: str = "abc", bad_turn: bool = False, podcast: str = "Test Pod") -> ProcessedEpisode:
    rng = np.random.default_rng(0)
    emb = [rng.standard_normal(192).astype(np.float32) for _ in range(2)]
    words_a = (Word(0.5, 0.9, " Hello", 0.9, "SPEAKER_00"), Word(1.0, 1.4, " there.", 0.8, "SPEAKER_00"))
    words_b = (Word(2.0, 2.3, " Hi!", 0.95, "SPEAKER_01"),)
    turns = [Turn(0.4, 1.5, "SPEAKER_00"), Turn(1.9, 2.5, "SPEAKER_01")]
    if bad_turn:
        turns.append(Turn(3.0, 2.0, "SPEAKER_01"))  # end before start: violates a CHECK, after rows were written
    return ProcessedEpisode(
        meta=EpisodeMeta(podcast=podcast, title="Pilot", published=dt.date(2025, 9, 26), source="/x/pilot.mp3"),
        content_hash=content_hash,
        duration=3.0,
        language="en",
        asr_model="base",
        asr_source="package",
        segments=(
            Segment(0.5, 1.4, "SPEAKER_00", "Hello there.", words_a),
            Segment(2.0, 2.3, "SPEAKER_01", "Hi!", words_b),
        ),
        diarization=Diarization(
            turns=tuple(turns),
            speakers=(
                SpeakerTrack("SPEAKER_00", emb[0], 1.1, (emb[0], emb[1])),
                SpeakerTrack("SPEAKER_01", emb[1], 0.6),
            ),
        ),
    )


@pytest.fixture()
def store(store_url: str, tmp_path: Path) -> Iterator[StoreBackend]:
    """The store of each backend, empty and migrated."""
    opened = open_store(store_url, tmp_path)
    try:
        yield opened
    finally:
        opened.close()


def integrity_error(store: StoreBackend) -> type[Exception]:
    """What a violated constraint raises on this backend."""
    if isinstance(store, Store):
        return sqlite3.IntegrityError
    import psycopg

    return psycopg.IntegrityError


def test_migrations_are_recorded_and_idempotent(store: StoreBackend, store_url: str, tmp_path: Path) -> None:
    assert store.applied_migrations() == [name for name, _ in MIGRATIONS]
    assert store.migrate() == []
    store.close()
    again = open_store(store_url, tmp_path)
    try:
        assert again.migrate() == []
    finally:
        again.close()


def test_episode_round_trip(store: StoreBackend) -> None:
    episode_id = store.episodes.save(processed())
    ep = store.episodes.get(episode_id)
    assert (ep.podcast, ep.title, ep.published, ep.speaker_count, ep.segment_count) == (
        "Test Pod",
        "Pilot",
        dt.date(2025, 9, 26),
        2,
        2,
    )
    t = store.episodes.transcript(episode_id)
    assert [s.text for s in t.segments] == ["Hello there.", "Hi!"]
    assert [w.text for w in t.segments[0].words] == [" Hello", " there."]
    assert t.segments[1].words[0].speaker == "SPEAKER_01"
    speakers = store.episodes.speakers(episode_id)
    assert speakers[0].embedding is not None and speakers[0].embedding.shape == (192,)
    np.testing.assert_array_equal(speakers[0].embedding, processed().diarization.speakers[0].embedding)
    assert [t.speaker for t in store.episodes.turns(episode_id)] == ["SPEAKER_00", "SPEAKER_01"]
    assert t.turns == t.timeline == tuple(store.episodes.turns(episode_id))
    assert store.episodes.find_by_hash("abc") == ep
    assert store.episodes.counts()["speaker_embeddings"] == 2


def test_failed_write_leaves_nothing(store: StoreBackend) -> None:
    with pytest.raises(integrity_error(store)):
        store.episodes.save(processed(bad_turn=True))
    assert store.episodes.counts() == dict.fromkeys(store.episodes.counts(), 0)
    store.episodes.save(processed())  # the next run can redo it
    assert store.episodes.counts()["episodes"] == 1


def test_crash_mid_transaction_loses_no_earlier_work(tmp_path: Path) -> None:
    db = tmp_path / "lib.db"
    store = Store(db)
    store.episodes.save(processed("first"))
    store.close()
    # A separate process starts writing a second episode and dies before committing.
    script = f"""
import os
from podscope.store import Store
s = Store({str(db)!r})
with s.db.transaction() as conn:  # the SQLite connection itself, to write raw rows
    conn.execute("INSERT INTO podcasts (title) VALUES ('Crash Pod')")
    conn.execute("INSERT INTO episodes (podcast_id, title, content_hash) VALUES (last_insert_rowid(), 'x', 'second')")
    os._exit(9)
"""
    proc = subprocess.run([sys.executable, "-c", script], check=False)
    assert proc.returncode == 9
    store = Store(db)
    assert [e.content_hash for e in store.episodes.list_episodes()] == ["first"]
    assert [p.title for p in store.episodes.podcasts()] == ["Test Pod"]


@pytest.mark.postgres
def test_a_process_killed_mid_transaction_leaves_nothing_on_postgres(pg_url: str, tmp_path: Path) -> None:
    store = open_store(pg_url, tmp_path)
    try:
        store.episodes.save(processed("first"))
    finally:
        store.close()
    # A separate process starts writing a second episode and dies before committing: the server rolls it back.
    script = f"""
import os
from podscope.store.postgres.db import PgDatabase
db = PgDatabase({pg_url!r})
with db.transaction() as conn:
    podcast = conn.execute("INSERT INTO podcasts (title) VALUES ('Crash Pod') RETURNING id").fetchone()["id"]
    conn.execute("INSERT INTO episodes (podcast_id, title, content_hash) VALUES (%s, 'x', 'second')", (podcast,))
    assert conn.execute("SELECT COUNT(*) AS n FROM episodes").fetchone()["n"] == 2
    os._exit(9)
"""
    proc = subprocess.run([sys.executable, "-c", script], check=False)
    assert proc.returncode == 9
    store = open_store(pg_url, tmp_path)
    try:
        assert [e.content_hash for e in store.episodes.list_episodes()] == ["first"]
        assert [p.title for p in store.episodes.podcasts()] == ["Test Pod"]
    finally:
        store.close()


def test_listing_and_filters(store: StoreBackend) -> None:
    store.episodes.save(processed("a", podcast="Alpha"))
    store.episodes.save(processed("b", podcast="Beta"))
    assert [e.podcast for e in store.episodes.list_episodes()] == ["Alpha", "Beta"]
    assert [e.content_hash for e in store.episodes.list_episodes("Beta")] == ["b"]
    assert [(p.title, p.episode_count) for p in store.episodes.podcasts()] == [("Alpha", 1), ("Beta", 1)]
    with pytest.raises(NotFound, match="no podcast named 'Gamma'"):
        store.episodes.list_episodes("Gamma")
    with pytest.raises(NotFound, match="no episode with id 99"):
        store.episodes.get(99)


def test_delete_removes_every_row_and_embedding(store: StoreBackend) -> None:
    episode_id = store.episodes.save(processed())
    store.episodes.delete(episode_id)
    assert store.episodes.counts() == dict.fromkeys(store.episodes.counts(), 0)


# -- names without case: the same on both backends ---------------------------------------------------------------------


def test_titles_and_names_are_one_whatever_their_case_on_both_backends(store: StoreBackend) -> None:
    """One podcast is "Élan" and "élan", one person "Ólafur" and "ólafur", one name "Straße" and "STRASSE", on both
    backends: SQLite's NOCASE (ASCII letters only) and PostgreSQL's `lower()` (as the server's locale says) no longer
    decide."""
    first = store.episodes.get(store.episodes.save(processed("a", podcast="Élan")))
    again = store.episodes.get(store.episodes.save(processed("b", podcast="élan")))
    assert again.podcast_id == first.podcast_id and again.podcast == "Élan"  # kept as first written
    store.episodes.save(processed("c", podcast="Zebra Talk"))
    store.episodes.save(processed("d", podcast="alpha"))
    store.episodes.save(processed("e", podcast="Straße"))
    store.episodes.save(processed("f", podcast="STRASSE"))
    # Ordered by the folded title, code point by code point: "é" after every ASCII letter, on both.
    assert [(p.title, p.episode_count) for p in store.episodes.podcasts()] == [
        ("alpha", 1),
        ("Straße", 2),
        ("Zebra Talk", 1),
        ("Élan", 2),
    ]
    assert [e.content_hash for e in store.episodes.list_episodes("élan")] == ["a", "b"]
    store.search.check_filters(SearchFilters(podcast="éLAN"))  # the search filter knows it too

    ola = store.people.create("Ólafur Arnalds")
    for same in ("ólafur arnalds", "ÓLAFUR ARNALDS", " Ólafur Arnalds "):
        assert store.people.find(same) == ola
        with pytest.raises(InputError, match="already exists"):
            store.people.create(same)
    store.search.check_filters(SearchFilters(speaker="ÓLAFUR ARNALDS"))
    other = store.people.create("Élodie")
    with pytest.raises(InputError, match="already exists"):
        store.people.rename(other.id, "ólafur ARNALDS")
    store.people.rename(ola.id, "ÓLAFUR ARNALDS")  # a person may change the case of their own name
    assert store.people.get("ólafur arnalds").name == "ÓLAFUR ARNALDS"
    assert [p.name for p in store.people.list_people()] == ["Élodie", "ÓLAFUR ARNALDS"]  # é (U+E9) before ó (U+F3)


def test_names_one_key_now_joins_stay_apart_when_a_library_migrates(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """A library made before the keys may hold two names that are one now ("Straße" and "STRASSE" were two on both
    backends): it migrates, both rows stay as they were, and the name finds the older."""
    url = "" if backend == "sqlite" else str(request.getfixturevalue("pg_url"))
    if not url:
        with sqlite3.connect(tmp_path / "podscope.db") as conn:
            conn.execute("CREATE TABLE migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
            for name, sql in MIGRATIONS:
                if name >= "0012":
                    continue
                conn.executescript(sql)
                conn.execute("INSERT INTO migrations VALUES (?, 'then')", (name,))
            for row in ("Straße", "STRASSE"):
                conn.execute("INSERT INTO podcasts (title) VALUES (?)", (row,))
                conn.execute("INSERT INTO people (name) VALUES (?)", (row,))
    else:
        import psycopg

        from podscope.store.postgres.migrations import MIGRATIONS as PG_MIGRATIONS

        with psycopg.connect(url) as conn:
            conn.execute("CREATE TABLE migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
            for name, sql in PG_MIGRATIONS:
                if name < "0012":
                    conn.execute(sql)  # type: ignore[arg-type]
                    conn.execute("INSERT INTO migrations VALUES (%s, 'then')", (name,))
            for row in ("Straße", "STRASSE"):
                conn.execute("INSERT INTO podcasts (title) VALUES (%s)", (row,))
                conn.execute("INSERT INTO people (name) VALUES (%s)", (row,))
    store = open_store(url, tmp_path)
    try:
        assert "0012_name_keys" in store.applied_migrations()  # and every later one
        assert [p.title for p in store.episodes.podcasts()] == ["Straße", "STRASSE"]
        assert store.episodes.get(store.episodes.save(processed(podcast="strasse"))).podcast == "Straße"
        assert [p.name for p in store.people.list_people()] == ["Straße", "STRASSE"]
        assert store.people.get("strasse").name == "Straße"
        older, later = store.people.list_people()
        with pytest.raises(InputError, match="merge"):  # the later one cannot take the name; merging joins them
            store.people.rename(later.id, "Strasse")
        store.people.merge(later.id, older.id, "one name")
        assert [p.name for p in store.people.list_people()] == ["Straße"]
    finally:
        store.close()


def test_alert_hits_of_deleted_segments_go_when_a_library_migrates(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Before 0018 deleting an episode left the alerts' record of its segments: the migration removes it."""
    url = "" if backend == "sqlite" else str(request.getfixturevalue("pg_url"))
    store = open_store(url, tmp_path)
    try:
        episode = store.episodes.save(processed())
        (segment, *_) = store.search.episode_segment_ids(episode)
        with store.transaction():
            store.alerts._q("INSERT INTO alerts (query) VALUES ('x')")
            store.alerts._q("INSERT INTO alert_hits (alert_id, segment_id) SELECT id, ? FROM alerts", (segment,))
            store.alerts._q("INSERT INTO alert_hits (alert_id, segment_id) SELECT id, ? FROM alerts", (segment + 99,))
            store.alerts._q("DELETE FROM migrations WHERE name = '0018_alert_hits_of_deleted_segments'")
    finally:
        store.close()
    store = open_store(url, tmp_path)  # migrates again
    try:
        assert [r["segment_id"] for r in store.alerts._q("SELECT segment_id FROM alert_hits")] == [segment]
    finally:
        store.close()


def test_review_waiting_counts_the_default_review_queue(store: StoreBackend) -> None:
    """The count every page's navigation shows: matched attributions, and low ones held back from matched; neither
    plain low ones nor the ones a human or a verified voice settled."""
    ada, ben = store.people.create("Ada"), store.people.create("Ben")
    settings = [
        ("matched", None),
        ("low", "a podcast's voices differ"),
        ("low", None),
        ("confirmed", None),
        ("verified", None),
        ("matched", "low margin"),
    ]
    assert store.people.review_waiting() == 0
    for n in range(3):
        eid = store.episodes.save(processed(f"hash-{n}"))
        for k, label in enumerate(("SPEAKER_00", "SPEAKER_01")):
            tier, held = settings[2 * n + k]
            speaker = store.people.find_speaker(eid, label)
            store.people.set_attribution(
                speaker, (ada, ben)[k].id, score=0.6, tier=tier, reason="test", held=held, machine=tier != "confirmed"
            )
    listed = [a for a in store.people.attributions(tiers=("matched", "low")) if a.tier == "matched" or a.held]
    assert store.people.review_waiting() == len(listed) == 3


def test_sqlite_reads_go_on_while_another_thread_writes(tmp_path: Path) -> None:
    """Readers on their own connections: a thread reads while another holds a write transaction open (and sees only
    what was committed), and reads inside a transaction see its own writes."""
    import threading

    store = Store(tmp_path / "podscope.db")
    try:
        first = store.episodes.save(processed("one"))
        inside = threading.Event()
        release = threading.Event()
        seen_inside: list[int] = []

        def write() -> None:
            with store.transaction():
                store.episodes.save(processed("two"))
                seen_inside.append(len(store.episodes.list_episodes()))  # its own, uncommitted, write
                inside.set()
                assert release.wait(20)

        writer = threading.Thread(target=write)
        writer.start()
        assert inside.wait(20)
        assert [e.id for e in store.episodes.list_episodes()] == [first]  # not blocked, and the committed state
        release.set()
        writer.join(20)
        assert seen_inside == [2]
        assert len(store.episodes.list_episodes()) == 2
    finally:
        store.close()
    with pytest.raises(sqlite3.ProgrammingError):
        store.episodes.list_episodes()


def test_recent_episodes_are_the_newest_done_ones(store: StoreBackend) -> None:
    """The home page's list from the store: done episodes, latest published first, undated ones last, at most N."""
    dates = [dt.date(2024, 5, 1), None, dt.date(2025, 1, 2), dt.date(2023, 7, 9)]
    for n, published in enumerate(dates):
        p = processed(f"recent-{n}", podcast=f"Pod {n % 2}")
        store.episodes.save(replace(p, meta=replace(p.meta, title=f"Episode {n}", published=published)))
    every = [e for e in store.episodes.list_episodes() if e.status == "done"]
    every.sort(key=lambda e: (e.published or dt.date.min, e.created_at, e.id), reverse=True)
    assert [e.title for e in store.episodes.recent_episodes(3)] == ["Episode 2", "Episode 0", "Episode 3"]
    assert store.episodes.recent_episodes(10) == every
