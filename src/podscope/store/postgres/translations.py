"""The PostgreSQL twin of the translation cache (`podscope.store.translations`): one row per segment, language pair
and backend; the `translations_stale` trigger drops a segment's translations when its text is corrected."""

from __future__ import annotations

from collections.abc import Sequence

from podscope.store.postgres.db import PgTables


class PgTranslations(PgTables):
    """Segment translations, cached per segment, language pair and backend."""

    def segment_texts(self, episode_id: int) -> list[tuple[int, str]]:
        rows = self._query("SELECT id, text FROM segments WHERE episode_id = %s ORDER BY start, id", (episode_id,))
        return [(int(r["id"]), str(r["text"])) for r in rows]

    def cached_translations(self, segment_ids: Sequence[int], source: str, target: str, backend: str) -> dict[int, str]:
        rows = self._query(
            "SELECT segment_id, text FROM translations WHERE segment_id = ANY(%s::bigint[])"
            " AND source = %s AND language = %s AND backend = %s",
            ([int(i) for i in segment_ids], source, target, backend),
        )
        return {int(r["segment_id"]): str(r["text"]) for r in rows}

    def save_translations(self, translated: dict[int, str], source: str, target: str, backend: str) -> None:
        if not translated:
            return
        with self.transaction() as conn, conn.cursor() as cur:
            # As SQLite's INSERT OR REPLACE: the row is written anew, with a fresh created_at.
            cur.executemany(
                """INSERT INTO translations (segment_id, source, language, backend, text) VALUES (%s, %s, %s, %s, %s)
                   ON CONFLICT (segment_id, language, backend, source)
                   DO UPDATE SET text = EXCLUDED.text, created_at = EXCLUDED.created_at""",
                [(sid, source, target, backend, text) for sid, text in translated.items()],
            )

    def translation_count(self, episode_id: int | None = None) -> int:
        if episode_id is None:
            return int(self._query("SELECT COUNT(*) AS n FROM translations")[0]["n"])
        return int(
            self._query(
                "SELECT COUNT(*) AS n FROM translations t JOIN segments g ON g.id = t.segment_id"
                " WHERE g.episode_id = %s",
                (episode_id,),
            )[0]["n"]
        )
