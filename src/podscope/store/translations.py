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

from podscope.store.db import Tables


def _marks(ids: Sequence[int]) -> str:
    return ",".join("?" * len(ids))


class TranslationTables(Tables):
    """Cached segment translations (`store.translations`)."""

    def segment_texts(self, episode_id: int) -> list[tuple[int, str]]:
        rows = self._query("SELECT id, text FROM segments WHERE episode_id = ? ORDER BY start, id", (episode_id,))
        return [(int(r["id"]), str(r["text"])) for r in rows]

    def cached_translations(self, segment_ids: Sequence[int], source: str, target: str, backend: str) -> dict[int, str]:
        found: dict[int, str] = {}
        ids = list(segment_ids)
        for start in range(0, len(ids), 500):  # stay under SQLite's bound-parameter limit
            chunk = ids[start : start + 500]
            rows = self._query(
                f"SELECT segment_id, text FROM translations WHERE segment_id IN ({_marks(chunk)})"
                " AND source = ? AND language = ? AND backend = ?",
                (*chunk, source, target, backend),
            )
            found.update({int(r["segment_id"]): str(r["text"]) for r in rows})
        return found

    def save_translations(self, translated: dict[int, str], source: str, target: str, backend: str) -> None:
        with self.transaction() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO translations (segment_id, source, language, backend, text)"
                " VALUES (?, ?, ?, ?, ?)",
                [(sid, source, target, backend, text) for sid, text in translated.items()],
            )

    def translation_count(self, episode_id: int | None = None) -> int:
        if episode_id is None:
            return int(self._query("SELECT COUNT(*) AS n FROM translations")[0]["n"])
        return int(
            self._query(
                "SELECT COUNT(*) AS n FROM translations t JOIN segments g ON g.id = t.segment_id"
                " WHERE g.episode_id = ?",
                (episode_id,),
            )[0]["n"]
        )
