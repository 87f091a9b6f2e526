"""The PostgreSQL connection pool, its transactions and migrations: what every PostgreSQL repository builds on.

Many processes write at once (ingest workers) and read at once (web replicas), so connections come from a pool
(psycopg 3 + psycopg_pool). A transaction belongs to the thread that opened it: repository calls made inside
`transaction()` on that thread join it, as nested calls join the outer transaction on SQLite.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from podscope.errors import StoreError
from podscope.store.postgres.migrations import AFTER, MIGRATIONS, THEN
from podscope.store.sql import Dialect

try:
    import psycopg
    from psycopg.rows import dict_row
    from psycopg_pool import ConnectionPool
except ImportError as exc:  # the extra is optional: say which one to install
    raise StoreError(
        "a PostgreSQL store needs the postgres extra: pip install 'podscope[postgres]' (psycopg, psycopg_pool,"
        " pgvector)"
    ) from exc

Row = dict[str, Any]
MIGRATION_LOCK = 7_482_001  # advisory lock id: one process migrates at a time
POSTGRES = Dialect(
    "postgres",
    byte_order=' COLLATE "C"',
    for_update=" FOR UPDATE",
    unique_violation=psycopg.errors.UniqueViolation,
    now="podscope_now()",
    error=psycopg.Error,
)


@functools.lru_cache(maxsize=512)
def native(sql: str) -> str:
    """A statement written for both engines (`?` placeholders) in psycopg's style: `%s`, and `%` doubled."""
    return sql.replace("%", "%%").replace("?", "%s")


class PgDatabase:
    """One PostgreSQL database behind a connection pool, safe to share between threads."""

    dialect = POSTGRES

    def __init__(self, url: str, *, max_connections: int = 8):
        self.url = url
        try:
            self._pool: ConnectionPool[psycopg.Connection[Row]] = ConnectionPool(
                url,
                connection_class=psycopg.Connection[Row],
                min_size=1,
                max_size=max_connections,
                kwargs={"autocommit": True, "row_factory": dict_row},
                open=True,
                timeout=30,
            )
            self._pool.wait(timeout=30)
        except (psycopg.Error, psycopg_pool_errors()) as exc:
            raise StoreError(f"cannot connect to the PostgreSQL store at {redact(url)}: {exc}") from exc
        self._local = threading.local()
        self._executor: ThreadPoolExecutor | None = None  # for `portable_together`, made when first needed
        self._executor_lock = threading.Lock()
        self.migrate()

    # -- plumbing -------------------------------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[psycopg.Connection[Row]]:
        """One write transaction: everything inside commits together or not at all; nested calls on this thread
        join the outer transaction."""
        current: psycopg.Connection[Row] | None = getattr(self._local, "conn", None)
        if current is not None:
            yield current
            return
        try:
            with self._pool.connection() as conn, conn.transaction():
                self._local.conn = conn
                try:
                    yield conn
                finally:
                    self._local.conn = None
        except psycopg.errors.UniqueViolation:
            raise
        except psycopg.OperationalError as exc:
            raise StoreError(f"cannot write to the PostgreSQL store at {redact(self.url)}: {exc}") from exc

    def _query(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[Row]:
        """Rows of one statement, inside this thread's transaction if one is open."""
        with self._connection() as conn:
            cur = conn.execute(sql, params)
            return cur.fetchall() if cur.description else []

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Row]]:
        """This thread's transaction's connection if one is open, else one from the pool (autocommit)."""
        current: psycopg.Connection[Row] | None = getattr(self._local, "conn", None)
        if current is not None:
            yield current
        else:
            with self._pool.connection() as conn:
                yield conn

    def portable(self, sql: str, params: Sequence[Any]) -> list[Row]:
        """Rows of a statement written for both engines (`podscope.store.sql`)."""
        return self._query(native(sql), params)

    def portable_together(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> list[list[Row]]:
        """The rows of several reading statements, run at once on connections of their own (a server process
        each, so on as many cores); one after the other inside this thread's transaction, which the others could
        not see."""
        if getattr(self._local, "conn", None) is not None or len(statements) < 2:
            return [self.portable(sql, params) for sql, params in statements]
        with self._executor_lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="podscope-pg")
            executor = self._executor
        others = [executor.submit(self.portable, sql, params) for sql, params in statements[1:]]
        first = self.portable(*statements[0])
        return [first, *(future.result() for future in others)]

    def portable_count(self, sql: str, params: Sequence[Any]) -> int:
        with self._connection() as conn:
            return int(conn.execute(native(sql), params).rowcount)

    def portable_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with self._connection() as conn, conn.cursor() as cur:
            cur.executemany(native(sql), rows)

    def migrate(self) -> list[str]:
        """Apply the migrations not yet applied, in order, one process at a time; returns their names."""
        applied = []
        with self._pool.connection() as conn:
            conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
            try:
                conn.execute("CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
                done = {r["name"] for r in conn.execute("SELECT name FROM migrations").fetchall()}
                for name, sql in MIGRATIONS:
                    if name in done:
                        continue
                    with conn.transaction():
                        conn.execute(sql)
                        if name in THEN:
                            THEN[name](conn)
                        conn.execute(
                            "INSERT INTO migrations (name, applied_at) VALUES (%s, to_char(now() AT TIME ZONE 'UTC',"
                            ' \'YYYY-MM-DD"T"HH24:MI:SS"Z"\'))',
                            (name,),
                        )
                    applied.append(name)
                for name in applied:
                    if name in AFTER:
                        conn.execute(AFTER[name])
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))
        return applied

    def applied_migrations(self) -> list[str]:
        return [r["name"] for r in self._query("SELECT name FROM migrations ORDER BY name")]

    def compact(self) -> None:
        """Reclaim the space of deleted rows, so a forgotten voiceprint does not linger in dead tuples. Not inside a
        transaction (VACUUM would wait for it forever): as on SQLite, that is an error."""
        if getattr(self._local, "conn", None) is not None:
            raise StoreError("the store cannot be compacted inside a transaction")
        with self._pool.connection() as conn:
            for table in ("episode_speakers", "speaker_embeddings", "exemplars"):
                conn.execute(f"VACUUM FULL {table}")

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True)
        self._pool.close()


class PgTables:
    """The base of each PostgreSQL repository: the shared `PgDatabase` it reads and writes through."""

    def __init__(self, db: PgDatabase):
        self._db = db

    def transaction(self) -> Any:
        return self._db.transaction()

    def _query(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[Row]:
        return self._db._query(sql, params)


def redact(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "(an unreadable URL)"
    host = info.get("host") or "localhost"
    return f"postgresql://{info.get('user') or ''}@{host}/{info.get('dbname') or ''}"


def psycopg_pool_errors() -> type[Exception]:
    from psycopg_pool import PoolTimeout

    return PoolTimeout
