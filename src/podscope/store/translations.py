"""The store's translation cache: one row per segment, target language and backend.

Why it looks like this:
- Machine translation is deterministic for a given backend, so a segment is translated once per language and
  backend and read back afterwards; the backend is part of the key so switching backends does not serve the other
  one's wording.
- Rows hang off `segments` with ON DELETE CASCADE, and a trigger drops a segment's translations when its text is
  corrected, so the cache can never outlive or contradict its source.
"""

from __future__ import annotations

from collections.abc import Sequence

from podscope.store.sql import SqlTables


class TranslationTables(SqlTables):
    """Cached segment translations (`store.translations`), on either engine."""

    def segment_texts(self, episode_id: int) -> list[tuple[int, str]]:
        rows = self._q("SELECT id, text FROM segments WHERE episode_id = ? ORDER BY start, id", (episode_id,))
        return [(int(r["id"]), str(r["text"])) for r in rows]

    def cached_translations(self, segment_ids: Sequence[int], source: str, target: str, backend: str) -> dict[int, str]:
        where, ids = self._in("segment_id", [int(i) for i in segment_ids])
        rows = self._q(
            f"SELECT segment_id, text FROM translations WHERE {where} AND source = ? AND language = ? AND backend = ?",
            (ids, source, target, backend),
        )
        return {int(r["segment_id"]): str(r["text"]) for r in rows}

    def save_translations(self, translated: dict[int, str], source: str, target: str, backend: str) -> None:
        with self.transaction():
            # Written anew, with a fresh created_at, as a REPLACE would.
            self._many(
                """INSERT INTO translations (segment_id, source, language, backend, text) VALUES (?, ?, ?, ?, ?)
                   ON CONFLICT (segment_id, language, backend, source)
                   DO UPDATE SET text = excluded.text, created_at = excluded.created_at""",
                [(sid, source, target, backend, text) for sid, text in translated.items()],
            )

    def translation_count(self, episode_id: int | None = None) -> int:
        if episode_id is None:
            return int(self._q("SELECT COUNT(*) AS n FROM translations")[0]["n"])
        return int(
            self._q(
                "SELECT COUNT(*) AS n FROM translations t JOIN segments g ON g.id = t.segment_id"
                " WHERE g.episode_id = ?",
                (episode_id,),
            )[0]["n"]
        )
