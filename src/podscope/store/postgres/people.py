"""The PostgreSQL people tables: the twin of `podscope.store.people` (same records, messages, ordering and history).

Only the dialect differs: lists of ids are one array parameter (`= ANY(%s)`), and labels and names' keys sort
byte-wise (`COLLATE "C"`, as SQLite's BINARY). Names match, stay unique and sort by the key podscope folds
(`podscope.store.names`), as on SQLite. The row -> record conversions and the shared SELECTs come
from the SQLite module, so both stores read the same columns into the same records.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, cast

import psycopg

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
from podscope.store.people import (
    _ATTRIBUTION_SELECT,
    _PERSON_SELECT,
    REVIEW_WAITING,
    _attribution,
    _person,
    stretch,
)
from podscope.store.postgres.db import PgTables, Row

_NAME_ORDER = 'p.name_key COLLATE "C", p.id'  # by key, byte order, as on SQLite


def _to_person(row: Row) -> Person:
    return _person(cast(Any, row))


def _to_attribution(row: Row) -> Attribution:
    return _attribution(cast(Any, row))


class PgPeople(PgTables):
    """People, exemplars and attributions (`store.people`) on PostgreSQL."""

    # -- people ---------------------------------------------------------------------------------------------------

    def create(self, name: str) -> Person:
        name = name.strip()
        if not name:
            raise InputError("person name is empty: expected a name such as 'Maya Chen'")
        exists = InputError(f"a person named {name!r} already exists; `podscope people list` shows them")
        if self.find(name) is not None:
            raise exists
        try:
            with self.transaction() as conn:
                row = conn.execute(
                    "INSERT INTO people (name, name_key) VALUES (%s, %s) RETURNING id", (name, name_key(name))
                ).fetchone()
        except psycopg.errors.UniqueViolation as exc:  # another process created them since `find`
            raise exists from exc
        return self.by_id(int(row["id"]))

    def find(self, name: str) -> Person | None:
        rows = self._query(_PERSON_SELECT + " WHERE p.name_key = %s", (name_key(name.strip()),))
        return _to_person(rows[0]) if rows else None

    def get(self, name: str) -> Person:
        person = self.find(name)
        if person is None:
            raise NotFound(f"no person named {name!r}; `podscope people list` shows them")
        return person

    def by_id(self, person_id: int) -> Person:
        rows = self._query(_PERSON_SELECT + " WHERE p.id = %s", (person_id,))
        if not rows:
            raise NotFound(f"no person with id {person_id}")
        return _to_person(rows[0])

    def names(self) -> dict[int, str]:
        return {r["id"]: r["name"] for r in self._query(f"SELECT p.id, p.name FROM people p ORDER BY {_NAME_ORDER}")}

    def list_people(self) -> list[Person]:
        return [_to_person(r) for r in self._query(_PERSON_SELECT + f" ORDER BY {_NAME_ORDER}")]

    def rename(self, person_id: int, name: str) -> None:
        name = name.strip()
        if not name:
            raise InputError("new name is empty: expected a name such as 'Maya Chen'")
        exists = InputError(f"a person named {name!r} already exists; use `podscope people merge` to join them")
        other = self.find(name)
        if other is not None and other.id != person_id:
            raise exists
        try:
            with self.transaction() as conn:
                conn.execute(
                    "UPDATE people SET name = %s, name_key = %s WHERE id = %s", (name, name_key(name), person_id)
                )
        except psycopg.errors.UniqueViolation as exc:  # another process took the name since `find`
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
        with self.transaction() as conn:
            row = conn.execute(
                """INSERT INTO exemplars (person_id, embedding, origin, speaker_id, source, seconds)
                   VALUES (%s, %s, %s, %s, %s, %s) RETURNING id""",
                (person_id, blob(embedding), origin, speaker_id, source, round(seconds, 3)),
            ).fetchone()
        return int(row["id"])

    def exemplars(self, person_id: int | None = None) -> list[Exemplar]:
        sql = "SELECT * FROM exemplars"
        params: tuple[object, ...] = ()
        if person_id is not None:
            sql += " WHERE person_id = %s"
            params = (person_id,)
        rows = self._query(sql + " ORDER BY person_id, id", params)
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
        with self.transaction() as conn:
            conn.execute("UPDATE exemplars SET kept = 1, flagged = NULL WHERE id = %s", (exemplar_id,))

    def set_exemplar_flags(self, person_id: int, flags: dict[int, str]) -> None:
        with self.transaction() as conn:
            conn.execute("UPDATE exemplars SET flagged = NULL WHERE person_id = %s", (person_id,))
            if flags:
                with conn.cursor() as cur:
                    cur.executemany(
                        "UPDATE exemplars SET flagged = %s WHERE id = %s AND person_id = %s",
                        [(why, xid, person_id) for xid, why in flags.items()],
                    )

    def delete_exemplars(self, ids: Iterable[int]) -> None:
        with self.transaction() as conn:
            conn.execute("DELETE FROM exemplars WHERE id = ANY(%s)", (list(ids),))

    def exemplar_sources(self) -> set[int]:
        return {r["speaker_id"] for r in self._query("SELECT speaker_id FROM exemplars WHERE speaker_id IS NOT NULL")}

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
            sql += " AND s.episode_id = %s"
            params.append(episode_id)
        if podcast_id is not None:
            sql += " AND e.podcast_id = %s"
            params.append(podcast_id)
        if speaker_ids is not None:
            sql += " AND s.id = ANY(%s)"
            params.append(list(speaker_ids))
        rows = self._query(sql + ' ORDER BY s.episode_id, s.label COLLATE "C"', tuple(params))
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
        rows = self._query("SELECT embedding FROM speaker_embeddings WHERE speaker_id = %s ORDER BY id", (speaker_id,))
        return [vector(r["embedding"]) for r in rows]  # type: ignore[misc]  # NOT NULL column

    def find_speaker(self, episode_id: int, label: str) -> int:
        rows = self._query(
            'SELECT id, label FROM episode_speakers WHERE episode_id = %s ORDER BY label COLLATE "C"', (episode_id,)
        )
        if not rows and not self._query("SELECT 1 FROM episodes WHERE id = %s", (episode_id,)):
            raise NotFound(f"no episode with id {episode_id}; `podscope episodes` lists them")
        for r in rows:
            if r["label"].lower() == label.strip().lower():
                return int(r["id"])
        known = ", ".join(r["label"] for r in rows) or "none"
        raise NotFound(f"episode {episode_id} has no speaker {label!r}; its speakers: {known}")

    def speaker_stretch(self, speaker_id: int) -> Stretch:
        rows = self._query(
            """SELECT s.id, s.episode_id, s.label, e.title, e.published, p.title AS podcast
               FROM episode_speakers s JOIN episodes e ON e.id = s.episode_id JOIN podcasts p ON p.id = e.podcast_id
               WHERE s.id = %s""",
            (speaker_id,),
        )
        if not rows:
            raise NotFound(f"no episode speaker with id {speaker_id}; `podscope review` lists attributions")
        r = rows[0]
        turn = self._query(
            'SELECT start, "end" FROM turns WHERE speaker_id = %s ORDER BY "end" - start DESC, start LIMIT 1',
            (speaker_id,),
        )
        quote = self._query(
            'SELECT start, "end", text FROM segments WHERE speaker_id = %s ORDER BY LENGTH(text) DESC, start LIMIT 1',
            (speaker_id,),
        )
        return stretch(r, turn[0] if turn else None, quote[0] if quote else None)

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
            sql += " AND s.episode_id = %s"
            params.append(episode_id)
        if podcast_id is not None:
            sql += " AND s.episode_id IN (SELECT id FROM episodes WHERE podcast_id = %s)"
            params.append(podcast_id)
        if person_id is not None:
            sql += " AND a.person_id = %s"
            params.append(person_id)
        if tiers is not None:
            sql += " AND a.tier = ANY(%s)"
            params.append(list(tiers))
        rows = self._query(sql + ' ORDER BY s.episode_id, s.label COLLATE "C"', tuple(params))
        return [_to_attribution(r) for r in rows]

    def attribution(self, speaker_id: int) -> Attribution | None:
        rows = self._query(_ATTRIBUTION_SELECT + " WHERE a.speaker_id = %s", (speaker_id,))
        return _to_attribution(rows[0]) if rows else None

    def review_waiting(self) -> int:
        return int(self._query(REVIEW_WAITING)[0]["n"])

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
        with self.transaction() as conn:
            # FOR UPDATE: two writers of one speaker take turns, as SQLite's one writer does.
            before = conn.execute(
                "SELECT person_id, tier, score, held FROM attributions WHERE speaker_id = %s FOR UPDATE",
                (speaker_id,),
            ).fetchone()
            if machine and before is not None and before["tier"] == HUMAN_TIER:
                return False
            old_person, old_tier = (before["person_id"], before["tier"]) if before else (None, None)
            if person_id is None:
                if before is None:
                    return False
                conn.execute("DELETE FROM attributions WHERE speaker_id = %s", (speaker_id,))
            else:
                conn.execute(
                    """INSERT INTO attributions (speaker_id, person_id, score, tier, held, updated_at)
                       VALUES (%s, %s, %s, %s, %s, podscope_now())
                       ON CONFLICT (speaker_id) DO UPDATE SET person_id = excluded.person_id, score = excluded.score,
                         tier = excluded.tier, held = excluded.held, updated_at = excluded.updated_at""",
                    (speaker_id, person_id, score, tier, held),
                )
            changed = (old_person, old_tier) != (person_id, tier if person_id is not None else None)
            if changed or (before is not None and person_id is not None and before["held"] != held):
                conn.execute(
                    """INSERT INTO attribution_log (speaker_id, person_before, tier_before, person_after, tier_after,
                                                    score, reason) VALUES (%s, %s, %s, %s, %s, %s, %s)""",
                    (speaker_id, old_person, old_tier, person_id, tier if person_id else None, score, reason),
                )
            return changed

    def rejections(self) -> set[tuple[int, int]]:
        return {(r["speaker_id"], r["person_id"]) for r in self._query("SELECT speaker_id, person_id FROM rejections")}

    def add_rejection(self, speaker_id: int, person_id: int) -> None:
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO rejections (speaker_id, person_id) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                (speaker_id, person_id),
            )

    def history(self, *, speaker_id: int | None = None, person_id: int | None = None) -> list[AttributionChange]:
        sql = """SELECT l.speaker_id, pb.name AS before, l.tier_before, pa.name AS after, l.tier_after, l.score,
                        l.reason, l.at
                 FROM attribution_log l LEFT JOIN people pb ON pb.id = l.person_before
                 LEFT JOIN people pa ON pa.id = l.person_after WHERE TRUE"""
        params: list[object] = []
        if speaker_id is not None:
            sql += " AND l.speaker_id = %s"
            params.append(speaker_id)
        if person_id is not None:
            sql += " AND (l.person_before = %s OR l.person_after = %s)"
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
            for r in self._query(sql + " ORDER BY l.id", tuple(params))
        ]

    def speaker_names(self, episode_id: int, tiers: Sequence[str] = SHOWN_TIERS) -> dict[str, str]:
        return {a.label: a.person for a in self.attributions(episode_id=episode_id, tiers=tiers)}

    # -- people pages ---------------------------------------------------------------------------------------------

    def appearances(self, person_id: int, tiers: Sequence[str] = SHOWN_TIERS) -> list[Appearance]:
        rows = self._query(
            """SELECT a.speaker_id, a.tier, a.score, s.label, s.speaking_time, e.id AS episode_id,
                      e.title AS episode, e.published, p.title AS podcast
               FROM attributions a JOIN episode_speakers s ON s.id = a.speaker_id
               JOIN episodes e ON e.id = s.episode_id JOIN podcasts p ON p.id = e.podcast_id
               WHERE a.person_id = %s AND a.tier = ANY(%s)
               ORDER BY e.published IS NULL, e.published, e.id""",
            (person_id, list(tiers)),
        )
        return [Appearance(**r) for r in rows]

    def quotes(self, person_id: int, limit: int, tiers: Sequence[str] = SHOWN_TIERS) -> list[Quote]:
        rows = self._query(
            """SELECT g.episode_id, e.title AS episode, p.title AS podcast, e.published, g.start, g."end", g.text
               FROM segments g JOIN attributions a ON a.speaker_id = g.speaker_id
               JOIN episodes e ON e.id = g.episode_id JOIN podcasts p ON p.id = e.podcast_id
               WHERE a.person_id = %s AND a.tier = ANY(%s)
               ORDER BY LENGTH(g.text) - LENGTH(REPLACE(g.text, ' ', '')) DESC, g.episode_id, g.start LIMIT %s""",
            (person_id, list(tiers), limit),
        )
        return [Quote(**r) for r in rows]

    # -- merging and forgetting -----------------------------------------------------------------------------------

    def merge(self, source_id: int, target_id: int, reason: str) -> int:
        moved = 0
        with self.transaction() as conn:
            conn.execute("UPDATE exemplars SET person_id = %s WHERE person_id = %s", (target_id, source_id))
            conn.execute(
                "INSERT INTO rejections (speaker_id, person_id) SELECT speaker_id, %s FROM rejections"
                " WHERE person_id = %s ON CONFLICT DO NOTHING",
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
            conn.execute(
                "UPDATE attribution_log SET person_before = %s WHERE person_before = %s", (target_id, source_id)
            )
            conn.execute("UPDATE attribution_log SET person_after = %s WHERE person_after = %s", (target_id, source_id))
            conn.execute("DELETE FROM people WHERE id = %s", (source_id,))
        return moved

    def forget(self, person_id: int) -> dict[str, int]:
        with self.transaction() as conn:
            ids = sorted(
                r["speaker_id"]
                for r in conn.execute(
                    "SELECT speaker_id FROM attributions WHERE person_id = %s UNION "
                    "SELECT speaker_id FROM exemplars WHERE person_id = %s AND speaker_id IS NOT NULL",
                    (person_id, person_id),
                ).fetchall()
            )

            def count(sql: str, params: tuple[object, ...]) -> int:
                row = conn.execute(sql, params).fetchone()
                return int(row["n"]) if row else 0

            counts = {
                "exemplars": count("SELECT COUNT(*) AS n FROM exemplars WHERE person_id = %s", (person_id,)),
                "attributions": count("SELECT COUNT(*) AS n FROM attributions WHERE person_id = %s", (person_id,)),
                "rejections": count("SELECT COUNT(*) AS n FROM rejections WHERE person_id = %s", (person_id,)),
                "history": count(
                    "SELECT COUNT(*) AS n FROM attribution_log WHERE person_before = %s OR person_after = %s",
                    (person_id, person_id),
                ),
                "speaker_voiceprints": conn.execute(
                    "UPDATE episode_speakers SET embedding = NULL WHERE id = ANY(%s) AND embedding IS NOT NULL",
                    (ids,),
                ).rowcount,
                "window_voiceprints": conn.execute(
                    "DELETE FROM speaker_embeddings WHERE speaker_id = ANY(%s)", (ids,)
                ).rowcount,
            }
            conn.execute("DELETE FROM people WHERE id = %s", (person_id,))  # cascades to the person's rows
        self._db.compact()
        return {k: int(v) for k, v in counts.items()}
