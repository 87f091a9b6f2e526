"""The store's feed tables: followed feeds, their items (each a pending or processed episode) and episode credits.

Why it looks like this:
- `feeds add` records every item at once as a pending episode (an `episodes` row with status 'pending'), so the
  library shows what a feed holds before anything is downloaded; `sync` later fills that same row in place, so an
  episode keeps its id from pending to done.
- An item is identified within its feed by its key (the GUID, else the enclosure URL), unique per feed: re-reading a
  feed adds only new keys and never duplicates.
- Credits (`podcast:person`) are people linked to an episode with a role; they are not voice attributions.
- An item is processed by one run at a time: a run claims it (`claimed_by`, its host and home, and `claimed_at`)
  with one conditional UPDATE, so of two runs racing for it exactly one wins, and finishing it clears the claim. A
  claim is not a lease that must be renewed: it is taken back by the same claimer (the next run from that home,
  which holds the home's sync lock, so the earlier one is gone), given back when a run stops, and otherwise ignored
  once it is older than the caller's `stale_seconds` (a machine lost for good).
- A feed keeps two languages: `language`, what its channel declares (rewritten on every read), and `language_set`,
  what the user set for the podcast; only `set_language` writes the latter, so a refresh cannot undo it.
- One implementation for both engines (`podscope.store.sql`): a claim's times are the database's clock (one clock
  for every machine sharing a store), a feed's URL is unique by its index (two workers following one feed at once
  cannot both add it), and reading one feed's items locks the feed's row (SQLite has one writer at all).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from podscope.errors import NotFound
from podscope.records import Chapter, Credit, FollowedFeed, FollowedItem, NewItem
from podscope.store.names import name_key
from podscope.store.sql import SqlTables

# An item still to process: pending, or failed fewer than three times. `{p}` is the table's alias ("i.") or "".
_TO_PROCESS = "({p}status = 'pending' OR ({p}status = 'failed' AND {p}attempts < 3))"
# Items with their feed's URL, languages and podcast (what processing one needs).
_ITEM_SELECT = """
    SELECT i.*, f.url AS feed_url, f.language AS feed_language, f.language_set AS feed_language_set,
           p.title AS podcast
    FROM feed_items i JOIN feeds f ON f.id = i.feed_id
    LEFT JOIN podcasts p ON p.id = f.podcast_id
"""

_FEED_SELECT = """
    SELECT f.*, p.title AS podcast,
           (SELECT COUNT(*) FROM feed_items i WHERE i.feed_id = f.id) AS items,
           (SELECT COUNT(*) FROM feed_items i WHERE i.feed_id = f.id AND i.status = 'pending') AS pending,
           (SELECT COUNT(*) FROM feed_items i WHERE i.feed_id = f.id AND i.status = 'done') AS done,
           (SELECT COUNT(*) FROM feed_items i WHERE i.feed_id = f.id AND i.status = 'failed') AS failed
    FROM feeds f LEFT JOIN podcasts p ON p.id = f.podcast_id
"""


# What `update` may write: what reading the feed tells (never `language_set`, which only `set_language` writes).
_UPDATABLE = frozenset(
    {"url", "title", "podcast_guid", "etag", "last_modified", "blocked", "checked_at", "error", "language"}
)


class _Row(Protocol):
    """A row read by column name: sqlite3.Row here, a dict row on PostgreSQL (which reuses `_feed` and `_item`)."""

    def __getitem__(self, key: str, /) -> Any: ...

    def keys(self) -> Iterable[str]: ...


def _feed(row: _Row) -> FollowedFeed:
    return FollowedFeed(
        id=row["id"],
        url=row["url"],
        podcast_id=row["podcast_id"],
        podcast=row["podcast"],
        title=row["title"],
        podcast_guid=row["podcast_guid"],
        etag=row["etag"],
        last_modified=row["last_modified"],
        blocked=bool(row["blocked"]),
        checked_at=row["checked_at"],
        error=row["error"],
        created_at=row["created_at"],
        language=row["language"],
        language_set=row["language_set"],
        items=row["items"],
        pending=row["pending"],
        done=row["done"],
        failed=row["failed"],
    )


def _item(row: _Row) -> FollowedItem:
    keys = row.keys()
    extra = {k: row[k] for k in ("feed_url", "feed_language", "feed_language_set", "podcast") if k in keys}
    return FollowedItem(
        id=row["id"],
        feed_id=row["feed_id"],
        key=row["key"],
        episode_id=row["episode_id"],
        title=row["title"],
        published=row["published"],
        enclosure_url=row["enclosure_url"],
        enclosure_type=row["enclosure_type"],
        transcripts=json.loads(row["transcripts"]),
        persons=json.loads(row["persons"]),
        chapters=tuple(json.loads(row["chapters"])) if "chapters" in keys else (),
        status=row["status"],
        attempts=row["attempts"],
        error=row["error"],
        **extra,
    )


class FeedTables(SqlTables):
    """Feeds, feed items and credits (`store.feeds`), on either engine."""

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
        with self.transaction():
            key = name_key(podcast)
            self._q("INSERT INTO podcasts (title, title_key) VALUES (?, ?) ON CONFLICT DO NOTHING", (podcast, key))
            found = self._q("SELECT id FROM podcasts WHERE title_key = ?", (key,))
            row = self._one(
                """INSERT INTO feeds (url, podcast_id, title, podcast_guid, blocked, language, language_set)
                   VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (url) DO NOTHING RETURNING id""",
                (url, found[0]["id"], podcast, podcast_guid, int(blocked), language, language_set),
            )
            if row is None:
                raise NotFound(f"the feed {url} is already followed; `podscope feeds list` shows it")
        return int(row["id"])

    def list_feeds(self) -> list[FollowedFeed]:
        return [_feed(r) for r in self._q(_FEED_SELECT + " ORDER BY f.id")]

    def get(self, feed_id: int) -> FollowedFeed:
        row = self._one(_FEED_SELECT + " WHERE f.id = ?", (feed_id,))
        if row is None:
            raise NotFound(f"no feed with id {feed_id}; `podscope feeds list` shows them")
        return _feed(row)

    def remove(self, feed_id: int) -> int:
        self.get(feed_id)
        with self.transaction():
            gone = self._count(
                """DELETE FROM episodes WHERE status = 'pending' AND id IN
                   (SELECT episode_id FROM feed_items WHERE feed_id = ?)""",
                (feed_id,),
            )
            self._q("DELETE FROM feeds WHERE id = ?", (feed_id,))
        return gone

    def set_language(self, feed_id: int, language: str | None) -> None:
        self.get(feed_id)
        with self.transaction():
            self._q("UPDATE feeds SET language_set = ? WHERE id = ?", (language, feed_id))

    def update(self, feed_id: int, **values: Any) -> None:
        if not values or set(values) - _UPDATABLE:
            raise ValueError(f"feeds.update: unknown fields {set(values) - _UPDATABLE}")
        # `blocked` is an INTEGER column: a bool is stored as 0/1 on both engines.
        params = [int(v) if isinstance(v, bool) else v for v in values.values()]
        columns = ", ".join(f"{k} = ?" for k in values)
        with self.transaction():
            self._q(f"UPDATE feeds SET {columns} WHERE id = ?", (*params, feed_id))

    def add_items(self, feed_id: int, items: Sequence[NewItem]) -> int:
        feed = self.get(feed_id)
        added = 0
        with self.transaction():
            # One reader of a feed at a time: the keys read below stay the known ones until this commits.
            self._q("SELECT 1 FROM feeds WHERE id = ?" + self._dialect.for_update, (feed_id,))
            known = {r["key"] for r in self._q("SELECT key FROM feed_items WHERE feed_id = ?", (feed_id,))}
            for item in items:
                if item.key in known:
                    continue
                known.add(item.key)
                episode = self._q(
                    """INSERT INTO episodes (podcast_id, title, published, source, status)
                       VALUES (?, ?, ?, ?, 'pending') RETURNING id""",
                    (feed.podcast_id, item.title or item.key, item.published, item.enclosure_url or ""),
                )
                self._q(
                    """INSERT INTO feed_items (feed_id, key, episode_id, title, published, enclosure_url,
                                               enclosure_type, transcripts, persons, chapters)
                       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                    (
                        feed_id,
                        item.key,
                        episode[0]["id"],
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
        published = f"i.published{self._dialect.byte_order}"
        if feed_id is not None:
            sql += " AND i.feed_id = ?"
            params.append(feed_id)
        if since is not None:
            sql += f" AND {published} >= ?"
            params.append(since)
        sql += f" ORDER BY i.published IS NULL, {published} DESC, i.id"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [_item(r) for r in self._q(sql, params)]

    def claim_item(self, item_id: int, claimer: str, stale_seconds: float) -> FollowedItem | None:
        stale, ago = self._dialect.seconds_ago(stale_seconds)
        with self.transaction():
            # Every condition on the claimed row is in the UPDATE's own WHERE: a racing claimer waits for the row and
            # then sees it claimed (PostgreSQL's READ COMMITTED re-checks them on the row's new version).
            won = self._count(
                f"""UPDATE feed_items SET claimed_by = ?, claimed_at = {self._dialect.now}
                    WHERE id = ? AND {_TO_PROCESS.format(p="")}
                      AND (claimed_by IS NULL OR claimed_by = ? OR claimed_at < {stale})
                      AND feed_id IN (SELECT id FROM feeds WHERE blocked = 0)""",
                (claimer, item_id, claimer, ago),
            )
            row = self._one(_ITEM_SELECT + " WHERE i.id = ?", (item_id,)) if won else None
        return _item(row) if row is not None else None

    def release_claims(self, claimer: str) -> int:
        with self.transaction():
            return self._count(
                "UPDATE feed_items SET claimed_by = NULL, claimed_at = NULL WHERE claimed_by = ?", (claimer,)
            )

    def finish_item(self, item_id: int, status: str, error: str | None = None, claimer: str | None = None) -> bool:
        sql = """UPDATE feed_items SET status = ?, error = ?, attempts = attempts + 1, claimed_by = NULL,
                                       claimed_at = NULL"""
        params: tuple[Any, ...] = (status, error, item_id)
        if claimer is None:
            sql += " WHERE id = ?"
        else:
            sql += " WHERE id = ? AND claimed_by = ?"
            params += (claimer,)
        with self.transaction():
            if not self._count(sql, params):
                return False
            if status == "failed":
                self._q(
                    """UPDATE episodes SET status = 'failed' WHERE status = 'pending' AND id =
                       (SELECT episode_id FROM feed_items WHERE id = ?)""",
                    (item_id,),
                )
        return True

    def items(self, feed_id: int) -> list[FollowedItem]:
        return [_item(r) for r in self._q("SELECT * FROM feed_items WHERE feed_id = ? ORDER BY id", (feed_id,))]

    def link_item(self, item_id: int, episode_id: int, *, drop_pending: int | None = None) -> None:
        with self.transaction():
            self._q("UPDATE feed_items SET episode_id = ? WHERE id = ?", (episode_id, item_id))
            if drop_pending is not None:
                self._q("DELETE FROM episodes WHERE id = ? AND status != 'done'", (drop_pending,))

    def set_credits(self, episode_id: int, credits: Sequence[tuple[int, str, str]]) -> None:
        with self.transaction():
            self._q("DELETE FROM credits WHERE episode_id = ?", (episode_id,))
            self._many(
                "INSERT INTO credits (episode_id, person_id, role, grp) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                [(episode_id, pid, role, grp) for pid, role, grp in credits],
            )

    def credits(self, episode_id: int) -> list[Credit]:
        order = self._dialect.byte_order
        rows = self._q(
            f"""SELECT p.name, c.role, c.grp FROM credits c JOIN people p ON p.id = c.person_id
                WHERE c.episode_id = ? ORDER BY c.role{order}, p.name_key{order}, p.id""",
            (episode_id,),
        )
        return [Credit(name=r["name"], role=r["role"], group=r["grp"]) for r in rows]

    def set_chapters(self, episode_id: int, chapters: Sequence[Chapter]) -> None:
        with self.transaction():
            self._q("DELETE FROM publisher_chapters WHERE episode_id = ?", (episode_id,))
            rows = [
                (episode_id, n, c.start, c.end, c.title, c.url, c.img, int(c.toc))
                for n, c in enumerate(sorted(chapters, key=lambda c: c.start))
            ]
            if rows:
                self._many(
                    """INSERT INTO publisher_chapters (episode_id, position, start, end_time, title, url, img, toc)
                       VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
                    rows,
                )

    def chapters(self, episode_id: int) -> list[Chapter]:
        rows = self._q("SELECT * FROM publisher_chapters WHERE episode_id = ? ORDER BY position", (episode_id,))
        return [
            Chapter(
                start=r["start"], title=r["title"], end=r["end_time"], url=r["url"], img=r["img"], toc=bool(r["toc"])
            )
            for r in rows
        ]
