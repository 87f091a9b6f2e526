"""The SQLite connection, its transactions and migrations: what every table module of the store builds on."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, cast

import numpy as np

from podscope.errors import StoreError
from podscope.records import Embedding
from podscope.store.migrations import MIGRATIONS, THEN
from podscope.store.sql import Dialect, Row

SQLITE = Dialect(
    "sqlite",
    byte_order="",
    for_update="",
    unique_violation=sqlite3.IntegrityError,
    now="strftime('%Y-%m-%dT%H:%M:%SZ', 'now')",
    error=sqlite3.Error,
)


def blob(value: Embedding | None) -> bytes | None:
    """An embedding as a float32 blob."""
    return None if value is None else np.asarray(value, dtype=np.float32).tobytes()


def vector(data: bytes | None) -> Embedding | None:
    """A float32 blob as an embedding."""
    return None if data is None else np.frombuffer(data, dtype=np.float32).copy()


def _statements(sql: str) -> Iterator[str]:
    """The complete SQL statements of a script (a trigger's body holds semicolons of its own)."""
    pending = ""
    for line in sql.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            if pending.strip():
                yield pending
            pending = ""
    if pending.strip():
        yield pending


class Database:
    """One SQLite file, safe to share between threads: one connection writes (behind a lock, one transaction at a
    time), and reads outside a transaction go to reader connections, one per concurrent reader, so that a server's
    threads read at once (SQLite releases the GIL while it works; in WAL mode readers never wait for the writer).
    A read inside this thread's transaction goes to the writing connection, so it sees what the transaction wrote."""

    dialect = SQLITE

    def __init__(self, path: Path | str):
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
            self._conn.row_factory = sqlite3.Row
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            # Deleted rows are overwritten, so a forgotten voiceprint does not linger in free pages.
            self._conn.execute("PRAGMA secure_delete=ON")
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open the library database at {self.path}: {exc}") from exc
        self._lock = threading.RLock()
        self._depth = 0
        self._writer: int | None = None  # the thread inside the transaction
        self._idle: list[sqlite3.Connection] = []  # reader connections not in use
        self._readers: list[sqlite3.Connection] = []  # every reader connection, to close
        self._closed = False
        self._readers_lock = threading.Lock()  # not the writer's lock: a reader never waits for a transaction
        self.migrate()

    # -- plumbing -------------------------------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: everything inside commits together or not at all.

        Nested calls join the outer transaction, so a library operation can group several store writes into one.
        """
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self._conn
                finally:
                    self._depth -= 1
                return
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise StoreError(f"cannot write to the library database at {self.path}: {exc}") from exc
            self._depth = 1
            self._writer = threading.get_ident()
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            else:
                try:
                    self._conn.execute("COMMIT")
                except sqlite3.Error as exc:
                    self._conn.execute("ROLLBACK")
                    raise StoreError(f"cannot write to the library database at {self.path}: {exc}") from exc
            finally:
                self._depth = 0
                self._writer = None

    def _query(self, sql: str, params: tuple[Any, ...] | dict[str, Any] = ()) -> list[sqlite3.Row]:
        if self._writer == threading.get_ident():
            with self._lock:
                return list(self._conn.execute(sql, params))
        try:
            reader = self._idle.pop()  # atomic: no two threads get the same one
        except IndexError:
            reader = self._open_reader()
        try:
            return list(reader.execute(sql, params))
        finally:
            self._idle.append(reader)

    def _open_reader(self) -> sqlite3.Connection:
        with self._readers_lock:
            if self._closed:
                raise sqlite3.ProgrammingError("Cannot operate on a closed database.")
            try:
                reader = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
                reader.row_factory = sqlite3.Row
                reader.execute("PRAGMA query_only=ON")
            except sqlite3.Error as exc:
                raise StoreError(f"cannot read the library database at {self.path}: {exc}") from exc
            self._readers.append(reader)
            return reader

    def portable(self, sql: str, params: Sequence[Any]) -> list[Row]:
        """Rows of a statement written for both engines (`podscope.store.sql`): `?` is SQLite's own placeholder.
        (A `sqlite3.Row` reads as a mapping: by name, and `dict(row)`.)"""
        return cast(list[Row], self._query(sql, tuple(params)))

    def portable_count(self, sql: str, params: Sequence[Any]) -> int:
        with self._lock:
            return int(self._conn.execute(sql, tuple(params)).rowcount)

    def portable_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with self._lock:
            self._conn.executemany(sql, rows)

    def migrate(self) -> list[str]:
        """Apply the migrations not yet applied, in order; returns their names."""
        with self._lock:
            try:
                self._conn.execute(
                    "CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
                )
            except sqlite3.Error as exc:
                raise StoreError(f"cannot use the library database at {self.path}: {exc}") from exc
            done = {r["name"] for r in self._conn.execute("SELECT name FROM migrations")}
            applied = []
            for name, sql in MIGRATIONS:
                if name in done:
                    continue
                with self.transaction() as conn:
                    for statement in _statements(sql):
                        conn.execute(statement)
                    if name in THEN:
                        THEN[name](conn)
                    conn.execute(
                        "INSERT INTO migrations (name, applied_at) VALUES (?, strftime('%Y-%m-%dT%H:%M:%SZ','now'))",
                        (name,),
                    )
                applied.append(name)
            return applied

    def applied_migrations(self) -> list[str]:
        return [r["name"] for r in self._query("SELECT name FROM migrations ORDER BY name")]

    def compact(self) -> None:
        """Fold the write-ahead log into the file and rebuild it, so deleted rows leave no copy behind."""
        with self._lock:
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._conn.execute("VACUUM")
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        with self._lock, self._readers_lock:
            self._closed = True
            for reader in self._readers:
                reader.close()
            self._readers.clear()
            self._idle.clear()
            self._conn.close()


class Tables:
    """The base of each SQLite repository: the shared `Database` it reads and writes through."""

    def __init__(self, db: Database):
        self._db = db

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return self._db.transaction()

    def _query(self, sql: str, params: tuple[Any, ...] | dict[str, Any] = ()) -> list[sqlite3.Row]:
        return self._db._query(sql, params)
