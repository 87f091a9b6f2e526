"""The episode, key, quiz and translation repositories: the same checks on the SQLite store and on its PostgreSQL twin
(a real server, see conftest's `pg_url`), so the two backends answer alike."""

from __future__ import annotations

import dataclasses
import datetime as dt
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from podscope.errors import InputError, NotFound
from podscope.store.contract import EpisodeRepository, KeyRepository, QuizRepository, TranslationRepository
from podscope.store.db import Database
from podscope.store.episodes import EpisodeTables
from podscope.store.keys import KeyTables
from podscope.store.names import name_key
from podscope.store.quizzes import QuizTables
from podscope.store.translations import TranslationTables
from test_store import processed

psycopg = pytest.importorskip("psycopg", reason="pip install 'podscope[postgres]'")

from podscope.store.postgres.db import PgDatabase  # noqa: E402
from podscope.store.postgres.episodes import PgEpisodes  # noqa: E402
from podscope.store.postgres.fold import fold  # noqa: E402

pytestmark = pytest.mark.postgres  # these tests need a PostgreSQL server (a throwaway one, see conftest)


@dataclasses.dataclass
class Backend:
    name: str
    db: Any  # Database or PgDatabase: raw SQL for setting up what no repository method writes
    mark: str  # the driver's parameter placeholder
    integrity: type[Exception]  # what a violated constraint raises
    episodes: EpisodeRepository
    keys: KeyRepository
    quizzes: QuizRepository
    translations: TranslationRepository

    def sql(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        """Run SQL written with `?` placeholders on this backend, in a transaction of its own."""
        with self.db.transaction():
            return self.db._query(sql.replace("?", self.mark), params)


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "sqlite":
        db = Database(tmp_path / "lib.db")
        backend = Backend(
            "sqlite",
            db,
            "?",
            sqlite3.IntegrityError,
            EpisodeTables(db),
            KeyTables(db),
            QuizTables(db),
            TranslationTables(db),
        )
    else:
        pg = PgDatabase(request.getfixturevalue("pg_url"), max_connections=2)
        backend = Backend(
            "postgres",
            pg,
            "%s",
            psycopg.IntegrityError,
            PgEpisodes(pg),
            KeyTables(pg),
            QuizTables(pg),
            TranslationTables(pg),
        )
    try:
        yield backend
    finally:
        backend.db.close()


def pending(store: Backend, podcast: str = "Test Pod", status: str = "pending", content_hash: str | None = None) -> int:
    """A pending (or failed) episode, as a feed or an earlier failed attempt leaves it."""
    key = name_key(podcast)
    store.sql("INSERT INTO podcasts (title, title_key) VALUES (?, ?) ON CONFLICT DO NOTHING", (podcast, key))
    podcast_id = store.sql("SELECT id FROM podcasts WHERE title_key = ?", (key,))[0]["id"]
    store.sql(
        "INSERT INTO episodes (podcast_id, title, status, content_hash) VALUES (?, 'From the feed', ?, ?)",
        (podcast_id, status, content_hash),
    )
    return int(store.sql("SELECT MAX(id) AS id FROM episodes")[0]["id"])


# -- episodes --------------------------------------------------------------------------------------------------------


def test_an_episode_round_trips(store: Backend) -> None:
    episode_id = store.episodes.save(processed(), 12.5)
    ep = store.episodes.get(episode_id)
    assert (ep.podcast, ep.title, ep.published, ep.duration, ep.source, ep.content_hash) == (
        "Test Pod",
        "Pilot",
        dt.date(2025, 9, 26),
        3.0,
        "/x/pilot.mp3",
        "abc",
    )
    assert (ep.status, ep.language, ep.asr_model, ep.speaker_count, ep.segment_count) == ("done", "en", "base", 2, 2)
    assert len(ep.created_at) == 20 and ep.created_at.endswith("Z")

    speakers = store.episodes.speakers(episode_id)
    assert [(s.label, s.speaking_time, s.episode_id) for s in speakers] == [
        ("SPEAKER_00", 1.1, episode_id),
        ("SPEAKER_01", 0.6, episode_id),
    ]
    for got, track in zip(speakers, processed().diarization.speakers, strict=True):
        assert got.embedding is not None and got.embedding.dtype == np.float32
        np.testing.assert_array_equal(got.embedding, track.embedding)

    turns = store.episodes.turns(episode_id)
    assert [(t.start, t.end, t.speaker) for t in turns] == [(0.4, 1.5, "SPEAKER_00"), (1.9, 2.5, "SPEAKER_01")]

    t = store.episodes.transcript(episode_id)
    assert t.episode == ep
    assert [(s.start, s.end, s.speaker, s.text) for s in t.segments] == [
        (0.5, 1.4, "SPEAKER_00", "Hello there."),
        (2.0, 2.3, "SPEAKER_01", "Hi!"),
    ]
    assert [(w.start, w.end, w.text, w.probability, w.speaker) for w in t.segments[0].words] == [
        (0.5, 0.9, " Hello", 0.9, "SPEAKER_00"),
        (1.0, 1.4, " there.", 0.8, "SPEAKER_00"),
    ]
    assert t.turns == tuple(turns)
    assert [s.label for s in t.speakers] == ["SPEAKER_00", "SPEAKER_01"]

    assert store.episodes.find_by_hash("abc") == ep
    assert store.episodes.find_by_hash("nope") is None
    assert store.episodes.counts() == {
        "podcasts": 1,
        "episodes": 1,
        "episode_speakers": 2,
        "speaker_embeddings": 2,
        "turns": 2,
        "segments": 2,
    }
    assert store.sql("SELECT processing_seconds, asr_source FROM episodes")[0]["processing_seconds"] == 12.5


def test_saving_the_same_recording_again_changes_nothing(store: Backend) -> None:
    first = store.episodes.save(processed())
    assert store.episodes.save(processed(podcast="Another Pod")) == first
    assert store.episodes.counts()["episodes"] == 1
    # As on SQLite, the podcast named is recorded before the recording is found to be in the library already.
    assert [(p.title, p.episode_count) for p in store.episodes.podcasts()] == [("Another Pod", 0), ("Test Pod", 1)]


def test_podcast_names_are_case_insensitive(store: Backend) -> None:
    a = store.episodes.save(processed("a", podcast="Test Pod"))
    b = store.episodes.save(processed("b", podcast="TEST POD"))
    store.episodes.save(processed("c", podcast="alpha"))
    assert store.episodes.get(a).podcast_id == store.episodes.get(b).podcast_id
    assert [e.id for e in store.episodes.list_episodes("test pod")] == [a, b]
    assert [e.content_hash for e in store.episodes.list_episodes()] == ["c", "a", "b"]  # alpha before Test Pod
    podcasts = store.episodes.podcasts()
    assert [(p.title, p.episode_count) for p in podcasts] == [("alpha", 1), ("Test Pod", 2)]
    assert store.episodes.podcast(podcasts[1].id) == podcasts[1]


def test_listing_orders_by_date_with_undated_last(store: Backend) -> None:
    late = processed("late")
    early = processed("early")
    undated = processed("undated")
    late = dataclasses.replace(late, meta=dataclasses.replace(late.meta, published=dt.date(2025, 10, 1)))
    early = dataclasses.replace(early, meta=dataclasses.replace(early.meta, published=dt.date(2024, 1, 2)))
    undated = dataclasses.replace(undated, meta=dataclasses.replace(undated.meta, published=None))
    for p in (undated, late, early):
        store.episodes.save(p)
    assert [e.content_hash for e in store.episodes.list_episodes()] == ["early", "late", "undated"]
    found = store.episodes.find_by_hash("undated")
    assert found is not None and found.published is None


def test_missing_things_say_what_is_missing(store: Backend) -> None:
    with pytest.raises(NotFound, match=r"^no episode with id 99; `podscope episodes` lists them$"):
        store.episodes.get(99)
    with pytest.raises(NotFound, match=r"^no episode with id 99; "):
        store.episodes.transcript(99)
    with pytest.raises(NotFound, match=r"^no episode with id 99; "):
        store.episodes.delete(99)
    with pytest.raises(NotFound, match=r"^no podcast named 'Gamma'; `podscope podcasts` lists them$"):
        store.episodes.list_episodes("Gamma")
    with pytest.raises(NotFound, match=r"^no podcast with id 7$"):
        store.episodes.podcast(7)


def test_delete_removes_every_row_and_the_empty_podcast(store: Backend) -> None:
    kept = store.episodes.save(processed("a", podcast="Kept"))
    gone = store.episodes.save(processed("b", podcast="Gone"))
    store.episodes.delete(gone)
    assert store.episodes.counts() == {
        "podcasts": 1,
        "episodes": 1,
        "episode_speakers": 2,
        "speaker_embeddings": 2,
        "turns": 2,
        "segments": 2,
    }
    assert [e.id for e in store.episodes.list_episodes()] == [kept]
    store.episodes.delete(kept)
    assert store.episodes.counts() == dict.fromkeys(store.episodes.counts(), 0)


def test_a_failed_write_leaves_nothing(store: Backend) -> None:
    with pytest.raises(store.integrity):
        store.episodes.save(processed(bad_turn=True))
    assert store.episodes.counts() == dict.fromkeys(store.episodes.counts(), 0)
    store.episodes.save(processed())  # the next run can redo it
    assert store.episodes.counts()["episodes"] == 1


def test_without_voiceprints_no_embedding_is_kept(store: Backend) -> None:
    episode_id = store.episodes.save(processed(), voiceprints=False)
    assert [s.embedding for s in store.episodes.speakers(episode_id)] == [None, None]
    assert store.episodes.counts()["speaker_embeddings"] == 0
    assert store.episodes.counts()["episode_speakers"] == 2


def test_a_pending_episode_is_filled_in_place(store: Backend) -> None:
    waiting = pending(store, podcast="Feed Pod")
    assert store.episodes.get(waiting).status == "pending"
    assert store.episodes.save(processed(), into=waiting) == waiting
    ep = store.episodes.get(waiting)
    assert (ep.status, ep.title, ep.podcast, ep.segment_count) == ("done", "Pilot", "Test Pod", 2)
    with pytest.raises(NotFound, match=rf"^episode {waiting} is not waiting to be processed$"):
        store.episodes.save(processed("other"), into=waiting)
    assert store.episodes.counts()["episodes"] == 1  # the failed attempt wrote nothing


def test_a_failed_attempt_at_the_same_recording_is_replaced(store: Backend) -> None:
    failed = pending(store, status="failed", content_hash="abc")
    assert store.episodes.get(failed).status == "failed"
    saved = store.episodes.save(processed())
    # SQLite may hand the freed id out again, PostgreSQL never does: the row is what tells.
    assert [(e.id, e.title, e.status) for e in store.episodes.list_episodes()] == [(saved, "Pilot", "done")]


def test_segments_are_folded_for_search_on_postgres(store: Backend) -> None:
    assert fold("Ça VA, Ærø? Ĳssel ﬁn") == "ca va, ærø? ijssel fin"
    assert fold("naïve CAFÉ Über") == "naive cafe uber"
    if store.name != "postgres":
        pytest.skip("only the PostgreSQL schema keeps folded text")
    episode_id = store.episodes.save(processed())
    rows = store.sql("SELECT text, folded FROM segments WHERE episode_id = ? ORDER BY id", (episode_id,))
    assert [(r["text"], r["folded"]) for r in rows] == [("Hello there.", "hello there."), ("Hi!", "hi!")]


# -- keys ------------------------------------------------------------------------------------------------------------


def test_keys_are_created_verified_and_revoked(store: Backend) -> None:
    admin, secret = store.keys.create("admin", "  laptop  ")
    assert secret.startswith("psk_") and admin.prefix == secret[:12]
    assert (admin.name, admin.scope, admin.last_used_at, admin.revoked_at) == ("laptop", "admin", None, None)
    reader, _ = store.keys.create("read")
    assert store.keys.list_keys() == [admin, reader]
    assert store.keys.get(admin.id) == admin

    found = store.keys.verify(secret)
    assert found == admin  # as it was before this use
    used = store.keys.get(admin.id).last_used_at
    assert used is not None and used.endswith("Z")
    assert store.keys.verify(secret + "x") is None

    revoked = store.keys.revoke(admin.id)
    assert revoked.revoked_at is not None and not revoked.active
    assert store.keys.revoke(admin.id) == revoked  # revoking again changes nothing
    assert store.keys.verify(secret) is None
    assert [k.active for k in store.keys.list_keys()] == [False, True]

    with pytest.raises(InputError, match=r"^key scope 'root': expected read or admin$"):
        store.keys.create("root")
    with pytest.raises(NotFound, match=r"^no API key with id 99; `podscope keys list` shows them$"):
        store.keys.get(99)
    with pytest.raises(NotFound, match=r"^no API key with id 99; "):
        store.keys.revoke(99)


# -- quizzes ---------------------------------------------------------------------------------------------------------


def attempt(store: Backend, learner: str, episode_id: int, at: str, correct: bool = True) -> Any:
    return store.quizzes.add_attempt(
        learner=learner,
        episode_id=episode_id,
        seed=2**40,
        level="B1",
        question_id="q1",
        kind="gap",
        chosen=2,
        chosen_text="there",
        answer_text="there" if correct else "where",
        correct=correct,
        at=at,
    )


def test_quiz_attempts_and_learners(store: Backend) -> None:
    one = store.episodes.save(processed("one"))
    two = store.episodes.save(processed("two"))
    late = attempt(store, "zoë", one, "2025-10-02T10:00:00Z", correct=False)
    early = attempt(store, "zoë", two, "2025-10-01T10:00:00Z")
    attempt(store, "Anna", one, "2025-10-03T10:00:00Z")
    attempt(store, "bob", one, "2025-10-03T10:00:00Z")
    assert (late.learner, late.episode_id, late.seed, late.level, late.kind, late.correct) == (
        "zoë",
        one,
        2**40,
        "B1",
        "gap",
        False,
    )
    assert (late.chosen, late.chosen_text, late.answer_text, late.at) == (2, "there", "where", "2025-10-02T10:00:00Z")
    assert store.quizzes.attempts("zoë") == [early, late]  # oldest first
    assert store.quizzes.attempts("zoë", one) == [late]
    assert store.quizzes.attempts("nobody") == []
    assert store.quizzes.learners() == ["Anna", "bob", "zoë"]  # by code point, as SQLite orders
    assert store.quizzes.recent_segment_texts() == ["Hi!", "Hello there.", "Hi!", "Hello there."]
    assert store.quizzes.recent_segment_texts(limit=1) == ["Hi!"]
    store.episodes.delete(one)  # an episode's attempts go with it
    assert store.quizzes.attempts("zoë") == [early]
    assert store.quizzes.learners() == ["zoë"]


# -- translations ----------------------------------------------------------------------------------------------------


def test_translations_are_cached_and_dropped_when_the_text_changes(store: Backend) -> None:
    episode_id = store.episodes.save(processed())
    other = store.episodes.save(processed("other"))
    texts = store.translations.segment_texts(episode_id)
    assert [text for _, text in texts] == ["Hello there.", "Hi!"]
    (hello, _), (hi, _) = texts
    assert store.translations.cached_translations([hello, hi], "en", "de", "argos") == {}
    assert store.translations.cached_translations([], "en", "de", "argos") == {}

    store.translations.save_translations({hello: "Hallo da.", hi: "Hi!"}, "en", "de", "argos")
    store.translations.save_translations({hello: "Bonjour."}, "en", "fr", "argos")
    other_first = store.translations.segment_texts(other)[0][0]
    store.translations.save_translations({other_first: "Hallo."}, "en", "de", "argos")
    assert store.translations.cached_translations([hello, hi], "en", "de", "argos") == {hello: "Hallo da.", hi: "Hi!"}
    assert store.translations.cached_translations([hello, hi], "en", "de", "opus") == {}
    assert store.translations.cached_translations([hi], "en", "fr", "argos") == {}
    store.translations.save_translations({hello: "Hallo dort."}, "en", "de", "argos")  # replaces
    assert store.translations.cached_translations([hello], "en", "de", "argos") == {hello: "Hallo dort."}
    assert store.translations.translation_count() == 4
    assert store.translations.translation_count(episode_id) == 3
    assert store.translations.translation_count(other) == 1

    # Correcting a segment's text drops its translations (a trigger), and only its own.
    store.sql("UPDATE segments SET text = ? WHERE id = ?", ("Hello, there!", hello))
    assert store.translations.cached_translations([hello, hi], "en", "de", "argos") == {hi: "Hi!"}
    assert store.translations.cached_translations([hello], "en", "fr", "argos") == {}
    assert store.translations.translation_count(episode_id) == 1

    store.episodes.delete(episode_id)  # and deleting the episode drops the rest of its translations
    assert store.translations.translation_count() == 1


def test_concurrent_saves_of_one_recording_store_it_once(pg_url: str) -> None:
    """Ingest workers racing on the same recording: one stores it, the others get its id (as SQLite's one writer)."""
    db = PgDatabase(pg_url, max_connections=4)
    episodes = PgEpisodes(db)
    ids: list[int] = []
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def save() -> None:
        try:
            start.wait(10)
            ids.append(episodes.save(processed()))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=save) for _ in range(4)]
    try:
        episodes.save(processed("earlier"))  # the podcast exists already: inserting it holds no one back
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not errors
        assert len(ids) == 4 and len(set(ids)) == 1
        assert episodes.counts() == {
            "podcasts": 1,
            "episodes": 2,
            "episode_speakers": 4,
            "speaker_embeddings": 4,
            "turns": 4,
            "segments": 4,
        }
    finally:
        db.close()
