"""The feed tables on PostgreSQL: the twin of `podscope.store.feeds` (followed feeds, their items, episode credits).

Same records, messages and orders as on SQLite; the row conversions, the feed and item queries and the fields
`update` may write are the SQLite module's own. Only the dialect differs: new ids come back with RETURNING, a claim's
times are the server's (`podscope_now()`), and text sorts as it does on SQLite whatever the database's collation: by
code point (`COLLATE "C"`, SQLite's BINARY). Podcast titles and people's names are matched and ordered by the keys
podscope folds (`podscope.store.names`), as on SQLite.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from podscope.errors import NotFound
from podscope.records import Chapter, Credit, FollowedFeed, FollowedItem, NewItem
from podscope.store.feeds import _FEED_SELECT, _ITEM_SELECT, _TO_PROCESS, _UPDATABLE, _feed, _item
from podscope.store.names import name_key
from podscope.store.postgres.db import PgTables


class PgFeeds(PgTables):
    """Feeds, feed items and credits (`store.feeds`) on PostgreSQL."""

    def add(
        self,
        url: str,
        podcast: str,
        *,
        podcast_guid: str | None,
        blocked: bool,
        language: str | None = None,
        language_set: str | None = None,
    ) -> int:
        with self.transaction() as conn:
            key = name_key(podcast)
            conn.execute(
                "INSERT INTO podcasts (title, title_key) VALUES (%s, %s) ON CONFLICT DO NOTHING", (podcast, key)
            )
            found = conn.execute("SELECT id FROM podcasts WHERE title_key = %s", (key,)).fetchone()
            # The URL's unique index decides, so two workers following one feed at once cannot both add it.
            row = conn.execute(
                """INSERT INTO feeds (url, podcast_id, title, podcast_guid, blocked, language, language_set)
                   VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (url) DO NOTHING RETURNING id""",
                (url, found["id"], podcast, podcast_guid, int(blocked), language, language_set),
            ).fetchone()
            if row is None:
                raise NotFound(f"the feed {url} is already followed; `podscope feeds list` shows it")
        return int(row["id"])

    def list_feeds(self) -> list[FollowedFeed]:
        return [_feed(r) for r in self._query(_FEED_SELECT + " ORDER BY f.id")]

    def get(self, feed_id: int) -> FollowedFeed:
        rows = self._query(_FEED_SELECT + " WHERE f.id = %s", (feed_id,))
        if not rows:
            raise NotFound(f"no feed with id {feed_id}; `podscope feeds list` shows them")
        return _feed(rows[0])

    def remove(self, feed_id: int) -> int:
        self.get(feed_id)
        with self.transaction() as conn:
            gone = conn.execute(
                """DELETE FROM episodes WHERE status = 'pending' AND id IN
                   (SELECT episode_id FROM feed_items WHERE feed_id = %s)""",
                (feed_id,),
            ).rowcount
            conn.execute("DELETE FROM feeds WHERE id = %s", (feed_id,))
        return int(gone)

    def set_language(self, feed_id: int, language: str | None) -> None:
        self.get(feed_id)
        with self.transaction() as conn:
            conn.execute("UPDATE feeds SET language_set = %s WHERE id = %s", (language, feed_id))

    def update(self, feed_id: int, **values: Any) -> None:
        if not values or set(values) - _UPDATABLE:
            raise ValueError(f"feeds.update: unknown fields {set(values) - _UPDATABLE}")
        # `blocked` is an INTEGER column: a bool is stored as 0/1, as SQLite stores it.
        params = [int(v) if isinstance(v, bool) else v for v in values.values()]
        columns = ", ".join(f"{k} = %s" for k in values)
        with self.transaction() as conn:
            conn.execute(f"UPDATE feeds SET {columns} WHERE id = %s", (*params, feed_id))

    def add_items(self, feed_id: int, items: Sequence[NewItem]) -> int:
        feed = self.get(feed_id)
        added = 0
        with self.transaction() as conn:
            # One reader of a feed at a time (SQLite has one writer at all): the keys read below stay the known ones.
            conn.execute("SELECT 1 FROM feeds WHERE id = %s FOR UPDATE", (feed_id,))
            known = {r["key"] for r in conn.execute("SELECT key FROM feed_items WHERE feed_id = %s", (feed_id,))}
            for item in items:
                if item.key in known:
                    continue
                known.add(item.key)
                episode = conn.execute(
                    """INSERT INTO episodes (podcast_id, title, published, source, status)
                       VALUES (%s, %s, %s, %s, 'pending') RETURNING id""",
                    (feed.podcast_id, item.title or item.key, item.published, item.enclosure_url or ""),
                ).fetchone()
                conn.execute(
                    """INSERT INTO feed_items (feed_id, key, episode_id, title, published, enclosure_url,
                                               enclosure_type, transcripts, persons, chapters)
                       VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)""",
                    (
                        feed_id,
                        item.key,
                        episode["id"],
                        item.title,
                        item.published,
                        item.enclosure_url,
                        item.enclosure_type,
                        json.dumps(item.transcripts),
                        json.dumps(item.persons),
                        json.dumps(list(item.chapters)),
                    ),
                )
                added += 1
        return added

    def pending_items(
        self, feed_id: int | None = None, since: str | None = None, limit: int | None = None
    ) -> list[FollowedItem]:
        sql = _ITEM_SELECT + " WHERE " + _TO_PROCESS.format(p="i.") + " AND f.blocked = 0"
        params: list[Any] = []
        if feed_id is not None:
            sql += " AND i.feed_id = %s"
            params.append(feed_id)
        if since is not None:
            sql += ' AND i.published COLLATE "C" >= %s'
            params.append(since)
        sql += ' ORDER BY i.published IS NULL, i.published COLLATE "C" DESC, i.id'
        if limit is not None:
            sql += " LIMIT %s"
            params.append(limit)
        return [_item(r) for r in self._query(sql, tuple(params))]

    def claim_item(self, item_id: int, claimer: str, stale_seconds: float) -> FollowedItem | None:
        # Every condition on the claimed row is in the UPDATE's own WHERE: a racing claimer waits for the row and
        # then sees it claimed (READ COMMITTED re-checks those conditions on the row's new version).
        with self.transaction() as conn:
            won = conn.execute(
                f"""UPDATE feed_items SET claimed_by = %s, claimed_at = podscope_now()
                    WHERE id = %s AND {_TO_PROCESS.format(p="")}
                      AND (claimed_by IS NULL OR claimed_by = %s
                           OR claimed_at < to_char((now() - make_interval(secs => %s)) AT TIME ZONE 'UTC',
                                                   'YYYY-MM-DD"T"HH24:MI:SS"Z"'))
                      AND feed_id IN (SELECT id FROM feeds WHERE blocked = 0)""",
                (claimer, item_id, claimer, float(stale_seconds)),
            ).rowcount
            row = conn.execute(_ITEM_SELECT + " WHERE i.id = %s", (item_id,)).fetchone() if won else None
        return _item(row) if row is not None else None

    def release_claims(self, claimer: str) -> int:
        with self.transaction() as conn:
            released = conn.execute(
                "UPDATE feed_items SET claimed_by = NULL, claimed_at = NULL WHERE claimed_by = %s", (claimer,)
            ).rowcount
        return int(released)

    def finish_item(self, item_id: int, status: str, error: str | None = None, claimer: str | None = None) -> bool:
        sql = """UPDATE feed_items SET status = %s, error = %s, attempts = attempts + 1, claimed_by = NULL,
                                       claimed_at = NULL"""
        params: tuple[Any, ...] = (status, error, item_id)
        if claimer is None:
            sql += " WHERE id = %s"
        else:
            sql += " WHERE id = %s AND claimed_by = %s"
            params += (claimer,)
        with self.transaction() as conn:
            if not conn.execute(sql, params).rowcount:
                return False
            if status == "failed":
                conn.execute(
                    """UPDATE episodes SET status = 'failed' WHERE status = 'pending' AND id =
                       (SELECT episode_id FROM feed_items WHERE id = %s)""",
                    (item_id,),
                )
        return True

    def items(self, feed_id: int) -> list[FollowedItem]:
        return [_item(r) for r in self._query("SELECT * FROM feed_items WHERE feed_id = %s ORDER BY id", (feed_id,))]

    def link_item(self, item_id: int, episode_id: int, *, drop_pending: int | None = None) -> None:
        with self.transaction() as conn:
            conn.execute("UPDATE feed_items SET episode_id = %s WHERE id = %s", (episode_id, item_id))
            if drop_pending is not None:
                conn.execute("DELETE FROM episodes WHERE id = %s AND status != 'done'", (drop_pending,))

    def set_credits(self, episode_id: int, credits: Sequence[tuple[int, str, str]]) -> None:
        with self.transaction() as conn:
            conn.execute("DELETE FROM credits WHERE episode_id = %s", (episode_id,))
            if credits:
                conn.cursor().executemany(
                    "INSERT INTO credits (episode_id, person_id, role, grp) VALUES (%s, %s, %s, %s)"
                    " ON CONFLICT DO NOTHING",
                    [(episode_id, pid, role, grp) for pid, role, grp in credits],
                )

    def credits(self, episode_id: int) -> list[Credit]:
        rows = self._query(
            """SELECT p.name, c.role, c.grp FROM credits c JOIN people p ON p.id = c.person_id
               WHERE c.episode_id = %s ORDER BY c.role COLLATE "C", p.name_key COLLATE "C", p.id
            """,
            (episode_id,),
        )
        return [Credit(name=r["name"], role=r["role"], group=r["grp"]) for r in rows]

    def set_chapters(self, episode_id: int, chapters: Sequence[Chapter]) -> None:
        with self.transaction() as conn:
            conn.execute("DELETE FROM publisher_chapters WHERE episode_id = %s", (episode_id,))
            rows = [
                (episode_id, n, c.start, c.end, c.title, c.url, c.img, int(c.toc))
                for n, c in enumerate(sorted(chapters, key=lambda c: c.start))
            ]
            if rows:
                conn.cursor().executemany(
                    """INSERT INTO publisher_chapters (episode_id, position, start, end_time, title, url, img, toc)
                       VALUES (%s, %s, %s, %s, %s, %s, %s, %s)""",
                    rows,
                )

    def chapters(self, episode_id: int) -> list[Chapter]:
        rows = self._query("SELECT * FROM publisher_chapters WHERE episode_id = %s ORDER BY position", (episode_id,))
        return [
            Chapter(
                start=r["start"], title=r["title"], end=r["end_time"], url=r["url"], img=r["img"], toc=bool(r["toc"])
            )
            for r in rows
        ]
