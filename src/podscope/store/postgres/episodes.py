"""The PostgreSQL episode tables: `podscope.store.episodes` plus what this engine needs (see there): saves of one
recording serialised by a transaction-scoped advisory lock on its content hash, and each segment's text folded
for full-text search (`folded`, from which the tsvector column is generated; `podscope.store.postgres.fold`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from podscope.records import Segment
from podscope.store.episodes import EpisodeTables
from podscope.store.postgres.fold import fold

SAVE_LOCK = 7_482_002  # advisory lock class (two-key form): saves of one content hash, one at a time


class PgEpisodes(EpisodeTables):
    """Episodes on PostgreSQL."""

    def hold_recording(self, content_hash: str) -> None:
        self._q(f"SELECT pg_advisory_xact_lock({SAVE_LOCK}, hashtext(?))", (content_hash,))

    def _segment_rows(
        self, episode_id: int, speaker_ids: dict[str, int], segments: Sequence[Segment]
    ) -> tuple[str, list[tuple[Any, ...]]]:
        columns, rows = super()._segment_rows(episode_id, speaker_ids, segments)
        return columns + ", folded", [(*row, fold(s.text)) for row, s in zip(rows, segments, strict=True)]
