"""What an attacker can reach over HTTP, tried against a real server: hostile text on every page in a real Chromium,
the security headers, a browser's signed-in session (a server where reading needs a key: the pages and `<audio>`),
CSRF on forms and on cookie-authenticated API writes, hostile uploads (playlists that make FFmpeg open other files
or URLs, a 10-hour recording, a few MB of FLAC that decodes to 10 hours), and the address checks on every URL a feed
makes podscope fetch (enclosures, transcripts, the feed itself) against a real local HTTP server.

The library is made without models: an episode with a recording is stored as processed (its recording copied into
the home's uploads), a feed followed from a local file, so every page has something hostile to show. The README's
"Security" section is the threat model these tests hold the code to.
"""

from __future__ import annotations

import datetime as dt
import http.server
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import quote

import httpx
import numpy as np
import pytest

from helpers import SAMPLE_WAV, files_server, http_server, in_process, served
from podscope import audio
from podscope.errors import TooLong
from podscope.library import Library
from podscope.records import Diarization, EpisodeMeta, ProcessedEpisode, Segment, SpeakerTrack, Word
from podscope.web.security import DATA_POLICY, DOCS_POLICY, PAGE_POLICY

HOSTILE = "<img src=x onerror=alert(1)>"
HOSTILE_PODCAST = f"Pod {HOSTILE}"
HOSTILE_TITLE = f"Episode <script>alert('title')</script> {HOSTILE}"
HOSTILE_PERSON = f"Mallory {HOSTILE}"
HOSTILE_LINE = f'Say hello {HOSTILE} and "quotes" \' and </p><script>alert(2)</script> here'
SETTINGS: dict[str, Any] = {"api_rate_per_minute": 0, "allow_download": False}
FEED = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:podcast="https://podcastindex.org/namespace/1.0">
<channel>
  <title>Feed &lt;img src=x onerror=alert(3)&gt;</title>
  <podcast:person role="host">Host &lt;img src=x onerror=alert(4)&gt;</podcast:person>
  <item><title>Item &lt;script&gt;alert(5)&lt;/script&gt;</title><guid>h-1</guid>
    <enclosure url="https://example.com/h/1.mp3" type="audio/mpeg" length="1000"/></item>
</channel>
</rss>
"""


def _words(text: str, start: float, end: float) -> tuple[Word, ...]:
    tokens = text.split()
    step = (end - start) / len(tokens)
    return tuple(Word(start + i * step, start + (i + 1) * step, " " + t, 0.9) for i, t in enumerate(tokens))


def store_hostile_episode(lib: Library) -> int:
    """An episode with a recording in the home's uploads whose podcast, title, speakers and text are hostile."""
    uploads = lib.home / "uploads"
    uploads.mkdir(parents=True, exist_ok=True)
    recording = uploads / "hostile.wav"
    shutil.copy(SAMPLE_WAV, recording)
    segments = (
        Segment(0.5, 4.0, "SPEAKER_00", HOSTILE_LINE, words=_words(HOSTILE_LINE, 0.5, 4.0)),
        Segment(4.5, 8.0, "SPEAKER_01", "A quiet second line", words=_words("A quiet second line", 4.5, 8.0)),
    )
    processed = ProcessedEpisode(
        meta=EpisodeMeta(
            podcast=HOSTILE_PODCAST, title=HOSTILE_TITLE, published=dt.date(2025, 1, 20), source=str(recording)
        ),
        content_hash="hostile",
        duration=10.0,
        language="en",
        asr_model="tiny.en",
        asr_source="package",
        segments=segments,
        diarization=Diarization(
            turns=(),
            speakers=tuple(SpeakerTrack(label, np.zeros(0, np.float32), 3.5) for label in ("SPEAKER_00", "SPEAKER_01")),
        ),
    )
    episode_id = lib.store.episodes.save(processed)
    lib.people.assign(episode_id, "SPEAKER_00", HOSTILE_PERSON)
    return episode_id


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    work = tmp_path_factory.mktemp("security")
    lib = Library(work / "home", settings=SETTINGS)
    try:
        episode = store_hostile_episode(lib)
        feed = work / "feed.xml"
        feed.write_text(FEED)
        lib.feeds.add(str(feed))
        yield {"lib": lib, "episode": episode}
    finally:
        lib.close()


# -- hostile text on every page --------------------------------------------------------------------------------------


def page_urls(library: dict[str, Any]) -> list[str]:
    lib: Library = library["lib"]
    urls = ["/", "/search?mode=text&q=hello", "/search?mode=text&q=" + quote(HOSTILE)]
    urls += ["/people", "/podcasts", "/review", "/feeds"]
    urls += ["/login", "/nowhere/" + quote(HOSTILE, safe=""), "/people/" + quote(HOSTILE, safe="")]
    urls += [f"/episodes/{e.id}" for e in lib.episodes()] + [f"/podcasts/{p.id}" for p in lib.podcasts()]
    urls += [f"/episodes/{library['episode']}/quiz?level=easy"]
    return urls + ["/people/" + quote(p.name, safe="") for p, _active in lib.people.roster()]


@pytest.mark.browser
def test_hostile_names_and_text_never_run_in_a_browser(page: Any, site: dict[str, Any]) -> None:
    """Every page holding a hostile podcast, title, person, line or feed name, in Chromium: the `page` fixture fails
    on any dialog (an alert() that ran) or page error, and the policy blocks nothing of the pages' own."""
    refused: list[str] = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    for url in page_urls(site):
        page.goto(url, wait_until="load")
        assert page.evaluate("() => document.querySelectorAll('img[src=x], body script:not([src])').length") == 0, url
    page.goto(f"/episodes/{site['episode']}")
    assert HOSTILE in page.inner_text("main")  # shown as text, not run
    assert page.evaluate("() => typeof document.getElementById('player').play") == "function"
    page.goto("/search?mode=text&q=hello")
    assert page.locator("mark").count() >= 1 and HOSTILE in page.inner_text("main")
    assert not refused, refused


def test_pages_escape_every_hostile_field(library: dict[str, Any]) -> None:
    with in_process(library["lib"]) as http:
        for url in page_urls(library):
            body = http.get(url).text
            assert "<img src=x" not in body and "<script>alert" not in body, url
        episode = http.get(f"/episodes/{library['episode']}").text
        assert "&lt;img src=x onerror=alert(1)&gt;" in episode


def test_every_answer_carries_the_security_headers(library: dict[str, Any]) -> None:
    with in_process(library["lib"]) as http:
        page = http.get(f"/episodes/{library['episode']}")
        assert page.headers["content-security-policy"] == PAGE_POLICY
        assert "script-src 'self';" in PAGE_POLICY and "frame-ancestors 'none'" in PAGE_POLICY
        for response in (page, http.get("/nowhere"), http.get("/api/episodes"), http.get("/static/app.js")):
            assert response.headers["x-content-type-options"] == "nosniff", response.url
            assert response.headers["x-frame-options"] == "DENY", response.url
        assert http.get("/nowhere").headers["content-security-policy"] == PAGE_POLICY  # the error page too
        assert http.get("/api/episodes").headers["content-security-policy"] == DATA_POLICY
        vtt = http.get(f"/api/episodes/{library['episode']}/transcript", params={"format": "vtt"})
        assert vtt.headers["content-security-policy"] == DATA_POLICY and "&lt;img src=x" in vtt.text
        assert http.get("/api/docs").headers["content-security-policy"] == DOCS_POLICY
        recording = http.get(f"/api/episodes/{library['episode']}/audio", headers={"Range": "bytes=0-99"})
        assert recording.status_code == 206 and "content-security-policy" not in recording.headers
        assert recording.headers["cache-control"] == "private" and page.headers["cache-control"] == "private"
        assert http.get("/static/app.js").headers["cache-control"].startswith("public")


def test_a_page_that_renamed_this_machine_cannot_read_it(library: dict[str, Any]) -> None:
    """DNS rebinding: a page at evil.example whose name now resolves to 127.0.0.1 asks the server on loopback from
    the user's own browser, which would read an open library. Only loopback names are answered there; a local
    reverse proxy (X-Forwarded-For) passes with its public name."""
    with served(library["lib"]) as url, httpx.Client(base_url=url) as client:
        port = url.rsplit(":", 1)[1]
        for host in (f"evil.example:{port}", "evil.example", f"10.0.0.5:{port}"):
            refused = client.get("/api/episodes", headers={"Host": host})
            assert refused.status_code == 421 and "answers only to localhost" in refused.json()["error"], host
            assert client.get("/", headers={"Host": host}).status_code == 421
        for host in (f"localhost:{port}", f"127.0.0.1:{port}", "[::1]"):
            assert client.get("/api/episodes", headers={"Host": host}).status_code == 200, host
        proxied = {"Host": "podcasts.example.org", "X-Forwarded-For": "203.0.113.9"}
        assert client.get("/api/episodes", headers=proxied).status_code == 200


# -- a browser's session where reading needs a key ------------------------------------------------------------------

LOCKED = {**SETTINGS, "api_read_requires_key": True, "api_open_admin_on_loopback": False}


def csrf_of(client: httpx.Client, path: str = "/login") -> str:
    page = client.get(path)
    found = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
    assert found, page.text[:300]
    return found.group(1)


def sign_in(client: httpx.Client, key: str) -> httpx.Response:
    token = csrf_of(client)  # sent by hand: behind https the cookie is Secure, and httpx keeps it off plain http
    form = {"key": key, "csrf": token, "next": "/podcasts"}
    return client.post("/login", data=form, headers={"Cookie": f"podscope_csrf={token}"})


@pytest.fixture()
def locked(tmp_path: Path, store_url: str) -> Iterator[dict[str, Any]]:
    """A server where reading needs a key, nothing is open to this machine, and the library holds one episode."""
    with Library(tmp_path / "home", settings={**LOCKED, "store_url": store_url}) as lib:
        episode = store_hostile_episode(lib)
        _, read = lib.keys.create("read", "phone")
        admin_key, admin = lib.keys.create("admin", "laptop")
        with served(lib) as url:
            yield {"lib": lib, "url": url, "episode": episode, "read": read, "admin": admin, "admin_id": admin_key.id}


def test_a_browser_signs_in_with_a_key_for_the_pages_and_the_audio(locked: dict[str, Any]) -> None:
    episode = locked["episode"]
    with httpx.Client(base_url=locked["url"]) as browser:
        shut = browser.get(f"/episodes/{episode}")
        assert shut.status_code == 401 and 'href="/login?next=' in shut.text
        assert browser.get(f"/api/episodes/{episode}/audio").status_code == 401
        assert "Review" in shut.text and HOSTILE_PODCAST not in shut.text
        # without the form's token, no sign-in (login CSRF: another site signing you in under its key)
        assert browser.post("/login", data={"key": locked["read"]}).status_code == 403
        wrong = sign_in(browser, "psk_not-a-key")
        assert wrong.status_code == 303 and not browser.cookies.get("podscope_session")
        planted = "attacker-chosen-session-value"  # session fixation: a value set before signing in is never used
        browser.cookies.set("podscope_session", planted)
        assert browser.get(f"/episodes/{episode}").status_code == 401
        ok = sign_in(browser, locked["read"])
        assert ok.status_code == 303 and ok.headers["location"] == "/podcasts"
        cookie = ok.headers["set-cookie"].lower()
        assert "podscope_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie
        assert "secure" not in cookie  # plain http here; see the https test below
        fresh = re.search(r"podscope_session=([^;]+)", ok.headers["set-cookie"])
        assert fresh and fresh.group(1) != planted
        session = fresh.group(1)
        browser.cookies.clear()
        browser.cookies.set("podscope_session", session)
        assert browser.get(f"/episodes/{episode}").status_code == 200
        part = browser.get(f"/api/episodes/{episode}/audio", headers={"Range": "bytes=0-1023"})
        assert part.status_code == 206 and len(part.content) == 1024
        assert browser.get("/api/episodes").status_code == 200
        # a read key's session may not change anything, token or not
        token = csrf_of(browser, "/podcasts")
        assert browser.delete("/api/feeds/1", headers={"X-CSRF-Token": token}).status_code == 403
        # signing out ends the session on the server: a copy of the cookie stops working
        assert browser.post("/logout", data={"csrf": token}).status_code == 303
        with httpx.Client(base_url=locked["url"], cookies={"podscope_session": session}) as thief:
            assert thief.get(f"/episodes/{episode}").status_code == 401


def test_session_cookie_is_secure_behind_https_and_ends_with_its_key(locked: dict[str, Any]) -> None:
    proxied = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}  # a local proxy terminating TLS
    with httpx.Client(base_url=locked["url"], headers=proxied) as browser:
        ok = sign_in(browser, locked["admin"])
        assert ok.status_code == 303 and "secure" in ok.headers["set-cookie"].lower()
        session = re.search(r"podscope_session=([^;]+)", ok.headers["set-cookie"])
        assert session
    with httpx.Client(base_url=locked["url"], cookies={"podscope_session": session.group(1)}) as browser:
        assert browser.get("/podcasts").status_code == 200
        locked["lib"].keys.revoke(locked["admin_id"])
        assert browser.get("/podcasts").status_code == 401


def test_cookie_authenticated_api_changes_need_the_csrf_header(locked: dict[str, Any]) -> None:
    """A signed-in admin's browser: a change over the API made with the cookie alone (what a form or script on
    another site can make the browser send) is refused; with the page's token in X-CSRF-Token it goes through."""
    with httpx.Client(base_url=locked["url"]) as browser:
        assert sign_in(browser, locked["admin"]).status_code == 303
        token = csrf_of(browser, "/podcasts")
        forged = browser.delete("/api/feeds/77")
        assert forged.status_code == 403 and "X-CSRF-Token" in forged.json()["error"]
        upload = browser.post(
            "/api/episodes", files={"file": ("x.wav", SAMPLE_WAV.read_bytes())}, data={"podcast": "Forged"}
        )
        assert upload.status_code == 403 and not list((locked["lib"].home / "uploads").glob("*Forged*"))
        assert browser.delete("/api/feeds/77", headers={"X-CSRF-Token": "wrong"}).status_code == 403
        passed = browser.delete("/api/feeds/77", headers={"X-CSRF-Token": token})
        assert passed.status_code == 404  # through the checks, to the library: there is no such feed
        answer = {"learner": "Eve", "question_id": "q-none", "chosen": 0, "seed": 1}  # a reader's write: quiz answers
        where = f"/api/episodes/{locked['episode']}/quiz/answers"
        assert browser.post(where, json=answer).status_code == 403
        assert browser.post(where, json=answer, headers={"X-CSRF-Token": token}).status_code not in (401, 403)
        # a page form with the session: the token in the field, and a cross-site Origin refused whatever it carries
        form = {"url": "https://example.invalid/feed.xml", "csrf": token}
        assert browser.post("/feeds", data=form, headers={"Origin": "https://evil.example"}).status_code == 403
        assert browser.post("/feeds", data={"url": form["url"]}).status_code == 403


@pytest.mark.browser
def test_a_signed_in_chromium_plays_the_recording(browser: Any, locked: dict[str, Any]) -> None:
    context = browser.new_context(base_url=locked["url"])
    try:
        page = context.new_page()
        page.goto("/login?next=" + quote(f"/episodes/{locked['episode']}"))
        page.fill("input[name=key]", locked["read"])
        page.click("button[type=submit]")
        page.wait_for_url(f"**/episodes/{locked['episode']}")
        duration = page.evaluate(
            """() => new Promise((ok, fail) => {
                const a = document.getElementById('player');
                if (a.readyState >= 1) return ok(a.duration);
                a.addEventListener('loadedmetadata', () => ok(a.duration));
                a.addEventListener('error', () => fail('the recording did not load'));
                a.load();
            })"""
        )
        assert duration > 5
        assert context.cookies()[0]["httpOnly"] is True
    finally:
        context.close()


# -- hostile uploads -------------------------------------------------------------------------------------------------


def upload(client: Any, body: bytes, name: str = "episode.mp3") -> httpx.Response:
    response: httpx.Response = client.post(
        "/api/episodes", files={"file": (name, body)}, data={"podcast": "Uploads", "title": name}
    )
    return response


def silence_flac(path: Path, hours: float, piped: bool = False) -> Path:
    """Hours of digital silence as FLAC at 200 Hz (10 hours: 0.6 MB, which decodes to 2.3 GB at 16 kHz); `piped`
    leaves the length out of the header, as a stream does, so only its packets say how long it is."""
    command = ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "anullsrc=r=200:cl=mono", "-t", str(hours * 3600)]
    command += ["-c:a", "flac", "-f", "flac", "pipe:" if piped else str(path)]
    if piped:
        path.write_bytes(subprocess.run(command, check=True, capture_output=True).stdout)
    else:
        subprocess.run(command, check=True)
    return path


class Counting(http.server.BaseHTTPRequestHandler):
    seen: ClassVar[list[str]] = []

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        Counting.seen.append(self.path)
        body = b"RIFF but not a recording: whatever is inside the network"
        self.send_response(200)
        self.send_header("Content-Type", "audio/wav")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_playlists_and_file_lists_are_never_opened(tmp_path: Path) -> None:
    """An HLS playlist or an ffconcat list names other files and URLs for FFmpeg to read on its behalf: a hostile
    uploader could make podscope fetch inside the network or transcribe a file of the server's. Refused as uploads
    (400, nothing kept, nothing fetched) and wherever audio is opened."""
    Counting.seen = []
    with Library(tmp_path / "home", settings=SETTINGS) as lib, http_server(Counting) as url:
        uploads = lib.home / "uploads"
        uploads.mkdir(parents=True)
        shutil.copy(SAMPLE_WAV, uploads / "someone-elses.wav")
        hls = f"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n{url}/inside.wav\n#EXT-X-ENDLIST\n".encode()
        concat = b"ffconcat version 1.0\nfile 'someone-elses.wav'\n"
        with in_process(lib) as http:
            for name, body in (("list.m3u8", hls), ("episode.mp3", hls), ("episode.mp3", concat)):
                refused = upload(http, body, name)
                assert refused.status_code == 400, refused.text
                assert "playlist" in refused.json()["error"] or "cannot be read" in refused.json()["error"]
                assert str(lib.home) not in refused.json()["error"]  # says nothing of where the server keeps files
        assert sorted(p.name for p in uploads.iterdir()) == ["someone-elses.wav"]
        (tmp_path / "list.ffconcat").write_bytes(b"ffconcat version 1.0\nfile 'a.wav'\n")
        shutil.copy(SAMPLE_WAV, tmp_path / "a.wav")
        with pytest.raises(audio.AudioError, match="playlists"):
            audio.probe(tmp_path / "list.ffconcat")
    assert Counting.seen == []


def test_a_ten_hour_upload_is_refused_at_once(tmp_path: Path) -> None:
    ten_hours = silence_flac(tmp_path / "ten-hours.flac", 10)
    bomb = silence_flac(tmp_path / "bomb.flac", 10, piped=True)  # 0.6 MB, no length in its header
    assert audio.probe(bomb).declared_duration is None
    with Library(tmp_path / "home", settings=SETTINGS) as lib, in_process(lib) as http:
        for path in (ten_hours, bomb):
            refused = upload(http, path.read_bytes(), path.name)
            assert refused.status_code == 413, refused.text
            assert "longer than the 8 h podscope takes (setting max_audio_hours)" in refused.json()["error"]
        assert not any((lib.home / "uploads").iterdir())
        assert http.get("/api/jobs").json() == [] or all(j["kind"] != "upload" for j in http.get("/api/jobs").json())
        with pytest.raises(TooLong, match="max_audio_hours"):  # the command line and feeds: before any model loads
            lib.add_audio(bomb, podcast="Long", title="Bomb")
    with Library(tmp_path / "home2", settings={**SETTINGS, "max_audio_hours": 12}) as lib, in_process(lib) as http:
        assert lib.check_recording(ten_hours).declared_duration == 36000


def test_decoding_stops_at_the_limit_whatever_the_header_says(tmp_path: Path) -> None:
    """The last wall: however a recording got past the header and packet checks, decoding stops at the limit and
    removes what it spilled."""
    with pytest.raises(TooLong, match="decodes to more than"):
        audio.decode(SAMPLE_WAV, workdir=tmp_path, in_memory_seconds=1.0, max_seconds=3.0)
    assert not list(tmp_path.iterdir())
    assert audio.decode(SAMPLE_WAV, max_seconds=3600).duration > 3.0


# -- SSRF: every URL a feed makes podscope fetch ---------------------------------------------------------------------

PRIVATE_URLS = ("http://169.254.169.254/latest/meta-data/", "http://10.1.2.3/t.srt", "http://[::1]:9/t.vtt")


def hostile_feed(base: str) -> str:
    transcripts = "".join(f'<podcast:transcript url="{u}" type="application/srt"/>' for u in PRIVATE_URLS)
    return f"""<?xml version="1.0"?>
<rss version="2.0" xmlns:podcast="https://podcastindex.org/namespace/1.0"><channel><title>Inside job</title>
<item><title>Reach in</title><guid>in-1</guid><enclosure url="{base}/inside.wav" type="audio/wav"/>
{transcripts}</item></channel></rss>"""


@pytest.mark.parametrize("allowed", [False, True], ids=["public-only", "private-allowed"])
def test_a_feed_cannot_make_podscope_fetch_inside_the_network(tmp_path: Path, allowed: bool) -> None:
    """A feed (here a local file, as a subscription a hostile publisher controls) whose enclosure and transcripts
    point at this machine, a cloud metadata address and private ranges: nothing is fetched unless the user's
    setting `allow_private_addresses` says so; then the enclosure is fetched (the local server sees it)."""
    Counting.seen = []
    settings = {**SETTINGS, "allow_private_addresses": allowed, "fetch_timeout": 2.0}
    with http_server(Counting) as base, Library(tmp_path / "home", settings=settings) as lib:
        feed = tmp_path / "feed.xml"
        feed.write_text(hostile_feed(base))
        lib.feeds.add(str(feed))
        lib.feeds.sync(retranscribe=allowed)  # public-only: the transcripts are tried first, then the enclosure
        (item,) = lib.store.feeds.items(lib.feeds.list()[0].id)
        if allowed:
            assert Counting.seen == ["/inside.wav"]
        else:
            assert Counting.seen == [] and item.status == "failed"
            assert item.error and "refusing to fetch" in item.error and "private addresses are allowed" in item.error


def test_following_a_feed_inside_the_network_is_refused_over_http(tmp_path: Path) -> None:
    with (
        files_server({"/feed.xml": FEED.encode()}) as base,
        Library(tmp_path / "home", settings=SETTINGS) as lib,
        in_process(lib) as http,
    ):
        for url in (f"{base}/feed.xml", "http://169.254.169.254/feed", "http://[::1]/feed", "file:///etc/passwd"):
            refused = http.post("/api/feeds", json={"url": url})
            assert refused.status_code == 400, (url, refused.text)
        assert lib.feeds.list() == []
