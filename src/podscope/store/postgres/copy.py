"""`podscope store copy --to URL`: a whole SQLite library moved into an empty PostgreSQL store, ids kept, in one
transaction, then verified table by table.

Rows keep their ids, so every reference (attributions, exemplars, feed items, quiz answers, translations) stays
right; the identity sequences then continue after the highest id. Search state is rebuilt as it goes: each segment
gets its folded text (the tsvector follows from it), and the stored sentence vectors become `halfvec`s.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from podscope.errors import InputError, StoreError
from podscope.store.db import Database
from podscope.store.postgres.db import PgDatabase, redact
from podscope.store.postgres.fold import fold

# In the order their references need; the SQLite-only tables (the FTS5 index, search_state, migrations) stay behind.
TABLES = (
    "podcasts",
    "episodes",
    "episode_speakers",
    "speaker_embeddings",
    "turns",
    "segments",
    "people",
    "exemplars",
    "attributions",
    "rejections",
    "attribution_log",
    "segment_vectors",
    "feeds",
    "feed_items",
    "credits",
    "api_keys",
    "quiz_attempts",
    "translations",
)
KEYED_BY_OTHERS = ("attributions", "rejections", "segment_vectors", "credits", "translations")
WITH_IDS = tuple(t for t in TABLES if t not in KEYED_BY_OTHERS)  # tables with an identity id to continue from
NO_ROWID = {"translations": "segment_id, language, backend, source"}  # SQLite WITHOUT ROWID tables: their key
OWNED = ("episodes", "people", "feeds", "api_keys")  # a target holding any of these is not empty
BATCH = 5_000

CopyHook = Callable[[str, int, int], None]  # (table, rows copied, rows in the table)


def copy_to(source: Database, url: str, hook: CopyHook | None = None) -> dict[str, int]:
    """`copy_store` into the PostgreSQL database at `url` (migrated first if it is new)."""
    target = PgDatabase(url)
    try:
        return copy_store(source, target, hook)
    finally:
        target.close()


def _columns(source: Database, table: str) -> list[str]:
    return [r["name"] for r in source._query(f"PRAGMA table_info({table})")]


def _rows(source: Database, table: str, columns: Sequence[str]) -> Iterator[list[Any]]:
    select = ", ".join(f'"{c}"' for c in columns)
    if table in NO_ROWID:  # small tables without a rowid: in key order, a page at a time
        offset = 0
        while batch := source._query(
            f"SELECT {select} FROM {table} ORDER BY {NO_ROWID[table]} LIMIT ? OFFSET ?", (BATCH, offset)
        ):
            yield from ([row[c] for c in columns] for row in batch)
            offset += len(batch)
        return
    last = -1
    while batch := source._query(  # by rowid, a batch at a time, so a large library is never all in memory
        f"SELECT rowid AS _k, {select} FROM {table} WHERE rowid > ? ORDER BY rowid LIMIT ?", (last, BATCH)
    ):
        yield from ([row[c] for c in columns] for row in batch)
        last = batch[-1]["_k"]


def _converted(table: str, columns: list[str], row: list[Any]) -> list[Any]:
    if table == "segment_vectors":
        i = columns.index("vector")
        row[i] = "[" + ",".join(f"{v:.6g}" for v in np.frombuffer(row[i], dtype=np.float16)) + "]"
    return row


def copy_store(source: Database, target: PgDatabase, hook: CopyHook | None = None) -> dict[str, int]:
    """Copy every table of a SQLite library into an empty PostgreSQL store; returns the rows copied per table.

    Raises InputError when the target already holds a library, StoreError when a count differs afterwards."""
    for table in OWNED:
        if target._query(f"SELECT 1 FROM {table} LIMIT 1"):
            raise InputError(
                f"the PostgreSQL store at {redact(target.url)} already holds a library ({table} is not empty):"
                " expected an empty database"
            )
    counts = {t: int(source._query(f"SELECT COUNT(*) AS n FROM {t}")[0]["n"]) for t in TABLES}
    with target.transaction() as conn:
        for table in TABLES:
            columns = _columns(source, table)
            names = list(columns) + (["folded"] if table == "segments" else [])
            quoted = ", ".join(f'"{c}"' for c in names)
            done = 0
            with conn.cursor().copy(f"COPY {table} ({quoted}) FROM STDIN") as copy:
                for row in _rows(source, table, columns):
                    values = _converted(table, columns, row)
                    if table == "segments":
                        values.append(fold(values[columns.index("text")]))
                    copy.write_row(values)
                    done += 1
                    if hook and done % BATCH == 0:
                        hook(table, done, counts[table])
            if hook:
                hook(table, done, counts[table])
        for table in WITH_IDS:
            top = f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1"
            conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {top}, false)")
    copied = {t: int(target._query(f"SELECT COUNT(*) AS n FROM {t}")[0]["n"]) for t in TABLES}
    wrong = {t: (counts[t], copied[t]) for t in TABLES if counts[t] != copied[t]}
    if wrong:
        raise StoreError(f"the copy to {redact(target.url)} is incomplete (rows in SQLite, in PostgreSQL): {wrong}")
    return copied
