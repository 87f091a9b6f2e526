"""The SQLite store's upkeep (`store.maintenance`): integrity, the FTS5 index against the segments, orphaned rows,
and the online snapshot a backup copies.

The snapshot uses SQLite's backup API from a connection of its own that holds one read transaction for the whole copy:
in WAL mode that transaction sees the database as of its first read while other processes go on writing, so the
copy is consistent and never restarts, however busy the library is, and it blocks no writer.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from podscope.errors import InputError, StoreError
from podscope.records import Orphans, Snapshot, TextIndexState
from podscope.store import upkeep
from podscope.store.db import Tables

SNAPSHOT_PAGES = 4096  # pages copied per step of the backup (16 MB at SQLite's default page size)
# What a backup's manifest counts.
SNAPSHOT_COUNTS = ("podcasts", "episodes", "segments", "people", "exemplars", "episode_speakers", "segment_vectors")


class MaintenanceTables(Tables):
    """Upkeep of the SQLite file (`store.maintenance`)."""

    engine: Literal["sqlite", "postgresql"] = "sqlite"

    def _run(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        try:
            return self._query(sql, tuple(params))
        except sqlite3.Error as exc:
            raise StoreError(f"cannot read the library database at {self._db.path}: {exc}") from exc

    def integrity(self) -> list[str]:
        rows = [str(r[0]) for r in self._run("PRAGMA integrity_check")]
        return [] if rows == ["ok"] else rows

    def text_index(self, deep: bool = False) -> TextIndexState:
        count = "SELECT COUNT(*) AS n FROM "
        indexed = int(self._run(count + "segments_fts_docsize")[0]["n"])
        segments = int(self._run(count + "segments")[0]["n"])
        missing = self._run(
            count + "segments g WHERE NOT EXISTS (SELECT 1 FROM segments_fts_docsize d WHERE d.id = g.id)"
        )[0]["n"]
        extra = self._run(
            count + "segments_fts_docsize d WHERE NOT EXISTS (SELECT 1 FROM segments g WHERE g.id = d.id)"
        )[0]["n"]
        problems: tuple[str, ...] = ()
        try:  # FTS5's own check, against the segments' text too (rank 1): it fails at the first difference
            if deep:
                with self.transaction() as conn:
                    conn.execute("INSERT INTO segments_fts (segments_fts, rank) VALUES ('integrity-check', 1)")
        except sqlite3.DatabaseError as exc:
            problems = (f"FTS5 integrity-check: the index does not match the segments' text ({exc})",)
        return TextIndexState(indexed, segments, int(missing), int(extra), problems)

    def rebuild_text_index(self) -> None:
        with self.transaction() as conn:
            conn.execute("INSERT INTO segments_fts (segments_fts) VALUES ('rebuild')")

    def orphans(self) -> list[Orphans]:
        return upkeep.orphans(self._run)

    def forgotten_voiceprints(self) -> int:
        return upkeep.forgotten_voiceprints(self._run)

    def delete_orphans(self) -> dict[str, int]:
        with self.transaction() as conn:
            done = upkeep.delete_orphans(lambda sql, params: conn.execute(sql, tuple(params)).rowcount)
        if any(key.startswith("forgotten") for key in done):
            self._db.compact()  # as `forget` does: no copy of a removed voiceprint stays in the file
        return done

    def missing_vectors(self) -> int:
        return upkeep.missing_vectors(self._run)

    def vector_ids(self) -> npt.NDArray[np.int64]:
        return upkeep.vector_ids(self._run)

    def recording_sources(self) -> list[tuple[int, str]]:
        return upkeep.recording_sources(self._run)

    def rehome(self, old: str, new: str) -> int:
        with self.transaction() as conn:
            return upkeep.rehome(lambda sql, params: conn.execute(sql, tuple(params)).rowcount, "?", old, new)

    def snapshot(self, path: Path, hook: Callable[[int, int], None] | None = None) -> Snapshot:
        if path.exists():
            raise InputError(f"{path} exists already: a snapshot is written to a new file")
        try:
            source = sqlite3.connect(self._db.path, isolation_level=None, timeout=30)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the library database at {self._db.path}: {exc}") from exc
        try:
            source.row_factory = sqlite3.Row
            source.execute("BEGIN")  # one read transaction: the counts, the sources and every page as of one moment
            counts = {t: int(source.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]) for t in SNAPSHOT_COUNTS}
            sources = tuple(
                str(r[0]) for r in source.execute("SELECT source FROM episodes WHERE status = 'done' AND source <> ''")
            )
            target = sqlite3.connect(path)
            try:
                source.backup(
                    target,
                    pages=SNAPSHOT_PAGES,
                    progress=(lambda _status, left, total: hook(total - left, total)) if hook else None,
                )
            finally:
                target.close()
            source.execute("COMMIT")
        except sqlite3.Error as exc:
            path.unlink(missing_ok=True)
            raise StoreError(f"cannot copy the library database at {self._db.path} to {path}: {exc}") from exc
        finally:
            source.close()
        return Snapshot(counts, sources)
