"""The store's episode tables: podcasts, episodes, their speakers, turns, segments and words.

Why it looks like this:
- An episode is written in one transaction (`save`), so a crash mid-way leaves nothing half-written and the
  next run can redo it; the content hash makes re-adding the same recording a no-op.
- Words are kept per segment as a compact JSON array ([start, end, text, probability]): they are read with their
  segment (transcripts, quizzes, exports) and never queried one by one, and a 3-hour episode has 30,000 of them.
- Embeddings are float32 blobs; they are biometric data, so they live in three tables only (episode_speakers,
  speaker_embeddings and exemplars), which makes removing them complete and checkable (`PeopleTables.forget`).
- One implementation for both engines (`podscope.store.sql`); PostgreSQL's `PgEpisodes` adds only what that engine
  needs: saves of one recording serialised by an advisory lock (SQLite's `BEGIN IMMEDIATE` already serialises every
  write, so the check for an episode already done cannot race), and each segment's folded text for its tsvector.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import Any

from podscope.errors import NotFound
from podscope.records import (
    Episode,
    EpisodeSpeaker,
    Podcast,
    ProcessedEpisode,
    Segment,
    StoredTranscript,
    Turn,
    Word,
)
from podscope.store.db import blob, vector
from podscope.store.names import name_key
from podscope.store.sql import SqlTables


def _words_json(words: tuple[Word, ...]) -> str:
    return json.dumps([[round(w.start, 3), round(w.end, 3), w.text, round(w.probability, 3)] for w in words])


def _words(text: str, speaker: str | None) -> tuple[Word, ...]:
    return tuple(Word(start=s, end=e, text=t, probability=p, speaker=speaker) for s, e, t, p in json.loads(text))


_EPISODE_SELECT = """
    SELECT e.id, e.podcast_id, p.title AS podcast, e.title, e.published, e.duration, e.source, e.content_hash,
           e.status, e.language, e.asr_model, e.created_at,
           (SELECT COUNT(*) FROM episode_speakers s WHERE s.episode_id = e.id) AS speaker_count,
           (SELECT COUNT(*) FROM segments g WHERE g.episode_id = e.id) AS segment_count
    FROM episodes e JOIN podcasts p ON p.id = e.podcast_id
"""


def _episode(row: Mapping[str, Any]) -> Episode:
    return Episode(
        id=row["id"],
        podcast_id=row["podcast_id"],
        podcast=row["podcast"],
        title=row["title"],
        published=dt.date.fromisoformat(row["published"]) if row["published"] else None,
        duration=row["duration"],
        source=row["source"],
        content_hash=row["content_hash"] or "",
        status=row["status"],
        language=row["language"],
        asr_model=row["asr_model"],
        speaker_count=row["speaker_count"],
        segment_count=row["segment_count"],
        created_at=row["created_at"],
    )


class EpisodeTables(SqlTables):
    """Episodes with their podcasts, speakers, turns, segments and words, on either engine."""

    def find_by_hash(self, content_hash: str) -> Episode | None:
        row = self._one(_EPISODE_SELECT + " WHERE e.content_hash = ? AND e.status = 'done'", (content_hash,))
        return _episode(row) if row else None

    def hold_recording(self, content_hash: str) -> None:
        """Nothing to take on SQLite: a write transaction (`BEGIN IMMEDIATE`) already holds the file's only write
        lock."""

    def _segment_rows(
        self, episode_id: int, speaker_ids: dict[str, int], segments: Sequence[Segment]
    ) -> tuple[str, list[tuple[Any, ...]]]:
        """The columns of `segments` a save writes, and their rows."""
        columns = 'episode_id, speaker_id, start, "end", text, words'
        return columns, [
            (
                episode_id,
                speaker_ids.get(s.speaker) if s.speaker else None,
                s.start,
                s.end,
                s.text,
                _words_json(s.words),
            )
            for s in segments
        ]

    def save(
        self,
        processed: ProcessedEpisode,
        processing_seconds: float | None = None,
        *,
        voiceprints: bool = True,
        into: int | None = None,
    ) -> int:
        meta = processed.meta
        with self.transaction():
            self.hold_recording(processed.content_hash)
            key = name_key(meta.podcast)
            self._q("INSERT INTO podcasts (title, title_key) VALUES (?, ?) ON CONFLICT DO NOTHING", (meta.podcast, key))
            podcast_id = self._q("SELECT id FROM podcasts WHERE title_key = ?", (key,))[0]["id"]
            # Another process may have stored the same recording while this one was processing it.
            done = self._one(
                "SELECT id FROM episodes WHERE content_hash = ? AND status = 'done'", (processed.content_hash,)
            )
            if done is not None:
                return int(done["id"])
            # A failed earlier attempt at the same recording is replaced, never duplicated.
            self._q(
                "DELETE FROM episodes WHERE content_hash = ? AND status != 'done'"
                + ("" if into is None else " AND id != ?"),
                (processed.content_hash,) if into is None else (processed.content_hash, into),
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
                updated = self._count(
                    """UPDATE episodes SET podcast_id = ?, title = ?, published = ?, duration = ?, source = ?,
                           content_hash = ?, status = 'done', language = ?, asr_model = ?, asr_source = ?,
                           processing_seconds = ? WHERE id = ? AND status != 'done'""",
                    (*values, into),
                )
                if not updated:
                    raise NotFound(f"episode {into} is not waiting to be processed")
                episode_id = into
            else:
                episode_id = int(
                    self._q(
                        """INSERT INTO episodes (podcast_id, title, published, duration, source, content_hash, status,
                                                 language, asr_model, asr_source, processing_seconds)
                           VALUES (?, ?, ?, ?, ?, ?, 'done', ?, ?, ?, ?) RETURNING id""",
                        values,
                    )[0]["id"]
                )
            speaker_ids: dict[str, int] = {}
            for track in processed.diarization.speakers:
                sid = int(
                    self._q(
                        """INSERT INTO episode_speakers (episode_id, label, speaking_time, embedding)
                           VALUES (?, ?, ?, ?) RETURNING id""",
                        (episode_id, track.label, track.speaking_time, blob(track.embedding) if voiceprints else None),
                    )[0]["id"]
                )
                speaker_ids[track.label] = sid
                if voiceprints:
                    self._many(
                        "INSERT INTO speaker_embeddings (speaker_id, embedding) VALUES (?, ?)",
                        [(sid, blob(e)) for e in track.turn_embeddings],
                    )
            self._many(
                'INSERT INTO turns (episode_id, speaker_id, start, "end") VALUES (?, ?, ?, ?)',
                [(episode_id, speaker_ids[t.speaker], t.start, t.end) for t in processed.diarization.turns],
            )
            columns, rows = self._segment_rows(episode_id, speaker_ids, processed.segments)
            marks = ", ".join("?" * len(rows[0])) if rows else ""
            self._many(f"INSERT INTO segments ({columns}) VALUES ({marks})", rows)
        return episode_id

    def get(self, episode_id: int) -> Episode:
        row = self._one(_EPISODE_SELECT + " WHERE e.id = ?", (episode_id,))
        if row is None:
            raise NotFound(f"no episode with id {episode_id}; `podscope episodes` lists them")
        return _episode(row)

    def list_episodes(self, podcast: str | None = None) -> list[Episode]:
        sql = _EPISODE_SELECT
        params: tuple[Any, ...] = ()
        if podcast is not None:
            if not self._q("SELECT 1 FROM podcasts WHERE title_key = ?", (name_key(podcast),)):
                raise NotFound(f"no podcast named {podcast!r}; `podscope podcasts` lists them")
            sql += " WHERE p.title_key = ?"
            params = (name_key(podcast),)
        order = self._dialect.byte_order
        sql += f" ORDER BY p.title_key{order}, p.id, e.published IS NULL, e.published{order}, e.id"
        return [_episode(r) for r in self._q(sql, params)]

    def recent_episodes(self, limit: int) -> list[Episode]:
        order = self._dialect.byte_order
        sql = _EPISODE_SELECT + f" WHERE e.status = 'done' ORDER BY e.published IS NULL, e.published{order} DESC,"
        rows = self._q(sql + f" e.created_at{order} DESC, e.id DESC LIMIT ?", (limit,))
        return [_episode(r) for r in rows]

    def podcasts(self) -> list[Podcast]:
        rows = self._q(
            f"""SELECT p.id, p.title, COUNT(e.id) AS n FROM podcasts p LEFT JOIN episodes e ON e.podcast_id = p.id
                GROUP BY p.id ORDER BY p.title_key{self._dialect.byte_order}, p.id"""
        )
        return [Podcast(id=r["id"], title=r["title"], episode_count=r["n"]) for r in rows]

    def podcast(self, podcast_id: int) -> Podcast:
        r = self._one(
            """SELECT p.id, p.title, COUNT(e.id) AS n FROM podcasts p LEFT JOIN episodes e ON e.podcast_id = p.id
               WHERE p.id = ? GROUP BY p.id""",
            (podcast_id,),
        )
        if r is None:
            raise NotFound(f"no podcast with id {podcast_id}")
        return Podcast(id=r["id"], title=r["title"], episode_count=r["n"])

    def delete(self, episode_id: int) -> None:
        self.get(episode_id)
        with self.transaction():
            # An alert's record of the segments it fired on goes with them: on SQLite a later episode's segments
            # can take the ids of the last ones deleted, and would never fire.
            self._q(
                "DELETE FROM alert_hits WHERE segment_id IN (SELECT id FROM segments WHERE episode_id = ?)",
                (episode_id,),
            )
            self._q("DELETE FROM episodes WHERE id = ?", (episode_id,))
            self._q("DELETE FROM podcasts WHERE id NOT IN (SELECT podcast_id FROM episodes)")

    def speakers(self, episode_id: int) -> list[EpisodeSpeaker]:
        rows = self._q(
            "SELECT id, episode_id, label, speaking_time, embedding FROM episode_speakers WHERE episode_id = ?"
            f" ORDER BY label{self._dialect.byte_order}",
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
        rows = self._q(
            """SELECT t.start, t."end", s.label FROM turns t JOIN episode_speakers s ON s.id = t.speaker_id
               WHERE t.episode_id = ? ORDER BY t.start, t.id""",
            (episode_id,),
        )
        return [Turn(start=r["start"], end=r["end"], speaker=r["label"]) for r in rows]

    def transcript(self, episode_id: int) -> StoredTranscript:
        episode = self.get(episode_id)
        rows = self._q(
            """SELECT g.start, g."end", g.text, g.words, s.label FROM segments g
               LEFT JOIN episode_speakers s ON s.id = g.speaker_id WHERE g.episode_id = ? ORDER BY g.start, g.id""",
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
        return {t: int(self._q(f"SELECT COUNT(*) AS n FROM {t}")[0]["n"]) for t in tables}
