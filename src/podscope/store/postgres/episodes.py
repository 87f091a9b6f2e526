"""The PostgreSQL twin of the episode tables (`podscope.store.episodes`): the same records, errors and ordering.

Where it differs from SQLite, and why:
- Podcast titles are compared and ordered through the key podscope folds (`podscope.store.names`), as on SQLite;
  ordering uses the "C" collation, so keys sort by code point as SQLite sorts them, whatever the server's locale.
- Saves of one recording are serialised by a transaction-scoped advisory lock on its content hash: SQLite's
  `BEGIN IMMEDIATE` serialises every write, so the check for an episode already done must not race here either.
- Segments also get `folded` (their text folded for full-text search, `podscope.store.postgres.fold`).
"""

from __future__ import annotations

from typing import Any

from podscope.errors import NotFound
from podscope.records import Episode, EpisodeSpeaker, Podcast, ProcessedEpisode, Segment, StoredTranscript, Turn
from podscope.store.db import blob, vector
from podscope.store.episodes import _episode, _words, _words_json
from podscope.store.names import name_key
from podscope.store.postgres.db import PgTables
from podscope.store.postgres.fold import fold

SAVE_LOCK = 7_482_002  # advisory lock class (two-key form): saves of one content hash, one at a time

_EPISODE_SELECT = """
    SELECT e.id, e.podcast_id, p.title AS podcast, e.title, e.published, e.duration, e.source, e.content_hash,
           e.status, e.language, e.asr_model, e.created_at,
           (SELECT COUNT(*) FROM episode_speakers s WHERE s.episode_id = e.id) AS speaker_count,
           (SELECT COUNT(*) FROM segments g WHERE g.episode_id = e.id) AS segment_count
    FROM episodes e JOIN podcasts p ON p.id = e.podcast_id
"""


class PgEpisodes(PgTables):
    """Episodes with their podcasts, speakers, turns, segments and words."""

    def find_by_hash(self, content_hash: str) -> Episode | None:
        rows = self._query(_EPISODE_SELECT + " WHERE e.content_hash = %s AND e.status = 'done'", (content_hash,))
        return _episode(rows[0]) if rows else None

    def hold_recording(self, content_hash: str) -> None:
        self._query(f"SELECT pg_advisory_xact_lock({SAVE_LOCK}, hashtext(%s))", (content_hash,))

    def save(
        self,
        processed: ProcessedEpisode,
        processing_seconds: float | None = None,
        *,
        voiceprints: bool = True,
        into: int | None = None,
    ) -> int:
        meta = processed.meta
        with self.transaction() as conn:
            self.hold_recording(processed.content_hash)
            key = name_key(meta.podcast)
            self._query(
                "INSERT INTO podcasts (title, title_key) VALUES (%s, %s) ON CONFLICT DO NOTHING", (meta.podcast, key)
            )
            podcast_id = self._query("SELECT id FROM podcasts WHERE title_key = %s", (key,))[0]["id"]
            # Another process may have stored the same recording while this one was processing it.
            done = self._query(
                "SELECT id FROM episodes WHERE content_hash = %s AND status = 'done'", (processed.content_hash,)
            )
            if done:
                return int(done[0]["id"])
            # A failed earlier attempt at the same recording is replaced, never duplicated.
            self._query(
                "DELETE FROM episodes WHERE content_hash = %s AND status != 'done' AND id IS DISTINCT FROM %s",
                (processed.content_hash, into),
            )
            values = (
                podcast_id,
                meta.title,
                meta.published.isoformat() if meta.published else None,
                processed.duration,
                meta.source,
                processed.content_hash,
                processed.language,
                processed.asr_model,
                processed.asr_source,
                processing_seconds,
            )
            if into is not None:
                updated = self._query(
                    """UPDATE episodes SET podcast_id = %s, title = %s, published = %s, duration = %s, source = %s,
                           content_hash = %s, status = 'done', language = %s, asr_model = %s, asr_source = %s,
                           processing_seconds = %s WHERE id = %s AND status != 'done' RETURNING id""",
                    (*values, into),
                )
                if not updated:
                    raise NotFound(f"episode {into} is not waiting to be processed")
                episode_id = into
            else:
                episode_id = int(
                    self._query(
                        """INSERT INTO episodes (podcast_id, title, published, duration, source, content_hash, status,
                                                 language, asr_model, asr_source, processing_seconds)
                           VALUES (%s, %s, %s, %s, %s, %s, 'done', %s, %s, %s, %s) RETURNING id""",
                        values,
                    )[0]["id"]
                )
            speaker_ids: dict[str, int] = {}
            with conn.cursor() as cur:
                for track in processed.diarization.speakers:
                    embedding = blob(track.embedding) if voiceprints else None
                    sid = int(
                        self._query(
                            """INSERT INTO episode_speakers (episode_id, label, speaking_time, embedding)
                               VALUES (%s, %s, %s, %s) RETURNING id""",
                            (episode_id, track.label, track.speaking_time, embedding),
                        )[0]["id"]
                    )
                    speaker_ids[track.label] = sid
                    if voiceprints and track.turn_embeddings:
                        cur.executemany(
                            "INSERT INTO speaker_embeddings (speaker_id, embedding) VALUES (%s, %s)",
                            [(sid, blob(e)) for e in track.turn_embeddings],
                        )
                if processed.diarization.turns:
                    cur.executemany(
                        'INSERT INTO turns (episode_id, speaker_id, start, "end") VALUES (%s, %s, %s, %s)',
                        [(episode_id, speaker_ids[t.speaker], t.start, t.end) for t in processed.diarization.turns],
                    )
                if processed.segments:
                    cur.executemany(
                        """INSERT INTO segments (episode_id, speaker_id, start, "end", text, words, folded)
                           VALUES (%s, %s, %s, %s, %s, %s, %s)""",
                        [
                            (
                                episode_id,
                                speaker_ids.get(s.speaker) if s.speaker else None,
                                s.start,
                                s.end,
                                s.text,
                                _words_json(s.words),
                                fold(s.text),
                            )
                            for s in processed.segments
                        ],
                    )
        return episode_id

    def get(self, episode_id: int) -> Episode:
        rows = self._query(_EPISODE_SELECT + " WHERE e.id = %s", (episode_id,))
        if not rows:
            raise NotFound(f"no episode with id {episode_id}; `podscope episodes` lists them")
        return _episode(rows[0])

    def list_episodes(self, podcast: str | None = None) -> list[Episode]:
        sql = _EPISODE_SELECT
        params: tuple[Any, ...] = ()
        if podcast is not None:
            if not self._query("SELECT 1 FROM podcasts WHERE title_key = %s", (name_key(podcast),)):
                raise NotFound(f"no podcast named {podcast!r}; `podscope podcasts` lists them")
            sql += " WHERE p.title_key = %s"
            params = (name_key(podcast),)
        sql += ' ORDER BY p.title_key COLLATE "C", p.id, e.published IS NULL, e.published COLLATE "C", e.id'
        return [_episode(r) for r in self._query(sql, params)]

    def recent_episodes(self, limit: int) -> list[Episode]:
        sql = _EPISODE_SELECT + " WHERE e.status = 'done' ORDER BY e.published IS NULL, e.published COLLATE \"C\" DESC,"
        rows = self._query(sql + ' e.created_at COLLATE "C" DESC, e.id DESC LIMIT %s', (limit,))
        return [_episode(r) for r in rows]

    def podcasts(self) -> list[Podcast]:
        rows = self._query(
            """SELECT p.id, p.title, COUNT(e.id) AS n FROM podcasts p LEFT JOIN episodes e ON e.podcast_id = p.id
               GROUP BY p.id ORDER BY p.title_key COLLATE "C", p.id"""
        )
        return [Podcast(id=r["id"], title=r["title"], episode_count=r["n"]) for r in rows]

    def podcast(self, podcast_id: int) -> Podcast:
        rows = self._query(
            """SELECT p.id, p.title, COUNT(e.id) AS n FROM podcasts p LEFT JOIN episodes e ON e.podcast_id = p.id
               WHERE p.id = %s GROUP BY p.id""",
            (podcast_id,),
        )
        if not rows:
            raise NotFound(f"no podcast with id {podcast_id}")
        return Podcast(id=rows[0]["id"], title=rows[0]["title"], episode_count=rows[0]["n"])

    def delete(self, episode_id: int) -> None:
        self.get(episode_id)
        with self.transaction():
            self._query("DELETE FROM episodes WHERE id = %s", (episode_id,))
            self._query("DELETE FROM podcasts WHERE id NOT IN (SELECT podcast_id FROM episodes)")

    def speakers(self, episode_id: int) -> list[EpisodeSpeaker]:
        rows = self._query(
            "SELECT id, episode_id, label, speaking_time, embedding FROM episode_speakers WHERE episode_id = %s"
            ' ORDER BY label COLLATE "C"',
            (episode_id,),
        )
        return [
            EpisodeSpeaker(
                id=r["id"],
                episode_id=r["episode_id"],
                label=r["label"],
                speaking_time=r["speaking_time"],
                embedding=vector(r["embedding"]),
            )
            for r in rows
        ]

    def turns(self, episode_id: int) -> list[Turn]:
        rows = self._query(
            """SELECT t.start, t."end", s.label FROM turns t JOIN episode_speakers s ON s.id = t.speaker_id
               WHERE t.episode_id = %s ORDER BY t.start, t.id""",
            (episode_id,),
        )
        return [Turn(start=r["start"], end=r["end"], speaker=r["label"]) for r in rows]

    def transcript(self, episode_id: int) -> StoredTranscript:
        episode = self.get(episode_id)
        rows = self._query(
            """SELECT g.start, g."end", g.text, g.words, s.label FROM segments g
               LEFT JOIN episode_speakers s ON s.id = g.speaker_id WHERE g.episode_id = %s ORDER BY g.start, g.id""",
            (episode_id,),
        )
        segments = tuple(
            Segment(
                start=r["start"],
                end=r["end"],
                speaker=r["label"],
                text=r["text"],
                words=_words(r["words"], r["label"]),
            )
            for r in rows
        )
        return StoredTranscript(
            episode=episode,
            speakers=tuple(self.speakers(episode_id)),
            segments=segments,
            turns=tuple(self.turns(episode_id)),
        )

    def counts(self) -> dict[str, int]:
        tables = ("podcasts", "episodes", "episode_speakers", "speaker_embeddings", "turns", "segments")
        return {t: int(self._query(f"SELECT COUNT(*) AS n FROM {t}")[0]["n"]) for t in tables}
