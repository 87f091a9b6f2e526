"""Following podcast feeds: add one (recording every episode as pending), list, remove, and sync.

    feeds = lib.feeds
    added = feeds.add("https://example.com/feed.xml")     # or a local file; language="de" sets the podcast's
    feeds.set_language(added.id, "es")                    # or None: back to the language the feed declares
    report = feeds.sync(limit=5)                          # fetch and process what is pending
    outcome = feeds.process_item(item_id)                 # one pending item, as `sync` and a Ray worker do

Why it looks like this:
- `add` reads the feed once and records all its items as pending episodes; `sync` refreshes every feed (conditional
  GET, permanent redirects remembered), records new items, then processes pending ones newest first. An item is done
  or failed only after its episode is stored, so an interrupted sync resumes where it stopped, and a half-downloaded
  enclosure resumes from its `.part` file.
- A publisher's transcript (preferring JSON, then VTT, then SRT) replaces transcription unless `retranscribe`; the
  audio is still diarized so voices are found and matched. `podcast:person` credits become people credited on the
  episode (not voice attributions). A publisher's chapters (the `podcast:chapters` JSON file, fetched once the
  episode is stored; else Podlove chapters written in the feed) become the episode's publisher chapters, which
  `lib.chapters` shows over its own.
- A feed that says `podcast:block` or `itunes:block` is recorded but never processed.
- The language the feed declares (the channel's `<language>`, kept with the feed and updated on every read; else the
  item's `podcast:transcript` language when its transcripts agree on one) is what an episode is transcribed in,
  unless one is set (`asr_language`); a language Whisper does not know, or none, leaves it to detection.
- A language the user sets for a feed's podcast (`add(language=)`, `set_language()`) wins over all of that, the
  `asr_language` setting included: hosts often leave `en-us` as the default on shows that are not in English. It is
  kept apart from the declared one, so reading the feed again never overwrites it.
- One sync at a time: a lock file in the home makes a second run (cron, a timer) stop with a message.
- `sync` is "refresh the feeds" then "process each pending item", and `process_item` is the whole of one item (claim
  it, download, import or transcribe, record done or failed), so `podscope sync --ray` refreshes on its driver and
  runs the same `process_item` on its workers. Processing claims the item in the store for this run (its host and
  home, `claimer`) and finishing clears the claim: two runs sharing a PostgreSQL store (two machines, or a sequential
  sync and one on Ray) never process an item twice. A claim left by a run that was killed is taken back by the next
  run from the same home (it holds the sync lock, so the killed one is gone); from another home it is ignored after
  CLAIM_STALE_HOURS. A run gives back what it still holds when it stops, even on Ctrl+C.
"""

from __future__ import annotations

import builtins
import datetime as dt
import fcntl
import socket
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from podscope.asr.whisper import check_language, whisper_language
from podscope.errors import InputError, PodscopeError
from podscope.feeds.fetch import Fetcher, safe_filename
from podscope.feeds.parse import Feed, FeedItem, parse_feed
from podscope.formats import chapters as chapters_json
from podscope.ingest import AddResult
from podscope.records import Chapter, FollowedFeed, FollowedItem, Hook, LabelledHook, NewItem
from podscope.settings import Settings
from podscope.store import StoreBackend
from podscope.timefmt import now_iso

# Transcript formats in order of preference, with the MIME types publishers use for them.
TRANSCRIPT_TYPES = (
    ("json", ("application/json",)),
    ("vtt", ("text/vtt", "text/webvtt")),
    ("srt", ("application/srt", "application/x-subrip", "text/srt", "text/x-srt")),
)
# A claim older than this, held by a run from another home, is taken to be that of a run that died: longer than any
# one episode takes, so a slow worker is never doubled.
CLAIM_STALE_HOURS = 12


@dataclass(frozen=True)
class AddedFeed:
    id: int
    url: str
    podcast: str
    items: int
    blocked: bool
    language_declared: str | None = None  # the channel's <language> as written ("en-us")
    language_set: str | None = None  # the one set for the podcast, as Whisper's code


@dataclass(frozen=True)
class FeedLanguage:
    """A followed feed's languages: the one its channel declares (as written, "en-us"), the one the user set for the
    podcast (Whisper's code, or None), and `language`, what its episodes are transcribed in (the set one, else the
    declared one as Whisper's code; None: an item's `podcast:transcript` language, else detection)."""

    feed_id: int
    podcast: str
    language_declared: str | None
    language_set: str | None
    language: str | None


@dataclass
class SyncReport:
    """A sync: the feeds read, the new items they held, the items processed, failed, and skipped (another run holds
    or finished them), and the errors (a feed's or an item's, one line each)."""

    feeds: int = 0
    new_items: int = 0
    processed: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    skipped: int = 0


Outcome = Literal["done", "failed", "skipped"]


@dataclass(frozen=True)
class ItemOutcome:
    """What became of one feed item: `done` (its episode, whether the recording was new to the library, its length),
    `failed` with the error (recorded on the item), or `skipped`: another run holds it, or it is no longer pending."""

    item_id: int
    status: Outcome
    episode_id: int | None = None
    created: bool = False
    seconds: float = 0.0
    error: str | None = None


def best_transcript(transcripts: list[dict[str, str]]) -> tuple[str, str] | None:
    """(url, format) of the transcript to import: JSON, then VTT, then SRT; None when there is none of those."""
    for fmt, types in TRANSCRIPT_TYPES:
        for t in transcripts:
            kind = (t.get("type") or "").split(";")[0].strip().lower()
            if kind in types or (not kind and t.get("url", "").lower().endswith("." + fmt)):
                return t["url"], fmt
    return None


def declared_language(channel: str | None, transcripts: list[dict[str, str]]) -> str | None:
    """The language a feed declares for an episode, as Whisper's code: the channel's `<language>` ("en-us" -> "en"),
    else the language of the item's transcripts when they all give the same one; None when nothing usable is declared
    (a language Whisper does not know counts as none)."""
    found = whisper_language(channel)
    if found:
        return found
    languages = {whisper_language(t.get("language")) for t in transcripts if t.get("language")}
    return languages.pop() if len(languages) == 1 else None


def _published(item: FeedItem) -> str | None:
    if item.published is None:
        return None
    return item.published.date().isoformat() if isinstance(item.published, dt.datetime) else str(item.published)


def _new_item(item: FeedItem) -> NewItem | None:
    key = item.key
    if not key:
        return None
    enclosure = item.enclosure
    return NewItem(
        key=key,
        title=item.title or key,
        published=_published(item),
        enclosure_url=enclosure.url if enclosure else None,
        enclosure_type=enclosure.type if enclosure else None,
        transcripts=[{"url": t.url, "type": t.type or "", "language": t.language or ""} for t in item.transcripts],
        persons=[{"name": p.name, "role": p.role or "host", "group": p.group or "cast"} for p in item.persons],
        chapters=tuple({"url": c.url, "type": c.type or ""} for c in item.chapters),
    )


class Arrivals(Protocol):
    """Where a feed's episodes go: the library's own add_audio and import_transcript (the user-facing checks and
    the ingest behind them)."""

    def add_audio(
        self,
        path: str | Path,
        *,
        podcast: str,
        title: str,
        published: str | dt.date | None = None,
        model: str | None = None,
        hook: Hook | None = None,
        into: int | None = None,
        language: str | None = None,
        declared_language: str | None = None,
    ) -> AddResult: ...

    def import_transcript(
        self,
        path: str | Path,
        *,
        podcast: str,
        title: str,
        published: str | dt.date | None = None,
        language: str = "en",
        fmt: str | None = None,
        audio_path: str | Path | None = None,
        into: int | None = None,
        hook: Hook | None = None,
    ) -> AddResult: ...


class Feeds:
    """The feed operations of one library: its store, settings, home folder (downloads, the sync lock) and scratch
    folder, and where episodes go."""

    def __init__(self, store: StoreBackend, settings: Settings, home: Path, work_dir: Path, arrivals: Arrivals):
        self.store = store
        self.settings = settings
        self.home = home
        self.work_dir = work_dir
        self.arrivals = arrivals

    def fetcher(self) -> Fetcher:
        s = self.settings
        return Fetcher(
            allow_private=s.allow_private_addresses,
            timeout=s.fetch_timeout,
            max_feed_bytes=s.max_feed_mb * 1_000_000,
            max_enclosure_bytes=s.max_download_mb * 1_000_000,
        )

    # -- reading feeds --------------------------------------------------------------------------------------------

    def _read(
        self, source: str, fetcher: Fetcher, etag: str | None = None, last_modified: str | None = None
    ) -> tuple[bytes | None, str, dict[str, Any]]:
        """The feed document (None when unchanged since the last read), its URL, and what to remember about it."""
        path = Path(source[7:] if source.startswith("file://") else source)
        if "://" not in source or source.startswith("file://"):
            if not path.is_file():
                raise InputError(f"{source}: no such feed file, and not an http(s) URL")
            return path.read_bytes(), path.resolve().as_uri(), {}
        response = fetcher.fetch_feed(source, etag=etag, last_modified=last_modified)
        state: dict[str, Any] = {"etag": response.etag, "last_modified": response.last_modified}
        if response.moved_to:
            state["url"] = response.moved_to
        return (None if response.status == 304 else response.content), source, state

    def add(self, source: str, *, language: str | None = None) -> AddedFeed:
        """Follow a feed (an http(s) URL or a local file) and record all its episodes as pending. `language` sets the
        podcast's language, over the one the feed declares (raises InputError, before anything is read or written,
        when Whisper does not know it)."""
        chosen = check_language(language)
        with self.fetcher() as fetcher:
            data, url, state = self._read(source.strip(), fetcher)
        assert data is not None
        feed = parse_feed(data, url)
        podcast = (feed.title or url).strip()
        url = state.pop("url", url)
        with self.store.transaction():
            feed_id = self.store.feeds.add(
                url,
                podcast,
                podcast_guid=feed.podcast_guid,
                blocked=feed.blocked,
                language=feed.language,
                language_set=chosen,
            )
            added = 0 if feed.blocked else self._record(feed_id, feed)
            self.store.feeds.update(feed_id, checked_at=now_iso(), **{k: v for k, v in state.items() if v})
        return AddedFeed(feed_id, url, podcast, added, feed.blocked, feed.language, chosen)

    def get(self, feed_id: int) -> FollowedFeed:
        """A followed feed with its item counts (NotFound when there is no such feed)."""
        return self.store.feeds.get(feed_id)

    def language(self, feed_id: int) -> FeedLanguage:
        """The languages of a followed feed (NotFound when there is no such feed)."""
        row = self.store.feeds.get(feed_id)
        return FeedLanguage(
            feed_id=feed_id,
            podcast=row.podcast or row.url,
            language_declared=row.language,
            language_set=row.language_set,
            language=row.language_set or whisper_language(row.language),
        )

    def set_language(self, feed_id: int, language: str | None) -> FeedLanguage:
        """Set the language of a feed's podcast, used for its episodes over the one the feed declares and kept when
        the feed is read again; None or "" goes back to the declared one. A code Whisper does not know raises
        InputError and nothing is written."""
        chosen = check_language(language)
        self.store.feeds.set_language(feed_id, chosen)
        return self.language(feed_id)

    def _record(self, feed_id: int, feed: Feed) -> int:
        items = [n for n in (_new_item(i) for i in feed.items) if n is not None]
        added = self.store.feeds.add_items(feed_id, items)
        self._credit(feed_id, feed)
        self._inline_chapters(feed_id, feed)
        return added

    def _inline_chapters(self, feed_id: int, feed: Feed) -> None:
        """Podlove chapters written in the feed, kept as the publisher's chapters of episodes that have none yet (a
        chapters file, fetched when the item is processed, replaces them)."""
        inline = {item.key: item.inline_chapters for item in feed.items if item.key and item.inline_chapters}
        if not inline:
            return
        for row in self.store.feeds.items(feed_id):
            found = inline.get(row.key)
            if found and row.episode_id is not None and not self.store.feeds.chapters(row.episode_id):
                chapters = [Chapter(start=c.start, title=c.title, url=c.href, img=c.image) for c in found]
                self.store.feeds.set_chapters(row.episode_id, chapters)

    def _fetch_chapters(self, item: FollowedItem, episode_id: int, fetcher: Fetcher) -> None:
        """The item's chapters file (`podcast:chapters`, JSON), kept as the episode's publisher chapters. A file that
        cannot be fetched or read leaves the episode as it is: chapters are not worth failing an episode for."""
        links = [c for c in item.chapters if "json" in (c.get("type") or "json").lower()]
        for link in links[:1]:
            try:
                chapters = chapters_json.read(fetcher.fetch_text(link["url"]))
            except PodscopeError:
                return
            self.store.feeds.set_chapters(episode_id, chapters)

    def _credit(self, feed_id: int, feed: Feed) -> None:
        """podcast:person credits (an item's, else the channel's) on each of the feed's episodes."""
        channel = [{"name": p.name, "role": p.role or "host", "group": p.group or "cast"} for p in feed.persons]
        for row in self.store.feeds.items(feed_id):
            persons = row.persons or channel
            if row.episode_id is None or not persons:
                continue
            credits = []
            for p in persons:
                person = self.store.people.find(p["name"]) or self.store.people.create(p["name"])
                credits.append((person.id, p["role"].lower(), p["group"].lower()))
            self.store.feeds.set_credits(row.episode_id, credits)

    def refresh(self, feed_id: int, fetcher: Fetcher) -> int:
        """Read a followed feed again; records new items and returns how many."""
        row = self.store.feeds.get(feed_id)
        try:
            data, _url, state = self._read(row.url, fetcher, row.etag, row.last_modified)
            if data is None:
                self.store.feeds.update(feed_id, checked_at=now_iso(), error=None)
                return 0
            feed = parse_feed(data, row.url)
        except PodscopeError as exc:
            self.store.feeds.update(feed_id, checked_at=now_iso(), error=str(exc))
            raise
        with self.store.transaction():
            added = 0 if feed.blocked else self._record(feed_id, feed)
            self.store.feeds.update(
                feed_id,
                checked_at=now_iso(),
                error=None,
                blocked=int(feed.blocked),
                language=feed.language,
                **{k: v for k, v in state.items() if v},
            )
        return added

    def list(self) -> list[FollowedFeed]:
        """The feeds followed, with their items' sync status."""
        return self.store.feeds.list_feeds()

    def remove(self, feed_id: int) -> int:
        return self.store.feeds.remove(feed_id)

    # -- syncing --------------------------------------------------------------------------------------------------

    @property
    def claimer(self) -> str:
        """Who this library's runs claim items as: its host and home (one run at a time per home: the sync lock)."""
        return f"{socket.gethostname()}:{self.home}"

    @contextmanager
    def sync_lock(self) -> Iterator[None]:
        """One sync of this home at a time: a second one raises InputError."""
        path = self.home / "sync.lock"
        self.home.mkdir(parents=True, exist_ok=True)
        with open(path, "w") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as exc:
                raise InputError(f"another podscope sync is running on this library (lock {path}); try later") from exc
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def sync(
        self,
        feed_id: int | None = None,
        *,
        limit: int | None = None,
        since: str | None = None,
        retranscribe: bool = False,
        hook: LabelledHook | None = None,
    ) -> SyncReport:
        """Refresh the feeds (or one), then process pending episodes, newest first (at most `limit`). `hook` hears
        each stage behind where it belongs: "feed 1/2:refresh", "episode 3/5:decode"."""
        with self.sync_lock(), self.fetcher() as fetcher:
            report = self.refresh_feeds(feed_id, fetcher=fetcher, hook=hook)
            items = self.pending(feed_id, since=since, limit=limit)
            try:
                for n, item in enumerate(items, start=1):
                    prefix = f"episode {n}/{len(items)}"
                    step: Hook | None = (lambda s, d, t, p=prefix: hook(f"{p}:{s}", d, t)) if hook else None
                    outcome = self.process_item(item.id, retranscribe=retranscribe, fetcher=fetcher, hook=step)
                    if outcome.status == "done":
                        report.processed += 1
                    elif outcome.status == "failed":
                        report.failed += 1
                        report.errors.append(f"{item.title}: {outcome.error}")
                    else:
                        report.skipped += 1
            finally:  # an item left mid-way (Ctrl+C) is pending again for any run
                self.release_claims()
        return report

    def refresh_feeds(
        self, feed_id: int | None = None, *, fetcher: Fetcher | None = None, hook: LabelledHook | None = None
    ) -> SyncReport:
        """Read the feeds (or one) again and record their new items; a feed that cannot be read is an error in the
        report, not raised. The report counts feeds and new items."""
        report = SyncReport()
        with nullcontext(fetcher) if fetcher is not None else self.fetcher() as reader:
            rows = [self.store.feeds.get(feed_id)] if feed_id is not None else self.store.feeds.list_feeds()
            for n, row in enumerate(rows, start=1):
                if hook:
                    hook(f"feed {n}/{len(rows)}:refresh", 0, 1)
                try:
                    report.new_items += self.refresh(row.id, reader)
                except PodscopeError as exc:
                    report.errors.append(f"feed {row.id} ({row.url}): {exc}")
                report.feeds += 1
                if hook:
                    hook(f"feed {n}/{len(rows)}:refresh", 1, 1)
        return report

    def pending(
        self, feed_id: int | None = None, *, since: str | None = None, limit: int | None = None
    ) -> builtins.list[FollowedItem]:  # `list` here is the method above
        """Items still to process (pending, or failed fewer than three times), newest first, at most `limit`."""
        return self.store.feeds.pending_items(feed_id, since=since, limit=limit)

    def claim(self, item_id: int, claimer: str | None = None) -> FollowedItem | None:
        """Claim a pending item for a run (default: this library's, `claimer`); None when another run holds it or it
        is no longer pending. Claiming an item one holds already is a no-op that keeps it."""
        return self.store.feeds.claim_item(item_id, claimer or self.claimer, CLAIM_STALE_HOURS * 3600)

    def release_claims(self, claimer: str | None = None) -> int:
        """Give back what a run (default: this library's) holds and has not finished; returns how many items."""
        return self.store.feeds.release_claims(claimer or self.claimer)

    def give_up(self, item_id: int, error: str, claimer: str | None = None) -> bool:
        """Record an item as failed with `error` when its processing could not record it (its worker died), if the
        run still holds it; returns whether it was recorded (False: it was finished already)."""
        return self.store.feeds.finish_item(item_id, "failed", error, claimer or self.claimer)

    def process_item(
        self,
        item_id: int,
        *,
        claimer: str | None = None,
        retranscribe: bool = False,
        fetcher: Fetcher | None = None,
        hook: Hook | None = None,
    ) -> ItemOutcome:
        """Process one pending item end to end for a run (default: this library's): claim it, download its enclosure
        into HOME/downloads, import its transcript or transcribe it into its pending episode, and record it done or
        failed with podscope's error. An item another run holds, or no longer pending, is skipped. Any other
        exception is raised with the item still claimed, for the run to give up on or give back."""
        claimer = claimer or self.claimer
        item = self.claim(item_id, claimer)
        if item is None:
            return ItemOutcome(item_id, "skipped")
        with nullcontext(fetcher) if fetcher is not None else self.fetcher() as reader:
            try:
                result = self._process(item, reader, retranscribe, hook)
            except PodscopeError as exc:
                self.store.feeds.finish_item(item_id, "failed", str(exc), claimer)
                return ItemOutcome(item_id, "failed", episode_id=item.episode_id, error=str(exc))
            if item.chapters:
                self._fetch_chapters(item, result.episode.id, reader)
        self.store.feeds.finish_item(item_id, "done", claimer=claimer)
        episode = result.episode
        return ItemOutcome(item_id, "done", episode_id=episode.id, created=result.created, seconds=episode.duration)

    def _process(self, item: FollowedItem, fetcher: Fetcher, retranscribe: bool, hook: Hook | None) -> AddResult:
        episode = self.store.episodes.get(item.episode_id) if item.episode_id else None
        if episode is None:
            raise InputError("the episode was deleted from the library; nothing to process")
        transcripts = item.transcripts
        transcript = None if retranscribe else best_transcript(transcripts)
        declared = declared_language(item.feed_language, transcripts)
        chosen = item.feed_language_set  # set by the user for the podcast: wins over anything declared
        audio_path = None
        if item.enclosure_url:
            folder = self.home / "downloads" / str(item.feed_id)
            folder.mkdir(parents=True, exist_ok=True)
            target = folder / safe_filename(item.title, item.enclosure_url)
            download_hook = (lambda done, total: hook("download", done, total or done)) if hook else None
            audio_path = fetcher.download(item.enclosure_url, target, hook=download_hook)
        elif transcript is None:
            raise InputError("the item has neither an audio enclosure nor a transcript")
        try:
            common: dict[str, Any] = {"podcast": item.podcast, "title": episode.title, "published": episode.published}
            if transcript is not None:
                url, fmt = transcript
                own = next((t.get("language") for t in transcripts if t.get("url") == url), None)
                response = fetcher.fetch_text(url)
                path = self.work_dir / f"transcript-{item.id}.{fmt}"
                self.work_dir.mkdir(parents=True, exist_ok=True)
                path.write_bytes(response)
                try:
                    result = self.arrivals.import_transcript(
                        path,
                        fmt=fmt,
                        audio_path=audio_path,
                        into=episode.id,
                        hook=hook,
                        language=chosen or whisper_language(own) or declared or "en",
                        **common,
                    )
                finally:
                    path.unlink(missing_ok=True)
            else:
                assert audio_path is not None
                result = self.arrivals.add_audio(
                    audio_path, into=episode.id, hook=hook, language=chosen, declared_language=declared, **common
                )
                if result.episode.id != episode.id:  # the same recording was already in the library
                    self.store.feeds.link_item(item.id, result.episode.id, drop_pending=episode.id)
        finally:
            if audio_path is not None and not self.settings.keep_downloads:
                audio_path.unlink(missing_ok=True)
        return result
