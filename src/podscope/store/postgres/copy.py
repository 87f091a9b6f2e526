"""`podscope store copy --to URL`: a whole SQLite library moved into an empty PostgreSQL store, ids kept, in one
transaction, then verified table by table.

Rows keep their ids, so every reference (attributions, exemplars, feed items, quiz answers, translations) stays
right; the identity sequences then continue after the highest id. Search state is rebuilt as it goes: each segment
gets its folded text (the tsvector follows from it), and the stored sentence vectors become `halfvec`s.

It is the bulk load of the PostgreSQL store: the secondary indexes of the large tables (segments, their vectors,
turns, the postings of words) are dropped inside the transaction before the rows arrive and built again from their
own definitions once they are in (with more maintenance memory and parallel workers), which is several times faster
than keeping the GIN and HNSW indexes up to date row by row (the postings are written from the segments in one
statement, not by their trigger row by row); then those tables are analysed, so the first searches are planned with
statistics, and the postings vacuumed, so that their index answers without reading the table.
`bench/scale.py` builds its PostgreSQL library this way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from podscope.errors import InputError, StoreError
from podscope.store.db import Database
from podscope.store.postgres.db import PgDatabase, redact
from podscope.store.postgres.fold import fold
from podscope.store.postgres.postings import FILL

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
    "publisher_chapters",
    "api_keys",
    "quiz_attempts",
    "translations",
    "alerts",
    "alert_queue",
    "alert_state",
    "alert_hits",
    "alert_events",
    "alert_deliveries",
    "alert_attempts",
)
KEYED_BY_OTHERS = (
    "attributions",
    "rejections",
    "segment_vectors",
    "credits",
    "publisher_chapters",
    "translations",
    "alert_queue",
    "alert_state",
    "alert_hits",
)
WITH_IDS = tuple(t for t in TABLES if t not in KEYED_BY_OTHERS)  # tables with an identity id to continue from
NO_ROWID = {"translations": "segment_id, language, backend, source"}  # SQLite WITHOUT ROWID tables: their key
OWNED = ("episodes", "people", "feeds", "api_keys")  # a target holding any of these is not empty
BATCH = 5_000
DEFERRED = ("segments", "segment_vectors", "turns", "segment_terms")  # their secondary indexes: built after the load
# maintenance_work_mem while those indexes are built, in MB: an HNSW graph of halfvec(384) takes about 1.1 kB a
# vector, and a build whose graph outgrows this memory goes on on disk, several times slower.
LOAD_MEMORY_MB = (1024, 8192)  # at least, at most
LOAD_MEMORY_PER_VECTOR = 1536  # bytes

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


_PGCOPY = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # binary COPY: signature, flags, header extension length
_VECTOR_ROW = np.dtype([("fields", ">i2"), ("id_len", ">i4"), ("id", ">i8"), ("vec_len", ">i4"), ("dim", ">i2")])


def _binary_vectors(ids: list[int], blobs: list[bytes]) -> bytes:
    """Rows of (segment_id, halfvec) in COPY's binary format: each SQLite float16 vector goes over as it is (only
    byte-swapped to halfvec_recv's big-endian), never through text."""
    half = np.frombuffer(b"".join(blobs), dtype="<f2").reshape(len(blobs), -1)
    dim = half.shape[1]
    head = np.zeros(len(ids), dtype=_VECTOR_ROW)
    head["fields"], head["id_len"], head["id"] = 2, 8, ids
    head["vec_len"], head["dim"] = 4 + 2 * dim, dim
    rows = np.zeros((len(ids), _VECTOR_ROW.itemsize + 2 + 2 * dim), dtype=np.uint8)
    rows[:, : _VECTOR_ROW.itemsize] = head.view(np.uint8).reshape(len(ids), -1)
    rows[:, _VECTOR_ROW.itemsize + 2 :] = half.astype(">f2").view(np.uint8).reshape(len(ids), -1)
    return rows.tobytes()


def _copy_vectors(conn: Any, source: Database, hook: CopyHook | None, total: int) -> int:
    done = 0
    with conn.cursor().copy("COPY segment_vectors (segment_id, vector) FROM STDIN WITH (FORMAT BINARY)") as copy:
        copy.write(_PGCOPY)
        last = -1
        while batch := source._query(
            "SELECT segment_id, vector FROM segment_vectors WHERE segment_id > ? ORDER BY segment_id LIMIT ?",
            (last, BATCH),
        ):
            copy.write(_binary_vectors([r["segment_id"] for r in batch], [r["vector"] for r in batch]))
            done += len(batch)
            last = batch[-1]["segment_id"]
            if hook:
                hook("segment_vectors", done, total)
        copy.write(b"\xff\xff")  # the trailer
    if hook:
        hook("segment_vectors", done, total)
    return done


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
        deferred = _drop_secondary_indexes(target)
        conn.execute("ALTER TABLE segments DISABLE TRIGGER segments_terms")  # the postings: in one go, below
        for table in TABLES:
            if table == "segment_vectors":
                _copy_vectors(conn, source, hook, counts[table])
                continue
            columns = _columns(source, table)
            names = list(columns) + (["folded"] if table == "segments" else [])
            quoted = ", ".join(f'"{c}"' for c in names)
            done = 0
            with conn.cursor().copy(f"COPY {table} ({quoted}) FROM STDIN") as copy:
                for row in _rows(source, table, columns):
                    values = row
                    if table == "segments":
                        values.append(fold(values[columns.index("text")]))
                    copy.write_row(values)
                    done += 1
                    if hook and done % BATCH == 0:
                        hook(table, done, counts[table])
            if hook:
                hook(table, done, counts[table])
        if hook:
            hook("word postings", 0, 1)
        conn.execute(FILL)
        conn.execute("ALTER TABLE segments ENABLE TRIGGER segments_terms")
        if hook:
            hook("word postings", 1, 1)
        _build_indexes(target, deferred, counts["segment_vectors"], hook)
        for table in WITH_IDS:
            top = f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1"
            conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {top}, false)")
    target._query("VACUUM (ANALYZE) segment_terms")  # (after the commit): the visibility map index-only scans need
    copied = {t: int(target._query(f"SELECT COUNT(*) AS n FROM {t}")[0]["n"]) for t in TABLES}
    wrong = {t: (counts[t], copied[t]) for t in TABLES if counts[t] != copied[t]}
    if wrong:
        raise StoreError(f"the copy to {redact(target.url)} is incomplete (rows in SQLite, in PostgreSQL): {wrong}")
    return copied


def _drop_secondary_indexes(target: PgDatabase) -> list[tuple[str, str]]:
    """Drops the indexes of the DEFERRED tables that back no constraint (inside the caller's transaction); returns
    (name, definition) of each, to build again after the load."""
    rows = target._query(
        """SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS definition
           FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace
           WHERE n.nspname = current_schema() AND t.relname = ANY(%s)
             AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
           ORDER BY 1""",
        (list(DEFERRED),),
    )
    for r in rows:
        target._query(f"DROP INDEX {r['name']}")
    return [(r["name"], r["definition"]) for r in rows]


def _build_indexes(target: PgDatabase, indexes: list[tuple[str, str]], vectors: int, hook: CopyHook | None) -> None:
    low, high = LOAD_MEMORY_MB
    memory = min(high, max(low, vectors * LOAD_MEMORY_PER_VECTOR // 2**20))
    target._query(f"SET LOCAL maintenance_work_mem = '{int(memory)}MB'")
    target._query("SET LOCAL max_parallel_maintenance_workers = 2")
    for k, (_, definition) in enumerate(indexes):
        if hook:
            hook("indexes", k, len(indexes))
        target._query(definition)
    if hook and indexes:
        hook("indexes", len(indexes), len(indexes))
    for table in DEFERRED:  # the planner's statistics at once, not when autovacuum gets to a million new rows
        target._query(f"ANALYZE {table}")
