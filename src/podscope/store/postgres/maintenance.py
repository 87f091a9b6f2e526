"""The PostgreSQL store's upkeep (`store.maintenance`): what a check can ask of a server cheaply.

The server guards its own pages and enforces every foreign key, so "integrity" here is whether it answers and has
every migration; the text index is the generated `tsv` over `folded`, which podscope writes with each segment, so it
agrees unless `folded` was left behind (a deep check folds every segment again and compares, and counts the postings
of words against the tsvectors' words). The vector index is the server's own HNSW index: nothing local to compare. A
consistent copy of the database is `pg_dump`'s job.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from podscope.errors import InputError
from podscope.records import Orphans, Snapshot, TextIndexState
from podscope.store import upkeep
from podscope.store.postgres.db import PgTables
from podscope.store.postgres.fold import fold
from podscope.store.postgres.migrations import MIGRATIONS
from podscope.store.postgres.postings import FILL

BATCH = 5000


class PgMaintenance(PgTables):
    """Upkeep of the PostgreSQL database (`store.maintenance`)."""

    engine: Literal["sqlite", "postgresql"] = "postgresql"

    def _run(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return self._query(sql, tuple(params))

    def integrity(self) -> list[str]:
        self._query("SELECT 1")
        applied = set(self._db.applied_migrations())
        return [f"migration {name} is not applied" for name, _ in MIGRATIONS if name not in applied]

    def _refolded(self) -> int:
        """Segments whose `folded` text is not their text folded (read in batches: the deep check)."""
        wrong, last = 0, 0
        while rows := self._query(
            "SELECT id, text, folded FROM segments WHERE id > %s ORDER BY id LIMIT %s", (last, BATCH)
        ):
            wrong += sum(1 for r in rows if fold(r["text"]) != r["folded"])
            last = int(rows[-1]["id"])
        return wrong

    def _postings_apart(self) -> bool:
        """Whether the postings of words (`segment_terms`) differ from the segments' tsvectors in number (a full read
        of both: the deep check)."""
        row = self._query(
            """SELECT (SELECT COUNT(*) FROM segment_terms) AS postings,
                      (SELECT COALESCE(SUM(length(tsv)), 0) FROM segments) AS lexemes"""
        )[0]
        return int(row["postings"]) != int(row["lexemes"])

    def text_index(self, deep: bool = False) -> TextIndexState:
        segments = int(self._query("SELECT COUNT(*) AS n FROM segments")[0]["n"])
        missing = int(self._query("SELECT COUNT(*) AS n FROM segments WHERE folded = '' AND text <> ''")[0]["n"])
        problems: list[str] = []
        if deep and (wrong := self._refolded()):
            problems.append(f"{wrong} segments' folded text does not match their text")
        if deep and self._postings_apart():
            problems.append("the postings of words (segment_terms) do not match the segments' words")
        return TextIndexState(segments - missing, segments, missing, 0, tuple(problems))

    def rebuild_text_index(self) -> None:
        """Fold every segment again (its tsvector and, by their trigger, its postings follow), then write the
        postings again from the tsvectors if they still disagree."""
        last = 0
        while rows := self._query("SELECT id, text FROM segments WHERE id > %s ORDER BY id LIMIT %s", (last, BATCH)):
            with self.transaction() as conn, conn.cursor() as cur:
                cur.executemany(
                    "UPDATE segments SET folded = %s WHERE id = %s AND folded <> %s",
                    [(fold(r["text"]), r["id"], fold(r["text"])) for r in rows],
                )
            last = int(rows[-1]["id"])
        if self._postings_apart():
            with self.transaction() as conn:
                conn.execute("DELETE FROM segment_terms")
                conn.execute(FILL)
            self._query("VACUUM (ANALYZE) segment_terms")

    def orphans(self) -> list[Orphans]:
        return upkeep.orphans(self._run)

    def forgotten_voiceprints(self) -> int:
        return upkeep.forgotten_voiceprints(self._run)

    def delete_orphans(self) -> dict[str, int]:
        with self.transaction() as conn:
            done = upkeep.delete_orphans(lambda sql, params: int(conn.execute(sql, tuple(params)).rowcount))
        if any(key.startswith("forgotten") for key in done):
            self._db.compact()
        return done

    def missing_vectors(self) -> int:
        return upkeep.missing_vectors(self._run)

    def vector_ids(self) -> npt.NDArray[np.int64]:
        return upkeep.vector_ids(self._run)

    def recording_sources(self) -> list[tuple[int, str]]:
        return upkeep.recording_sources(self._run)

    def rehome(self, old: str, new: str) -> int:
        with self.transaction() as conn:
            return upkeep.rehome(lambda sql, params: int(conn.execute(sql, tuple(params)).rowcount), "%s", old, new)

    def snapshot(self, path: Path, hook: Callable[[int, int], None] | None = None) -> Snapshot:
        raise InputError(f"a PostgreSQL store is copied by the server's own tools: {upkeep.PG_DUMP}")
