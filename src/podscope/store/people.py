"""The store's people tables: people, voice exemplars, attributions of episode speakers, rejections and history.

Why it looks like this:
- An attribution is keyed by the episode speaker, so an episode speaker is one person at most, and a human decision is
  a tier (`confirmed`) that the machine's writes skip (`set_attribution(..., machine=True)` never touches it).
- A rejection is its own row, so "this voice is not X" survives every re-match.
- Every change of an attribution writes a history row with its reason; history rows of a person go with the person.
- Forgetting a person clears every voiceprint tied to them: their exemplars, and the embeddings of every episode
  speaker attributed to them or used as one of their exemplars; then the store is compacted so no copy is left.
- One implementation for both engines (`podscope.store.sql`): names match, stay unique and sort by the key podscope
  folds (`podscope.store.names`), labels sort byte-wise, and two writers of one speaker's attribution take turns
  (SQLite's one writer; a row lock on PostgreSQL).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from podscope.errors import InputError, NotFound
from podscope.records import (
    HUMAN_TIER,
    SHOWN_TIERS,
    TIERS,
    Appearance,
    Attribution,
    AttributionChange,
    Embedding,
    Exemplar,
    Person,
    Quote,
    SpeakerVoice,
    Stretch,
)
from podscope.store.db import blob, vector
from podscope.store.names import name_key
from podscope.store.sql import Row, SqlTables

STRETCH_SECONDS = 20.0  # a representative stretch is at most this long

_PERSON_SELECT = """
    SELECT p.id, p.name, p.created_at,
           (SELECT COUNT(*) FROM exemplars x WHERE x.person_id = p.id) AS exemplars,
           (SELECT COUNT(*) FROM exemplars x WHERE x.person_id = p.id AND x.flagged IS NOT NULL) AS flagged,
           (SELECT COUNT(DISTINCT s.episode_id) FROM attributions a JOIN episode_speakers s ON s.id = a.speaker_id
             WHERE a.person_id = p.id AND a.tier IN ('confirmed', 'verified', 'matched')) AS episodes
    FROM people p
"""

# Machine attributions in the default review queue: the matched ones, and the low ones held back from matched.
REVIEW_WAITING = """
    SELECT COUNT(*) AS n FROM attributions WHERE tier = 'matched' OR (tier = 'low' AND held IS NOT NULL AND held <> '')
"""

_ATTRIBUTION_SELECT = """
    SELECT a.speaker_id, s.episode_id, s.label, a.person_id, p.name AS person, a.score, a.tier, a.held,
           s.speaking_time, a.updated_at
    FROM attributions a JOIN episode_speakers s ON s.id = a.speaker_id JOIN people p ON p.id = a.person_id
"""


def _person(row: Row) -> Person:
    return Person(
        id=row["id"],
        name=row["name"],
        created_at=row["created_at"],
        exemplars=row["exemplars"],
        flagged=row["flagged"],
        episodes=row["episodes"],
    )


def _attribution(row: Row) -> Attribution:
    return Attribution(
        speaker_id=row["speaker_id"],
        episode_id=row["episode_id"],
        label=row["label"],
        person_id=row["person_id"],
        person=row["person"],
        score=row["score"],
        tier=row["tier"],
        held=row["held"],
        speaking_time=row["speaking_time"],
        updated_at=row["updated_at"],
    )


def stretch(speaker: Any, turn: Any | None, quote: Any | None) -> Stretch:
    """The stretch a reviewer listens to: the speaker's longest turn (else their longest line), at most
    STRETCH_SECONDS, with that longest line as the quote. Rows as either backend returns them (sqlite3.Row or dict):
    `speaker` with id, episode_id, label, title, published and podcast; `turn` and `quote` with start and end."""
    if turn is not None:
        start, end = turn["start"], turn["end"]
    elif quote is not None:
        start, end = quote["start"], quote["end"]
    else:
        start, end = 0.0, 0.0
    return Stretch(
        speaker_id=speaker["id"],
        episode_id=speaker["episode_id"],
        podcast=speaker["podcast"],
        episode_title=speaker["title"],
        published=dt.date.fromisoformat(speaker["published"]) if speaker["published"] else None,
        label=speaker["label"],
        start=round(start, 2),
        end=round(min(end, start + STRETCH_SECONDS), 2),
        quote=quote["text"] if quote is not None else "",
    )


class PeopleTables(SqlTables):
    """People, exemplars and attributions (`store.people`), on either engine."""

    # -- people ---------------------------------------------------------------------------------------------------

    def create(self, name: str) -> Person:
        name = name.strip()
        if not name:
            raise InputError("person name is empty: expected a name such as 'Maya Chen'")
        exists = InputError(f"a person named {name!r} already exists; `podscope people list` shows them")
        if self.find(name) is not None:
            raise exists
        try:
            with self.transaction():
                row = self._q("INSERT INTO people (name, name_key) VALUES (?, ?) RETURNING id", (name, name_key(name)))
        except self._dialect.unique_violation as exc:  # another process created them since `find`
            raise exists from exc
        return self.by_id(int(row[0]["id"]))

    def find(self, name: str) -> Person | None:
        row = self._one(_PERSON_SELECT + " WHERE p.name_key = ?", (name_key(name.strip()),))
        return _person(row) if row else None

    def get(self, name: str) -> Person:
        person = self.find(name)
        if person is None:
            raise NotFound(f"no person named {name!r}; `podscope people list` shows them")
        return person

    def by_id(self, person_id: int) -> Person:
        row = self._one(_PERSON_SELECT + " WHERE p.id = ?", (person_id,))
        if row is None:
            raise NotFound(f"no person with id {person_id}")
        return _person(row)

    def names(self) -> dict[int, str]:
        return {r["id"]: r["name"] for r in self._q(f"SELECT p.id, p.name FROM people p ORDER BY {self._name_order}")}

    def list_people(self) -> list[Person]:
        return [_person(r) for r in self._q(_PERSON_SELECT + f" ORDER BY {self._name_order}")]

    @property
    def _name_order(self) -> str:
        return f"p.name_key{self._dialect.byte_order}, p.id"  # by key, byte order

    def rename(self, person_id: int, name: str) -> None:
        name = name.strip()
        if not name:
            raise InputError("new name is empty: expected a name such as 'Maya Chen'")
        exists = InputError(f"a person named {name!r} already exists; use `podscope people merge` to join them")
        other = self.find(name)
        if other is not None and other.id != person_id:
            raise exists
        try:
            with self.transaction():
                self._q("UPDATE people SET name = ?, name_key = ? WHERE id = ?", (name, name_key(name), person_id))
        except self._dialect.unique_violation as exc:  # another process took the name since `find`
            raise exists from exc

    # -- exemplars ------------------------------------------------------------------------------------------------

    def add_exemplar(
        self,
        person_id: int,
        embedding: Embedding,
        *,
        origin: str,
        source: str,
        seconds: float,
        speaker_id: int | None = None,
    ) -> int:
        with self.transaction():
            rows = self._q(
                """INSERT INTO exemplars (person_id, embedding, origin, speaker_id, source, seconds)
                   VALUES (?, ?, ?, ?, ?, ?) RETURNING id""",
                (person_id, blob(embedding), origin, speaker_id, source, round(seconds, 3)),
            )
        return int(rows[0]["id"])

    def exemplars(self, person_id: int | None = None) -> list[Exemplar]:
        sql = "SELECT * FROM exemplars"
        params: tuple[object, ...] = ()
        if person_id is not None:
            sql += " WHERE person_id = ?"
            params = (person_id,)
        rows = self._q(sql + " ORDER BY person_id, id", params)
        return [
            Exemplar(
                id=r["id"],
                person_id=r["person_id"],
                origin=r["origin"],
                source=r["source"],
                seconds=r["seconds"],
                speaker_id=r["speaker_id"],
                flagged=r["flagged"],
                created_at=r["created_at"],
                embedding=vector(r["embedding"]),  # type: ignore[arg-type]  # NOT NULL column
                kept=bool(r["kept"]),
            )
            for r in rows
        ]

    def exemplar(self, exemplar_id: int) -> Exemplar:
        found = [x for x in self.exemplars() if x.id == exemplar_id]
        if not found:
            raise NotFound(f"no exemplar {exemplar_id}; `podscope people show NAME` lists a person's exemplars")
        return found[0]

    def keep_exemplar(self, exemplar_id: int) -> None:
        with self.transaction():
            self._q("UPDATE exemplars SET kept = 1, flagged = NULL WHERE id = ?", (exemplar_id,))

    def set_exemplar_flags(self, person_id: int, flags: dict[int, str]) -> None:
        with self.transaction():
            self._q("UPDATE exemplars SET flagged = NULL WHERE person_id = ?", (person_id,))
            self._many(
                "UPDATE exemplars SET flagged = ? WHERE id = ? AND person_id = ?",
                [(why, xid, person_id) for xid, why in flags.items()],
            )

    def delete_exemplars(self, ids: Iterable[int]) -> None:
        where, param = self._in("id", ids)
        with self.transaction():
            self._q(f"DELETE FROM exemplars WHERE {where}", (param,))

    def exemplar_sources(self) -> set[int]:
        return {r["speaker_id"] for r in self._q("SELECT speaker_id FROM exemplars WHERE speaker_id IS NOT NULL")}

    # -- voices ---------------------------------------------------------------------------------------------------

    def speaker_voices(
        self,
        episode_id: int | None = None,
        speaker_ids: Sequence[int] | None = None,
        *,
        podcast_id: int | None = None,
    ) -> list[SpeakerVoice]:
        sql = """SELECT s.id, s.episode_id, e.podcast_id, s.label, s.speaking_time, s.embedding
                 FROM episode_speakers s JOIN episodes e ON e.id = s.episode_id WHERE s.embedding IS NOT NULL"""
        params: list[object] = []
        if episode_id is not None:
            sql += " AND s.episode_id = ?"
            params.append(episode_id)
        if podcast_id is not None:
            sql += " AND e.podcast_id = ?"
            params.append(podcast_id)
        if speaker_ids is not None:
            where, param = self._in("s.id", speaker_ids)
            sql += f" AND {where}"
            params.append(param)
        rows = self._q(sql + f" ORDER BY s.episode_id, s.label{self._dialect.byte_order}", params)
        return [
            SpeakerVoice(
                speaker_id=r["id"],
                episode_id=r["episode_id"],
                podcast_id=r["podcast_id"],
                label=r["label"],
                speaking_time=r["speaking_time"],
                embedding=vector(r["embedding"]),  # type: ignore[arg-type]  # filtered on NOT NULL
            )
            for r in rows
        ]

    def window_voiceprints(self, speaker_id: int) -> list[Embedding]:
        rows = self._q("SELECT embedding FROM speaker_embeddings WHERE speaker_id = ? ORDER BY id", (speaker_id,))
        return [vector(r["embedding"]) for r in rows]  # type: ignore[misc]  # NOT NULL column

    def find_speaker(self, episode_id: int, label: str) -> int:
        rows = self._q(
            f"SELECT id, label FROM episode_speakers WHERE episode_id = ? ORDER BY label{self._dialect.byte_order}",
            (episode_id,),
        )
        if not rows and not self._q("SELECT 1 FROM episodes WHERE id = ?", (episode_id,)):
            raise NotFound(f"no episode with id {episode_id}; `podscope episodes` lists them")
        for r in rows:
            if r["label"].lower() == label.strip().lower():
                return int(r["id"])
        known = ", ".join(r["label"] for r in rows) or "none"
        raise NotFound(f"episode {episode_id} has no speaker {label!r}; its speakers: {known}")

    def speaker_stretch(self, speaker_id: int) -> Stretch:
        r = self._one(
            """SELECT s.id, s.episode_id, s.label, e.title, e.published, p.title AS podcast
               FROM episode_speakers s JOIN episodes e ON e.id = s.episode_id JOIN podcasts p ON p.id = e.podcast_id
               WHERE s.id = ?""",
            (speaker_id,),
        )
        if r is None:
            raise NotFound(f"no episode speaker with id {speaker_id}; `podscope review` lists attributions")
        turn = self._one(
            'SELECT start, "end" FROM turns WHERE speaker_id = ? ORDER BY "end" - start DESC, start LIMIT 1',
            (speaker_id,),
        )
        quote = self._one(
            'SELECT start, "end", text FROM segments WHERE speaker_id = ? ORDER BY LENGTH(text) DESC, start LIMIT 1',
            (speaker_id,),
        )
        return stretch(r, turn, quote)

    # -- attributions ---------------------------------------------------------------------------------------------

    def attributions(
        self,
        *,
        episode_id: int | None = None,
        person_id: int | None = None,
        tiers: Sequence[str] | None = None,
        podcast_id: int | None = None,
    ) -> list[Attribution]:
        sql = _ATTRIBUTION_SELECT + " WHERE TRUE"
        params: list[object] = []
        if episode_id is not None:
            sql += " AND s.episode_id = ?"
            params.append(episode_id)
        if podcast_id is not None:
            sql += " AND s.episode_id IN (SELECT id FROM episodes WHERE podcast_id = ?)"
            params.append(podcast_id)
        if person_id is not None:
            sql += " AND a.person_id = ?"
            params.append(person_id)
        if tiers is not None:
            where, param = self._in("a.tier", tiers)
            sql += f" AND {where}"
            params.append(param)
        rows = self._q(sql + f" ORDER BY s.episode_id, s.label{self._dialect.byte_order}", params)
        return [_attribution(r) for r in rows]

    def attribution(self, speaker_id: int) -> Attribution | None:
        row = self._one(_ATTRIBUTION_SELECT + " WHERE a.speaker_id = ?", (speaker_id,))
        return _attribution(row) if row else None

    def review_waiting(self) -> int:
        return int(self._q(REVIEW_WAITING)[0]["n"])

    def set_attribution(
        self,
        speaker_id: int,
        person_id: int | None,
        *,
        score: float | None,
        tier: str | None,
        reason: str,
        held: str | None = None,
        machine: bool = True,
    ) -> bool:
        with self.transaction():
            before = self._one(  # locked: two writers of one speaker take turns
                "SELECT person_id, tier, score, held FROM attributions WHERE speaker_id = ?" + self._dialect.for_update,
                (speaker_id,),
            )
            if machine and before is not None and before["tier"] == HUMAN_TIER:
                return False
            old_person, old_tier = (before["person_id"], before["tier"]) if before else (None, None)
            if person_id is None:
                if before is None:
                    return False
                self._q("DELETE FROM attributions WHERE speaker_id = ?", (speaker_id,))
            else:
                self._q(
                    f"""INSERT INTO attributions (speaker_id, person_id, score, tier, held, updated_at)
                       VALUES (?, ?, ?, ?, ?, {self._dialect.now})
                       ON CONFLICT (speaker_id) DO UPDATE SET person_id = excluded.person_id, score = excluded.score,
                         tier = excluded.tier, held = excluded.held, updated_at = excluded.updated_at""",
                    (speaker_id, person_id, score, tier, held),
                )
            changed = (old_person, old_tier) != (person_id, tier if person_id is not None else None)
            if changed or (before is not None and person_id is not None and before["held"] != held):
                self._q(
                    """INSERT INTO attribution_log (speaker_id, person_before, tier_before, person_after, tier_after,
                                                    score, reason) VALUES (?, ?, ?, ?, ?, ?, ?)""",
                    (speaker_id, old_person, old_tier, person_id, tier if person_id else None, score, reason),
                )
            return changed

    def rejections(self) -> set[tuple[int, int]]:
        return {(r["speaker_id"], r["person_id"]) for r in self._q("SELECT speaker_id, person_id FROM rejections")}

    def add_rejection(self, speaker_id: int, person_id: int) -> None:
        with self.transaction():
            self._q(
                "INSERT INTO rejections (speaker_id, person_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
                (speaker_id, person_id),
            )

    def history(self, *, speaker_id: int | None = None, person_id: int | None = None) -> list[AttributionChange]:
        sql = """SELECT l.speaker_id, pb.name AS before, l.tier_before, pa.name AS after, l.tier_after, l.score,
                        l.reason, l.at
                 FROM attribution_log l LEFT JOIN people pb ON pb.id = l.person_before
                 LEFT JOIN people pa ON pa.id = l.person_after WHERE TRUE"""
        params: list[object] = []
        if speaker_id is not None:
            sql += " AND l.speaker_id = ?"
            params.append(speaker_id)
        if person_id is not None:
            sql += " AND (l.person_before = ? OR l.person_after = ?)"
            params.extend([person_id, person_id])
        return [
            AttributionChange(
                speaker_id=r["speaker_id"],
                person_before=r["before"],
                tier_before=r["tier_before"],
                person_after=r["after"],
                tier_after=r["tier_after"],
                score=r["score"],
                reason=r["reason"],
                at=r["at"],
            )
            for r in self._q(sql + " ORDER BY l.id", params)
        ]

    def speaker_names(self, episode_id: int, tiers: Sequence[str] = SHOWN_TIERS) -> dict[str, str]:
        return {a.label: a.person for a in self.attributions(episode_id=episode_id, tiers=tiers)}

    # -- people pages ---------------------------------------------------------------------------------------------

    def appearances(self, person_id: int, tiers: Sequence[str] = SHOWN_TIERS) -> list[Appearance]:
        where, param = self._in("a.tier", tiers)
        rows = self._q(
            f"""SELECT a.speaker_id, a.tier, a.score, s.label, s.speaking_time, e.id AS episode_id,
                       e.title AS episode, e.published, p.title AS podcast
                FROM attributions a JOIN episode_speakers s ON s.id = a.speaker_id
                JOIN episodes e ON e.id = s.episode_id JOIN podcasts p ON p.id = e.podcast_id
                WHERE a.person_id = ? AND {where}
                ORDER BY e.published IS NULL, e.published, e.id""",
            (person_id, param),
        )
        return [Appearance(**dict(r)) for r in rows]

    def quotes(self, person_id: int, limit: int, tiers: Sequence[str] = SHOWN_TIERS) -> list[Quote]:
        where, param = self._in("a.tier", tiers)
        rows = self._q(
            f"""SELECT g.episode_id, e.title AS episode, p.title AS podcast, e.published, g.start, g."end", g.text
                FROM segments g JOIN attributions a ON a.speaker_id = g.speaker_id
                JOIN episodes e ON e.id = g.episode_id JOIN podcasts p ON p.id = e.podcast_id
                WHERE a.person_id = ? AND {where}
                ORDER BY LENGTH(g.text) - LENGTH(REPLACE(g.text, ' ', '')) DESC, g.episode_id, g.start LIMIT ?""",
            (person_id, param, limit),
        )
        return [Quote(**dict(r)) for r in rows]

    # -- merging and forgetting -----------------------------------------------------------------------------------

    def merge(self, source_id: int, target_id: int, reason: str) -> int:
        moved = 0
        with self.transaction():
            self._q("UPDATE exemplars SET person_id = ? WHERE person_id = ?", (target_id, source_id))
            self._q(
                "INSERT INTO rejections (speaker_id, person_id) SELECT speaker_id, ? FROM rejections"
                " WHERE person_id = ? ON CONFLICT DO NOTHING",
                (target_id, source_id),
            )
            for a in self.attributions(person_id=source_id):
                clash = self.attributions(episode_id=a.episode_id, person_id=target_id)
                if clash and TIERS.index(clash[0].tier) <= TIERS.index(a.tier):
                    self.set_attribution(a.speaker_id, None, score=None, tier=None, reason=reason, machine=False)
                    continue
                for b in clash:
                    self.set_attribution(b.speaker_id, None, score=None, tier=None, reason=reason, machine=False)
                self.set_attribution(
                    a.speaker_id, target_id, score=a.score, tier=a.tier, held=a.held, reason=reason, machine=False
                )
                moved += 1
            self._q("UPDATE attribution_log SET person_before = ? WHERE person_before = ?", (target_id, source_id))
            self._q("UPDATE attribution_log SET person_after = ? WHERE person_after = ?", (target_id, source_id))
            self._q("DELETE FROM people WHERE id = ?", (source_id,))
        return moved

    def forget(self, person_id: int) -> dict[str, int]:
        with self.transaction():
            ids = sorted(
                r["speaker_id"]
                for r in self._q(
                    "SELECT speaker_id FROM attributions WHERE person_id = ? UNION "
                    "SELECT speaker_id FROM exemplars WHERE person_id = ? AND speaker_id IS NOT NULL",
                    (person_id, person_id),
                )
            )
            speakers, param = self._in("id", ids)
            windows, _ = self._in("speaker_id", ids)

            def count(sql: str, *params: object) -> int:
                row = self._one(sql, params)
                return int(row["n"]) if row else 0

            counts = {
                "exemplars": count("SELECT COUNT(*) AS n FROM exemplars WHERE person_id = ?", person_id),
                "attributions": count("SELECT COUNT(*) AS n FROM attributions WHERE person_id = ?", person_id),
                "rejections": count("SELECT COUNT(*) AS n FROM rejections WHERE person_id = ?", person_id),
                "history": count(
                    "SELECT COUNT(*) AS n FROM attribution_log WHERE person_before = ? OR person_after = ?",
                    person_id,
                    person_id,
                ),
                "speaker_voiceprints": self._count(
                    f"UPDATE episode_speakers SET embedding = NULL WHERE {speakers} AND embedding IS NOT NULL", (param,)
                ),
                "window_voiceprints": self._count(f"DELETE FROM speaker_embeddings WHERE {windows}", (param,)),
            }
            self._q("DELETE FROM people WHERE id = ?", (person_id,))  # cascades to the person's rows
        self._db.compact()
        return counts
