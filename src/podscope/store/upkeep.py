"""The store's upkeep queries that read the same on SQLite and PostgreSQL: orphaned rows (per foreign key of the
schema), voiceprints left behind by a person who is gone, segments without vectors, and episode sources.

Each backend's maintenance repository passes its own way to run a statement (`Run`: rows of a query; `Change`: rows
changed by a write inside its transaction) and its parameter placeholder. Orphans cannot arise while the engine
enforces the foreign keys; they come from a writer that did not (SQLite's own shell leaves foreign keys off), an old
bug, or a file put together by hand, and each is removed the way its foreign key's ON DELETE would have.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from podscope.records import Orphans

# How a PostgreSQL store's database is backed up and restored (the server's own tools, consistent while it runs).
PG_DUMP = (
    "pg_dump -Fc -f podscope.dump 'postgresql://user@host/db' (and back, into an empty database: pg_restore"
    " --no-owner -d 'postgresql://user@host/db' podscope.dump)"
)
Run = Callable[[str, Sequence[Any]], list[Any]]  # a query's rows (each readable as row["column"])
Change = Callable[[str, Sequence[Any]], int]  # a write's changed rows, inside the caller's transaction


@dataclass(frozen=True)
class ForeignKey:
    table: str
    column: str
    parent: str
    on_delete: Literal["cascade", "set null"]


# Every foreign key of the schema (tests/test_backup.py holds this list against SQLite's own foreign_key_list).
FOREIGN_KEYS: tuple[ForeignKey, ...] = tuple(
    ForeignKey(table, column, parent, "set null" if action == "n" else "cascade")
    for table, column, parent, action in (
        ("episodes", "podcast_id", "podcasts", "c"),
        ("episode_speakers", "episode_id", "episodes", "c"),
        ("speaker_embeddings", "speaker_id", "episode_speakers", "c"),
        ("turns", "episode_id", "episodes", "c"),
        ("turns", "speaker_id", "episode_speakers", "c"),
        ("segments", "episode_id", "episodes", "c"),
        ("segments", "speaker_id", "episode_speakers", "n"),
        ("exemplars", "person_id", "people", "c"),
        ("exemplars", "speaker_id", "episode_speakers", "n"),
        ("attributions", "speaker_id", "episode_speakers", "c"),
        ("attributions", "person_id", "people", "c"),
        ("rejections", "speaker_id", "episode_speakers", "c"),
        ("rejections", "person_id", "people", "c"),
        ("attribution_log", "speaker_id", "episode_speakers", "c"),
        ("attribution_log", "person_before", "people", "c"),
        ("attribution_log", "person_after", "people", "c"),
        ("segment_vectors", "segment_id", "segments", "c"),
        ("feeds", "podcast_id", "podcasts", "n"),
        ("feed_items", "feed_id", "feeds", "c"),
        ("feed_items", "episode_id", "episodes", "n"),
        ("credits", "episode_id", "episodes", "c"),
        ("credits", "person_id", "people", "c"),
        ("publisher_chapters", "episode_id", "episodes", "c"),
        ("quiz_attempts", "episode_id", "episodes", "c"),
        ("translations", "segment_id", "segments", "c"),
        ("browser_sessions", "key_id", "api_keys", "c"),
        ("alert_hits", "alert_id", "alerts", "c"),
        ("alert_events", "alert_id", "alerts", "c"),
        ("alert_deliveries", "alert_id", "alerts", "c"),
        ("alert_deliveries", "event_id", "alert_events", "c"),
        ("alert_attempts", "delivery_id", "alert_deliveries", "c"),
    )
)


def _dangling(fk: ForeignKey) -> str:
    return (
        f"{fk.table}.{fk.column} IS NOT NULL AND NOT EXISTS"
        f" (SELECT 1 FROM {fk.parent} parent WHERE parent.id = {fk.table}.{fk.column})"
    )


def orphans(run: Run) -> list[Orphans]:
    found = []
    for fk in FOREIGN_KEYS:
        n = int(run(f"SELECT COUNT(*) AS n FROM {fk.table} WHERE {_dangling(fk)}", ())[0]["n"])
        if n:
            found.append(Orphans(fk.table, fk.column, fk.parent, n))
    return found


# Episode speakers tied to a person who is gone: attributed to them, or the source of one of their exemplars.
_FORGOTTEN = """SELECT a.speaker_id FROM attributions a
                WHERE NOT EXISTS (SELECT 1 FROM people p WHERE p.id = a.person_id)
                UNION SELECT x.speaker_id FROM exemplars x
                WHERE x.speaker_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM people p WHERE p.id = x.person_id)"""


def forgotten_voiceprints(run: Run) -> int:
    return int(
        run(
            f"""SELECT COUNT(*) AS n FROM episode_speakers s WHERE s.id IN ({_FORGOTTEN}) AND (s.embedding IS NOT NULL
                OR EXISTS (SELECT 1 FROM speaker_embeddings w WHERE w.speaker_id = s.id))""",
            (),
        )[0]["n"]
    )


def delete_orphans(change: Change) -> dict[str, int]:
    """Inside the caller's transaction: the forgotten voiceprints first (their people are gone, so nothing else
    would find them), then each orphaned row as its foreign key says, until a pass finds none."""
    done: dict[str, int] = {}

    def note(key: str, n: int) -> None:
        if n:
            done[key] = done.get(key, 0) + n

    speakers = f"UPDATE episode_speakers SET embedding = NULL WHERE embedding IS NOT NULL AND id IN ({_FORGOTTEN})"
    note("forgotten voiceprints", change(speakers, ()))
    windows = f"DELETE FROM speaker_embeddings WHERE speaker_id IN ({_FORGOTTEN})"
    note("forgotten window voiceprints", change(windows, ()))
    for _ in range(len(FOREIGN_KEYS)):  # a deletion can leave a grandchild without its parent when keys are off
        changed = 0
        for fk in FOREIGN_KEYS:
            if fk.on_delete == "cascade":
                n = change(f"DELETE FROM {fk.table} WHERE {_dangling(fk)}", ())
            else:
                n = change(f"UPDATE {fk.table} SET {fk.column} = NULL WHERE {_dangling(fk)}", ())
            note(fk.table, n)
            changed += n
        if not changed:
            break
    return done


def missing_vectors(run: Run) -> int:
    return int(
        run(
            """SELECT COUNT(*) AS n FROM segments g
               WHERE NOT EXISTS (SELECT 1 FROM segment_vectors v WHERE v.segment_id = g.id)""",
            (),
        )[0]["n"]
    )


def vector_ids(run: Run) -> npt.NDArray[np.int64]:
    rows = run("SELECT segment_id FROM segment_vectors ORDER BY segment_id", ())
    return np.fromiter((r["segment_id"] for r in rows), dtype=np.int64, count=len(rows))


def recording_sources(run: Run) -> list[tuple[int, str]]:
    rows = run("SELECT id, source FROM episodes WHERE status = 'done' AND source <> '' ORDER BY id", ())
    return [(int(r["id"]), str(r["source"])) for r in rows]


def rehome(change: Change, placeholder: str, old: str, new: str) -> int:
    """Inside the caller's transaction: sources under the folder `old` now under `new` (both without a final /)."""
    p = placeholder
    old_prefix, new_prefix = old.rstrip("/") + "/", new.rstrip("/") + "/"
    return change(
        f"""UPDATE episodes SET source = {p} || substr(source, CAST({p} AS INTEGER))
            WHERE substr(source, 1, CAST({p} AS INTEGER)) = {p}""",
        (new_prefix, len(old_prefix) + 1, len(old_prefix), old_prefix),
    )
