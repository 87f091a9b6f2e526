"""Following a feed end to end: a real HTTP server on loopback serving a feed with a real recording, a publisher's
transcript of it, a transcript-only episode and credits; add, sync, re-sync, an interrupted download, a blocked feed,
the sync lock and refused addresses. Each test's library starts empty, on each backend in turn (`store_url`: a SQLite
file in its home, or a fresh PostgreSQL database); the `podscope` commands' test runs on PostgreSQL only in the full
run."""

from __future__ import annotations

import fcntl
import http.server
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from helpers import DATA, HEAVY_ON_POSTGRES, SAMPLE_WAV, cli, http_server, query, stored_bytes, use_store
from podscope.errors import InputError
from podscope.feeds.fetch import safe_filename
from podscope.feeds.follow import FeedLanguage
from podscope.library import Library

STM = DATA / "pyannote-sample" / "sample.stm"
SRT = DATA / "transcripts" / "example.srt"
PC = "https://podcastindex.org/namespace/1.0"


def _json_transcript() -> bytes:
    """The real recording's reference transcript (pyannote's STM) as Podcasting 2.0 JSON."""
    segments = []
    for line in STM.read_text().splitlines():
        _, _, speaker, start, end, *words = line.split()
        segments.append({"speaker": speaker, "startTime": float(start), "endTime": float(end), "body": " ".join(words)})
    return json.dumps({"version": "1.0.0", "segments": segments}).encode()


def _item(guid: str, title: str, date: str, enclosure: str | None, transcript: str | None, persons: str = "") -> str:
    parts = [f"<guid>{guid}</guid>", f"<title>{title}</title>", f"<pubDate>{date}</pubDate>"]
    if enclosure:
        parts.append(f'<enclosure url="{enclosure}" type="audio/wav" length="{SAMPLE_WAV.stat().st_size}"/>')
    if transcript:
        kind = "application/json" if transcript.endswith(".json") else "application/srt"
        parts.append(f'<podcast:transcript url="{transcript}" type="{kind}"/>')
    return "<item>" + "".join(parts) + persons + "</item>"


class Site:
    """What the test server serves; `drop_once` paths cut the connection half-way the first time."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[bytes, str]] = {}
        self.drop_once: set[str] = set()
        self.requests: list[tuple[str, str | None]] = []


@pytest.fixture()
def site() -> Iterator[tuple[Site, str]]:
    state = Site()

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            state.requests.append((self.path, self.headers.get("Range")))
            if self.path.startswith("/loop"):  # a redirect loop
                self.send_response(302)
                self.send_header("Location", "/loop-b" if self.path == "/loop-a" else "/loop-a")
                self.end_headers()
                return
            if self.path in ("/endless.xml", "/endless.wav"):  # a body that never ends
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml" if self.path.endswith("xml") else "audio/wav")
                self.end_headers()
                chunk = b"<!-- padding -->" * 4096 if self.path.endswith("xml") else b"\0" * 65536
                try:
                    while True:
                        self.wfile.write(chunk)
                except (BrokenPipeError, ConnectionResetError):
                    return
            if self.path not in state.files:
                self.send_error(404)
                return
            body, kind = state.files[self.path]
            start = 0
            rng = self.headers.get("Range")
            if rng and rng.startswith("bytes="):
                start = int(rng[6:].split("-")[0])
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
            else:
                self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body) - start))
            self.send_header("Accept-Ranges", "bytes")
            self.end_headers()
            if self.path in state.drop_once:
                state.drop_once.discard(self.path)
                self.wfile.write(body[start : start + (len(body) - start) // 2])
                self.wfile.flush()
                self.connection.shutdown(2)
                return
            self.wfile.write(body[start:])

    with http_server(Handler) as base:
        state.files["/audio/call.wav"] = (SAMPLE_WAV.read_bytes(), "audio/wav")
        state.files["/audio/call-again.wav"] = (SAMPLE_WAV.read_bytes() + b"\0" * 3200, "audio/wav")
        state.files["/t/call.json"] = (_json_transcript(), "application/json")
        state.files["/t/tips.srt"] = (SRT.read_bytes(), "application/srt")
        host = '<podcast:person role="host">Marta Ruiz</podcast:person>'
        guests = host + "".join(f'<podcast:person role="guest">{n}</podcast:person>' for n in ("Diane", "Sheila"))
        items = [
            _item("ep-1", "A phone call", "Mon, 01 Apr 2024 10:00:00 GMT", f"{base}/audio/call.wav", None, guests),
            _item(
                "ep-2",
                "The call, with its transcript",
                "Mon, 08 Apr 2024 10:00:00 GMT",
                f"{base}/audio/call-again.wav",
                f"{base}/t/call.json",
                guests,
            ),
            _item("ep-3", "Ten podcasting tips", "Mon, 15 Apr 2024 10:00:00 GMT", None, f"{base}/t/tips.srt"),
        ]
        state.files["/feed.xml"] = (_feed(items).encode(), "application/rss+xml")
        yield state, base


def _feed(items: list[str], extra: str = "") -> str:
    return (
        f'<?xml version="1.0"?><rss version="2.0" xmlns:podcast="{PC}"><channel><title>Line Notes</title>'
        f"<podcast:guid>3f1a8b3c-1111-5555-9999-000000000001</podcast:guid>{extra}{''.join(items)}</channel></rss>"
    )


def _lib(home: Path, store_url: str, **settings: object) -> Library:
    return Library(
        home, settings={"asr_model": "tiny.en", "allow_private_addresses": True, "store_url": store_url, **settings}
    )


@pytest.mark.models
def test_add_sync_resync_and_resume(site: tuple[Site, str], tmp_path: Path, store_url: str) -> None:
    state, base = site
    state.drop_once.add("/audio/call.wav")  # this download is cut half-way: the fetcher resumes it with a Range
    with _lib(tmp_path / "home", store_url) as lib:
        added = lib.feeds.add(f"{base}/feed.xml")
        assert (added.podcast, added.items, added.blocked) == ("Line Notes", 3, False)
        pending = lib.episodes()
        assert [e.status for e in pending] == ["pending"] * 3
        # A run killed during a download left a .part file: the next sync carries on from there.
        url = f"{base}/audio/call-again.wav"
        part = lib.home / "downloads" / str(added.id) / (safe_filename("The call, with its transcript", url) + ".part")
        part.parent.mkdir(parents=True)
        body = state.files["/audio/call-again.wav"][0]
        part.write_bytes(body[:40_000])

        first = lib.feeds.sync()
        assert (first.processed, first.failed) == (3, 0), first.errors
        ranges = {p: r for p, r in state.requests if r}
        assert ranges["/audio/call-again.wav"] == "bytes=40000-"
        assert ranges["/audio/call.wav"].startswith("bytes=")
        assert not part.exists() and not any((lib.home / "downloads").rglob("*.wav"))  # nothing left behind
        episodes = {e.title: e for e in lib.episodes()}
        assert all(e.status == "done" for e in episodes.values()) and len(episodes) == 3
        # The recording went through transcription; the transcript episode kept the publisher's words and found the
        # voices in the audio, named as the transcript names them; the transcript-only one has text only.
        call = lib.transcript(episodes["A phone call"].id)
        assert call.episode.asr_model == "tiny.en" and len(call.speakers) == 2
        named = lib.transcript(episodes["The call, with its transcript"].id)
        assert named.episode.asr_model.startswith("publisher transcript")
        assert "I'm Sheila in Texas" in " ".join(s.text for s in named.segments)
        assert set(lib.store.people.speaker_names(named.episode.id).values()) == {"Diane", "Sheila"}
        assert lib.store.people.speaker_voices(episode_id=named.episode.id)  # voiceprints kept for matching
        tips = lib.transcript(episodes["Ten podcasting tips"].id)
        assert tips.episode.asr_model == "publisher transcript (srt)"
        assert not lib.store.people.speaker_voices(episode_id=tips.episode.id)
        # Credits are people on the episode, not voice attributions.
        credits = {(r.name, r.role) for r in lib.store.feeds.credits(episodes["A phone call"].id)}
        assert credits == {("Marta Ruiz", "host"), ("Diane", "guest"), ("Sheila", "guest")}
        assert "Marta Ruiz" not in lib.store.people.speaker_names(episodes["A phone call"].id).values()
        # ... and are offered as names for the unknown voices of their episodes.
        voices = [v for v in lib.people.unknown(recurring_only=False) if episodes["A phone call"].id in v.episodes]
        assert voices and all({"Diane", "Sheila"} <= set(v.suggestions) for v in voices)
        # Search finds them.
        assert lib.search.search("originally from Chicago", None).hits

        # Re-sync: nothing new, nothing duplicated. A new item is picked up once.
        assert lib.feeds.sync().new_items == 0 and len(lib.episodes()) == 3
        state.files["/feed.xml"] = (
            _feed([_item("ep-4", "A short note", "Mon, 22 Apr 2024 10:00:00 GMT", None, f"{base}/t/tips.srt")]).encode()
            + b"",
            "application/rss+xml",
        )
        report = lib.feeds.sync()
        assert report.new_items == 1 and len(lib.episodes()) == 4
        assert lib.feeds.sync().new_items == 0
        listed = lib.feeds.list()[0]
        assert (listed.items, listed.done, listed.pending) == (4, 4, 0)


def test_blocked_feed_is_recorded_but_never_processed(site: tuple[Site, str], tmp_path: Path, store_url: str) -> None:
    state, base = site
    state.files["/blocked.xml"] = (
        _feed(
            [_item("b-1", "No", "Mon, 01 Apr 2024 10:00:00 GMT", f"{base}/audio/call.wav", None)],
            "<podcast:block>yes</podcast:block>",
        ).encode(),
        "application/rss+xml",
    )
    with _lib(tmp_path / "home", store_url) as lib:
        added = lib.feeds.add(f"{base}/blocked.xml")
        assert added.blocked and added.items == 0
        assert lib.feeds.sync().processed == 0 and lib.episodes() == []
        assert not any(p.startswith("/audio") for p, _ in state.requests)


def _two_item_feed(state: Site, base: str, language: str) -> list[str]:
    """/de.xml: a recording and a transcript-only item, under a channel that declares `language`; returns the items."""
    items = [
        _item("de-1", "Ein Anruf", "Mon, 01 Apr 2024 10:00:00 GMT", f"{base}/audio/call.wav", None),
        _item("de-2", "Tipps", "Mon, 08 Apr 2024 10:00:00 GMT", None, f"{base}/t/tips.srt"),
    ]
    state.files["/de.xml"] = (_feed(items, f"<language>{language}</language>").encode(), "application/rss+xml")
    return items


@pytest.mark.models
def test_sync_uses_the_language_the_feed_declares(site: tuple[Site, str], tmp_path: Path, store_url: str) -> None:
    """The channel says German: the (English) recording is transcribed as German, not detected, and the
    transcript-only episode is recorded as German. The multilingual base model, since tiny.en knows only English."""
    state, base = site
    _two_item_feed(state, base, "de-DE")
    with _lib(tmp_path / "home", store_url, asr_model="base", allow_download=False) as lib:
        added = lib.feeds.add(f"{base}/de.xml")
        assert lib.store.feeds.get(added.id).language == "de-DE"  # kept as declared, normalised when used
        report = lib.feeds.sync()
        assert (report.processed, report.failed) == (2, 0), report.errors
        episodes = {e.title: e for e in lib.episodes()}
    assert episodes["Ein Anruf"].language == "de" and episodes["Ein Anruf"].asr_model == "base"
    assert episodes["Tipps"].language == "de"


@pytest.mark.models
def test_a_language_set_for_the_podcast_beats_the_declared_one(
    site: tuple[Site, str], tmp_path: Path, store_url: str
) -> None:
    """The channel declares en-us (a host's default) but the user sets German: the (English) recording is transcribed
    as German and the transcript-only episode recorded as German. Reading the feed again updates the declared
    language and keeps the set one; clearing it goes back to the declared one; an unknown code is refused and nothing
    is written."""
    state, base = site
    items = _two_item_feed(state, base, "en-us")
    with _lib(tmp_path / "home", store_url, asr_model="base", allow_download=False) as lib:
        with pytest.raises(InputError, match="'tlh-Klingon' is not one Whisper knows"):
            lib.feeds.add(f"{base}/de.xml", language="tlh-Klingon")
        assert lib.feeds.list() == [] and lib.episodes() == [] and not state.requests  # not even fetched
        added = lib.feeds.add(f"{base}/de.xml", language="de-DE")
        assert (added.language_declared, added.language_set) == ("en-us", "de")
        # The publisher changes the channel's language: the next read records it, the set language stays.
        state.files["/de.xml"] = (_feed(items, "<language>en-GB</language>").encode(), "application/rss+xml")
        report = lib.feeds.sync()
        assert (report.processed, report.failed) == (2, 0), report.errors
        assert lib.feeds.language(added.id) == FeedLanguage(added.id, "Line Notes", "en-GB", "de", "de")
        listed = lib.feeds.list()[0]
        assert (listed.language, listed.language_set) == ("en-GB", "de")
        episodes = {e.title: e for e in lib.episodes()}
        assert episodes["Ein Anruf"].language == "de" and episodes["Ein Anruf"].asr_model == "base"
        assert episodes["Tipps"].language == "de"

        with pytest.raises(InputError, match="not one Whisper knows"):
            lib.feeds.set_language(added.id, "zz")
        assert lib.store.feeds.get(added.id).language_set == "de"  # unchanged
        assert lib.feeds.set_language(added.id, "es").language == "es"
        cleared = lib.feeds.set_language(added.id, "")
        assert cleared == FeedLanguage(added.id, "Line Notes", "en-GB", None, "en")
        # Back to the declared language: a new episode is recorded in English.
        items.append(_item("de-3", "Mehr Tipps", "Mon, 15 Apr 2024 10:00:00 GMT", None, f"{base}/t/call.json"))
        state.files["/de.xml"] = (_feed(items, "<language>en-GB</language>").encode(), "application/rss+xml")
        report = lib.feeds.sync()
        assert (report.new_items, report.processed, report.failed) == (1, 1, 0), report.errors
        assert {e.title: e.language for e in lib.episodes()}["Mehr Tipps"] == "en"


@pytest.mark.models
def test_sync_leaves_what_another_run_holds_and_takes_back_what_a_killed_run_of_its_home_left(
    site: tuple[Site, str], tmp_path: Path, new_store: Callable[[], str]
) -> None:
    """Two transcript-only items: the newest is claimed by a run on another machine and is left to it; the other was
    claimed by this home's last run, killed mid-item, and is processed (this run holds the sync lock, so that one is
    gone). Once the other run gives its item back, the next sync processes it."""
    state, base = site
    items = [
        _item("t-1", "Ten podcasting tips", "Mon, 15 Apr 2024 10:00:00 GMT", None, f"{base}/t/tips.srt"),
        _item("t-2", "The call, as text", "Mon, 22 Apr 2024 10:00:00 GMT", None, f"{base}/t/call.json"),
    ]
    state.files["/text.xml"] = (_feed(items).encode(), "application/rss+xml")
    elsewhere = "another-host:/srv/podscope"
    with _lib(tmp_path / "home", new_store()) as lib:
        feed_id = lib.feeds.add(f"{base}/text.xml").id
        newest, older = lib.feeds.pending()
        assert lib.feeds.claim(newest.id, elsewhere) is not None
        assert lib.feeds.claim(older.id) is not None and lib.feeds.claimer.endswith(str(lib.home))

        report = lib.feeds.sync()
        assert (report.processed, report.failed, report.skipped) == (1, 0, 1), report.errors
        statuses = {i.title: (i.status, i.attempts) for i in lib.store.feeds.items(feed_id)}
        assert statuses == {"Ten podcasting tips": ("done", 1), "The call, as text": ("pending", 0)}
        assert lib.feeds.process_item(older.id).status == "skipped"  # done: nothing to process

        assert lib.feeds.release_claims(elsewhere) == 1
        outcome = lib.feeds.process_item(newest.id)
        assert (outcome.status, outcome.created, outcome.error) == ("done", True, None)
        assert outcome.episode_id == newest.episode_id
        assert [e.status for e in lib.episodes()] == ["done", "done"]


def test_sync_lock_and_refused_addresses(site: tuple[Site, str], tmp_path: Path, new_store: Callable[[], str]) -> None:
    _, base = site
    home = tmp_path / "home"
    with _lib(home, new_store()) as lib:
        lib.feeds.add(f"{base}/feed.xml")
        with open(home / "sync.lock", "w") as held:
            fcntl.flock(held, fcntl.LOCK_EX)
            with pytest.raises(InputError, match="another podscope sync is running"):
                lib.feeds.sync()
    # With the default setting, loopback and private addresses are refused and nothing is recorded.
    guarded = tmp_path / "guarded"
    with Library(guarded, settings={"asr_model": "tiny.en", "store_url": new_store()}) as lib:
        with pytest.raises(InputError, match=r"127\.0\.0\.1|private|loopback"):
            lib.feeds.add(f"{base}/feed.xml")
        assert lib.feeds.list() == [] and lib.episodes() == []


@pytest.mark.models
@pytest.mark.slow  # a whole CLI session in fresh interpreters (half a minute); the library tests cover the same
@HEAVY_ON_POSTGRES
def test_cli_feeds_and_sync(site: tuple[Site, str], tmp_path: Path, store_url: str) -> None:
    _, base = site
    home = tmp_path / "home"
    (home).mkdir()
    (home / "config.toml").write_text('allow_private_addresses = true\nasr_model = "tiny.en"\n')
    use_store(home, store_url)

    p = cli(home, "feeds", "add", f"{base}/feed.xml")
    assert p.returncode == 0 and "3 episodes recorded as pending" in p.stdout, p.stderr
    listed = json.loads(cli(home, "feeds", "list", "--json").stdout)
    assert listed[0]["pending"] == 3
    assert (listed[0]["language_declared"], listed[0]["language_set"]) == (None, None)
    # The podcast's language: set, refused when unknown (nothing written), cleared.
    feed_id = listed[0]["id"]
    p = cli(home, "feeds", "set-language", feed_id, "pt-BR", "--json")
    assert p.returncode == 0 and json.loads(p.stdout)["language_set"] == "pt", p.stderr
    p = cli(home, "feeds", "set-language", feed_id, "zz")
    assert p.returncode == 1 and "'zz' is not one Whisper knows" in p.stderr and "Traceback" not in p.stderr
    assert "pt (set)" in cli(home, "feeds", "list").stdout
    p = cli(home, "feeds", "set-language", feed_id, "--clear")
    assert p.returncode == 0 and "no language Whisper knows" in p.stdout, p.stderr
    assert json.loads(cli(home, "feeds", "list", "--json").stdout)[0]["language_set"] is None
    p = cli(home, "feeds", "add", f"{base}/other.xml", "--language", "zz")
    assert p.returncode == 1 and "not one Whisper knows" in p.stderr
    assert "pending" in cli(home, "episodes").stdout
    p = cli(home, "sync", "--limit", "1", "--json")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["processed"] == 1  # the newest: the transcript-only episode
    p = cli(home, "feeds", "add", "http://[::1", "--json")
    assert p.returncode == 1 and "Traceback" not in p.stderr
    p = cli(home, "feeds", "remove", listed[0]["id"])
    assert p.returncode == 0 and "2 pending episodes dropped" in p.stdout
    assert query(home, "SELECT COUNT(*) FROM episodes") == [(1,)]


def test_hostile_feeds_are_refused_and_leave_the_library_unchanged(
    site: tuple[Site, str], tmp_path: Path, new_store: Callable[[], str]
) -> None:
    state, base = site
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    xxe = tmp_path / "xxe.xml"
    xxe.write_text(
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x SYSTEM "{secret.as_uri()}">]>'
        f'<rss version="2.0"><channel><title>Evil &x;</title><item><guid>g</guid><title>&x;</title></item>'
        "</channel></rss>"
    )
    bomb = tmp_path / "bomb.xml"
    entities = '<!ENTITY a "lol">' + "".join(
        f'<!ENTITY {c} "&{p};&{p};&{p};&{p};&{p};&{p};&{p};&{p};&{p};&{p};">'
        for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    )
    bomb.write_text(f'<?xml version="1.0"?><!DOCTYPE rss [{entities}]><rss><channel><title>&i;</title></channel></rss>')
    home = tmp_path / "home"
    with _lib(home, new_store(), max_feed_mb=1, max_download_mb=2) as lib:
        added = lib.feeds.add(str(xxe))  # parsed, but the external entity is never read
        bombed = lib.feeds.add(str(bomb))  # parsed, but the entities are never expanded
        assert len(lib.feeds.list()) == 2 and bombed.podcast != "lol" * 10
        raw = stored_bytes(lib)
        assert b"TOP-SECRET-VALUE" not in raw and b"lollollol" not in raw
        before = lib.store.episodes.counts()
        for url, message in [
            (f"{base}/endless.xml", "MB"),  # a feed that never ends is cut at the size limit
            (f"{base}/loop-a", "redirect"),  # a redirect loop
            ("file:///etc/passwd", "feed"),  # not a feed file
            ("gopher://example.com/feed", "http"),  # not http(s)
        ]:
            with pytest.raises(InputError, match=message):
                lib.feeds.add(url)
        assert lib.store.episodes.counts() == before and len(lib.feeds.list()) == 2
        del added
    # An enclosure that never ends: the item fails, its partial download is removed, nothing else changes.
    state.files["/endless-feed.xml"] = (
        _feed([_item("e-1", "Forever", "Mon, 01 Apr 2024 10:00:00 GMT", f"{base}/endless.wav", None)]).encode(),
        "application/rss+xml",
    )
    with _lib(tmp_path / "home2", new_store(), max_download_mb=2) as lib:
        lib.feeds.add(f"{base}/endless-feed.xml")
        report = lib.feeds.sync()
        assert report.failed == 1 and "MB" in report.errors[0]
        assert [e.status for e in lib.episodes()] == ["failed"]
        assert not list((lib.home / "downloads").rglob("*.part"))
