"""Fetching feeds and enclosures against real HTTP servers on loopback.

Every server is a `http.server` in a background thread on port 0; routes are small functions that write the response
by hand, so misbehaviour (dropped connections, endless bodies, lying headers) is exactly what a test says it is.
"""

from __future__ import annotations

import email.utils
import random
import socket
import threading
import time
import tracemalloc
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

import podscope
from podscope.errors import InputError
from podscope.feeds.fetch import MAX_FILENAME_CHARS, FeedResponse, Fetcher, FetchError, safe_filename

RSS = b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Show</title></channel></rss>'
PUBLIC_IP = "93.184.215.14"
PAYLOAD = random.Random(7).randbytes(300_000)


# ----------------------------------------------------------------------------------------------------- test server


@dataclass(frozen=True)
class Seen:
    path: str
    headers: dict[str, str]


Route = Callable[["Handler"], None]


class Handler(BaseHTTPRequestHandler):
    server: Server

    def do_GET(self) -> None:
        self.server.requests.append(Seen(self.path, {k.lower(): v for k, v in self.headers.items()}))
        route = self.server.routes.get(urlsplit(self.path).path)
        try:
            if route is None:
                self.send_error(404)
            else:
                route(self)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def reply(self, status: int = 200, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.routes: dict[str, Route] = {}
        self.requests: list[Seen] = []

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def hits(self, path: str) -> list[Seen]:
        return [r for r in self.requests if urlsplit(r.path).path == path]


@pytest.fixture
def server() -> Iterator[Server]:
    srv = Server()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()
    thread.join(5)


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def make_fetcher(sleeps: list[float]) -> Iterator[Callable[..., Fetcher]]:
    made: list[Fetcher] = []

    def make(**kwargs: Any) -> Fetcher:
        kwargs.setdefault("allow_private", True)
        kwargs.setdefault("sleep", sleeps.append)
        kwargs.setdefault("timeout", 5.0)
        fetcher = Fetcher(**kwargs)
        made.append(fetcher)
        return fetcher

    yield make
    for fetcher in made:
        fetcher.close()


def feed_route(body: bytes = RSS, content_type: str | None = "application/rss+xml") -> Route:
    def route(h: Handler) -> None:
        h.reply(200, body, {"Content-Type": content_type} if content_type else {})

    return route


def redirect_route(status: int, location: str) -> Route:
    return lambda h: h.reply(status, b"", {"Location": location})


def sequence_route(*routes: Route) -> Route:
    """The n-th request gets the n-th route; later requests get the last one."""
    count = [0]

    def route(h: Handler) -> None:
        count[0] += 1
        routes[min(count[0], len(routes)) - 1](h)

    return route


def endless_route(content_type: str, sent: list[int], done: threading.Event, length: str | None = None) -> Route:
    """Streams zeros until the client goes away (or 1 GB, so a broken client cannot hang the test run)."""

    def route(h: Handler) -> None:
        chunk = b"\0" * 65536
        try:
            h.send_response(200)
            h.send_header("Content-Type", content_type)
            if length is not None:
                h.send_header("Content-Length", length)
            h.end_headers()
            while sent[0] < 1_000_000_000:
                h.wfile.write(chunk)
                sent[0] += len(chunk)
        finally:
            done.set()

    return route


def media_route(payload: bytes = PAYLOAD, *, drop_first_after: int | None = None, honour_range: bool = True) -> Route:
    """Serves `payload` as audio/mpeg with Range support; optionally breaks off the first response."""
    state = {"n": 0}

    def route(h: Handler) -> None:
        state["n"] += 1
        wanted = h.headers.get("Range")
        if wanted and honour_range:
            start = int(wanted.removeprefix("bytes=").split("-")[0])
            if start >= len(payload):
                h.reply(416, b"", {"Content-Range": f"bytes */{len(payload)}"})
                return
            body = payload[start:]
            h.send_response(206)
            h.send_header("Content-Range", f"bytes {start}-{len(payload) - 1}/{len(payload)}")
        else:
            body = payload
            h.send_response(200)
        h.send_header("Content-Type", "audio/mpeg")
        h.send_header("Content-Length", str(len(body)))
        h.send_header("ETag", '"ep1"')
        h.end_headers()
        if state["n"] == 1 and drop_first_after is not None:
            h.wfile.write(body[:drop_first_after])
            h.wfile.flush()
            h.close_connection = True
            return
        h.wfile.write(body)

    return route


# --------------------------------------------------------------------------------------------------- feeds: basics


def test_feed_is_fetched_with_podscope_user_agent(server: Server, make_fetcher: Callable[..., Fetcher]) -> None:
    server.routes["/feed"] = feed_route()
    resp = make_fetcher().fetch_feed(server.url("/feed"))
    assert resp == FeedResponse(200, RSS, None, None, server.url("/feed"), None, "application/rss+xml")
    ua = server.hits("/feed")[0].headers["user-agent"]
    assert ua.startswith(f"podscope/{podscope.__version__}")


def test_conditional_get_with_etag_gives_304(server: Server, make_fetcher: Callable[..., Fetcher]) -> None:
    def route(h: Handler) -> None:
        if h.headers.get("If-None-Match") == '"v1"':
            h.reply(304, b"", {"ETag": '"v1"'})
        else:
            h.reply(200, RSS, {"Content-Type": "application/rss+xml", "ETag": '"v1"'})

    server.routes["/feed"] = route
    fetcher = make_fetcher()
    first = fetcher.fetch_feed(server.url("/feed"))
    assert (first.status, first.content, first.etag) == (200, RSS, '"v1"')
    second = fetcher.fetch_feed(server.url("/feed"), etag=first.etag)
    assert (second.status, second.content, second.etag, second.not_modified) == (304, b"", '"v1"', True)
    assert server.hits("/feed")[1].headers["if-none-match"] == '"v1"'


def test_conditional_get_with_last_modified_gives_304(server: Server, make_fetcher: Callable[..., Fetcher]) -> None:
    stamp = "Wed, 01 May 2024 10:00:00 GMT"

    def route(h: Handler) -> None:
        if h.headers.get("If-Modified-Since") == stamp:
            h.reply(304)  # no validators repeated: the ones we sent must come back
        else:
            h.reply(200, RSS, {"Content-Type": "text/xml", "Last-Modified": stamp})

    server.routes["/feed"] = route
    fetcher = make_fetcher()
    first = fetcher.fetch_feed(server.url("/feed"))
    assert (first.status, first.last_modified, first.etag) == (200, stamp, None)
    second = fetcher.fetch_feed(server.url("/feed"), last_modified=first.last_modified)
    assert (second.status, second.content, second.last_modified) == (304, b"", stamp)


# ------------------------------------------------------------------------------------------------------- redirects


@pytest.mark.parametrize("status", [301, 308])
def test_permanent_redirect_is_reported_as_moved(
    server: Server, make_fetcher: Callable[..., Fetcher], status: int
) -> None:
    server.routes["/old"] = redirect_route(status, "/new")
    server.routes["/new"] = feed_route()
    resp = make_fetcher().fetch_feed(server.url("/old"))
    assert (resp.status, resp.content) == (200, RSS)
    assert resp.moved_to == resp.final_url == server.url("/new")


@pytest.mark.parametrize("status", [302, 303, 307])
def test_temporary_redirect_is_followed_but_not_recorded(
    server: Server, make_fetcher: Callable[..., Fetcher], status: int
) -> None:
    server.routes["/old"] = redirect_route(status, server.url("/new"))
    server.routes["/new"] = feed_route()
    resp = make_fetcher().fetch_feed(server.url("/old"))
    assert (resp.final_url, resp.moved_to, resp.content) == (server.url("/new"), None, RSS)


def test_moved_to_stops_at_the_first_temporary_redirect(server: Server, make_fetcher: Callable[..., Fetcher]) -> None:
    server.routes["/a"] = redirect_route(301, "/b")
    server.routes["/b"] = redirect_route(302, "/c")
    server.routes["/c"] = redirect_route(301, "/d")
    server.routes["/d"] = feed_route()
    resp = make_fetcher().fetch_feed(server.url("/a"))
    assert (resp.moved_to, resp.final_url) == (server.url("/b"), server.url("/d"))


def test_redirect_loop_is_refused(server: Server, make_fetcher: Callable[..., Fetcher]) -> None:
    server.routes["/a"] = redirect_route(302, "/b")
    server.routes["/b"] = redirect_route(301, "/a")
    with pytest.raises(FetchError, match="redirect loop"):
        make_fetcher().fetch_feed(server.url("/a"))
    assert len(server.requests) == 2


def test_too_many_redirects_are_refused(server: Server, make_fetcher: Callable[..., Fetcher]) -> None:
    for i in range(6):
        server.routes[f"/r{i}"] = redirect_route(302, f"/r{i + 1}")
    server.routes["/r6"] = feed_route()
    fetcher = make_fetcher(max_redirects=3)
    assert fetcher.fetch_feed(server.url("/r3")).content == RSS  # exactly 3 hops is fine
    server.requests.clear()
    with pytest.raises(FetchError, match="more than 3 redirects"):
        fetcher.fetch_feed(server.url("/r2"))
    assert len(server.requests) == 4


def test_redirect_without_location_is_an_error(server: Server, make_fetcher: Callable[..., Fetcher]) -> None:
    server.routes["/a"] = lambda h: h.reply(302)
    with pytest.raises(FetchError, match="without a Location"):
        make_fetcher().fetch_feed(server.url("/a"))


# --------------------------------------------------------------------------------------------------------- retries


def test_503_is_retried_with_exponential_backoff(
    server: Server, make_fetcher: Callable[..., Fetcher], sleeps: list[float]
) -> None:
    unavailable: Route = lambda h: h.reply(503, b"busy")  # noqa: E731
    server.routes["/feed"] = sequence_route(unavailable, unavailable, feed_route())
    resp = make_fetcher(backoff=0.5).fetch_feed(server.url("/feed"))
    assert resp.content == RSS
    assert len(server.hits("/feed")) == 3
    assert sleeps == [0.5, 1.0]


def test_persistent_5xx_gives_up_after_the_retries(
    server: Server, make_fetcher: Callable[..., Fetcher], sleeps: list[float]
) -> None:
    server.routes["/feed"] = lambda h: h.reply(502, b"")
    with pytest.raises(FetchError, match=r"502 Bad Gateway \(tried 3 times\)"):
        make_fetcher(retries=2).fetch_feed(server.url("/feed"))
    assert len(server.hits("/feed")) == 3
    assert sleeps == [0.5, 1.0]


@pytest.mark.parametrize(
    ("header", "cap", "low", "high"),
    [
        ("7", 60.0, 7.0, 7.0),
        ("3600", 30.0, 30.0, 30.0),  # capped
        ("date+120", 600.0, 100.0, 121.0),  # an HTTP date two minutes ahead
    ],
)
def test_retry_after_is_honoured_up_to_a_cap(
    server: Server,
    make_fetcher: Callable[..., Fetcher],
    sleeps: list[float],
    header: str,
    cap: float,
    low: float,
    high: float,
) -> None:
    if header.startswith("date+"):
        header = email.utils.formatdate(time.time() + int(header[5:]), usegmt=True)
    server.routes["/feed"] = sequence_route(lambda h: h.reply(429, b"", {"Retry-After": header}), feed_route())
    assert make_fetcher(max_retry_after=cap).fetch_feed(server.url("/feed")).content == RSS
    assert len(sleeps) == 1 and low <= sleeps[0] <= high


def test_404_is_not_retried_and_says_so(
    server: Server, make_fetcher: Callable[..., Fetcher], sleeps: list[float]
) -> None:
    url = server.url("/missing")
    with pytest.raises(FetchError) as info:
        make_fetcher().fetch_feed(url)
    assert str(info.value) == f"cannot fetch {url}: the server answered 404 Not Found; check the URL"
    assert isinstance(info.value, InputError)
    assert len(server.requests) == 1 and sleeps == []


def test_connection_refused_is_retried_then_reported(make_fetcher: Callable[..., Fetcher], sleeps: list[float]) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(FetchError, match=r"cannot connect .*\(tried 4 times\)"):
        make_fetcher(retries=3, backoff=0.5).fetch_feed(f"http://127.0.0.1:{port}/feed")
    assert sleeps == [0.5, 1.0, 2.0]


def test_timeout_is_retried(server: Server, make_fetcher: Callable[..., Fetcher], sleeps: list[float]) -> None:
    def slow(h: Handler) -> None:
        time.sleep(1.0)
        h.reply(200, RSS)

    server.routes["/feed"] = sequence_route(slow, feed_route())
    resp = make_fetcher(timeout=0.3).fetch_feed(server.url("/feed"))
    assert resp.content == RSS
    assert len(server.hits("/feed")) == 2 and len(sleeps) == 1


# ---------------------------------------------------------------------------------------------- feeds: size, types


def test_endless_feed_is_cut_at_the_cap_quickly_with_little_memory(
    server: Server, make_fetcher: Callable[..., Fetcher]
) -> None:
    sent, done = [0], threading.Event()
    server.routes["/huge"] = endless_route("application/rss+xml", sent, done)
    fetcher = make_fetcher(max_feed_bytes=2_000_000)
    start = time.monotonic()
    tracemalloc.start()
    try:
        with pytest.raises(FetchError, match="larger than the 2 MB limit"):
            fetcher.fetch_feed(server.url("/huge"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.monotonic() - start < 5
    assert peak < 12_000_000
    assert done.wait(5), "the server kept streaming after the client gave up"
    assert sent[0] < 50_000_000


def test_feed_claiming_1_gb_is_refused_before_reading(server: Server, make_fetcher: Callable[..., Fetcher]) -> None:
    sent, done = [0], threading.Event()
    server.routes["/huge"] = endless_route("application/rss+xml", sent, done, length=str(10**9))
    with pytest.raises(FetchError, match=r"the feed is 1 GB, more than the 20 MB limit"):
        make_fetcher().fetch_feed(server.url("/huge"))
    assert done.wait(5)
    assert sent[0] < 50_000_000


@pytest.mark.parametrize(
    ("content_type", "message"),
    [
        ("audio/mpeg", "audio/mpeg, an audio or video file"),
        ("video/mp4", "video/mp4, an audio or video file"),
        ("image/png", "not a feed: the server says it is image/png"),
        ("application/pdf", "not a feed: the server says it is application/pdf"),
    ],
)
def test_obvious_non_feeds_are_refused(
    server: Server, make_fetcher: Callable[..., Fetcher], content_type: str, message: str
) -> None:
    server.routes["/x"] = feed_route(b"\xff\xfb\x90\x00" * 100, content_type)
    with pytest.raises(FetchError, match=message):
        make_fetcher().fetch_feed(server.url("/x"))


def test_web_page_is_refused_with_a_hint(server: Server, make_fetcher: Callable[..., Fetcher]) -> None:
    page = b"<!DOCTYPE html><html><head><title>My Show</title></head><body>Listen!</body></html>"
    server.routes["/show"] = feed_route(page, "text/html; charset=utf-8")
    with pytest.raises(FetchError, match=r"is a web page \(text/html\), not a feed; .* RSS feed link"):
        make_fetcher().fetch_feed(server.url("/show"))


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/rss+xml; charset=utf-8", RSS),
        ("application/atom+xml", b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"/>'),
        ("application/xml", RSS),
        ("text/xml", RSS),
        ("text/plain", RSS),
        ("application/octet-stream", RSS),
        (None, RSS),
        ("text/html", b"\xef\xbb\xbf\n  " + RSS),  # misconfigured server: RSS labelled as html
    ],
)
def test_feed_types_are_accepted(
    server: Server, make_fetcher: Callable[..., Fetcher], content_type: str | None, body: bytes
) -> None:
    server.routes["/feed"] = feed_route(body, content_type)
    resp = make_fetcher().fetch_feed(server.url("/feed"))
    assert resp.content == body
    assert resp.content_type == (content_type.split(";")[0] if content_type else None)


def test_fetch_text_follows_redirects_and_refuses_media(server: Server, make_fetcher: Callable[..., Fetcher]) -> None:
    srt = b"1\n00:00:00,000 --> 00:00:01,000\nHello\n"
    server.routes["/t.srt"] = redirect_route(302, "/files/t.srt")
    server.routes["/files/t.srt"] = feed_route(srt, "application/x-subrip")
    server.routes["/t.mp3"] = feed_route(b"\xff\xfb", "audio/mpeg")
    fetcher = make_fetcher(max_feed_bytes=1000)
    assert fetcher.fetch_text(server.url("/t.srt")) == srt
    with pytest.raises(FetchError, match="not a text document: the server says it is audio/mpeg"):
        fetcher.fetch_text(server.url("/t.mp3"))
    server.routes["/big.vtt"] = feed_route(b"WEBVTT\n" + b"x" * 2000, "text/vtt")
    with pytest.raises(FetchError, match=r"the document is 2\.01 kB, more than the 1 kB limit"):
        fetcher.fetch_text(server.url("/big.vtt"))


# ------------------------------------------------------------------------------------------------------- downloads


def test_download_streams_to_dest_and_reports_progress(
    server: Server, make_fetcher: Callable[..., Fetcher], tmp_path: Path
) -> None:
    server.routes["/ep.mp3"] = media_route()
    progress: list[tuple[int, int | None]] = []
    dest = tmp_path / "shows" / "ep.mp3"
    assert make_fetcher().download(server.url("/ep.mp3"), dest, hook=lambda d, t: progress.append((d, t))) == dest
    assert dest.read_bytes() == PAYLOAD
    assert not dest.with_suffix(".mp3.part").exists()
    assert progress[0] == (0, len(PAYLOAD)) and progress[-1] == (len(PAYLOAD), len(PAYLOAD))
    assert [d for d, _ in progress] == sorted(d for d, _ in progress)
    assert server.hits("/ep.mp3")[0].headers.get("accept-encoding") == "identity"


def test_download_resumes_after_a_dropped_connection_in_one_call(
    server: Server, make_fetcher: Callable[..., Fetcher], tmp_path: Path, sleeps: list[float]
) -> None:
    server.routes["/ep.mp3"] = media_route(drop_first_after=100_000)
    dest = tmp_path / "ep.mp3"
    make_fetcher().download(server.url("/ep.mp3"), dest)
    assert dest.read_bytes() == PAYLOAD
    first, second = server.hits("/ep.mp3")
    assert "range" not in first.headers
    assert second.headers["range"] == "bytes=100000-"
    assert second.headers["if-range"] == '"ep1"'
    assert len(sleeps) == 1


def test_interrupted_download_keeps_the_part_and_a_later_call_resumes(
    server: Server, make_fetcher: Callable[..., Fetcher], tmp_path: Path
) -> None:
    server.routes["/ep.mp3"] = media_route(drop_first_after=120_000)
    dest = tmp_path / "ep.mp3"
    part = tmp_path / "ep.mp3.part"
    with pytest.raises(FetchError, match="broke off"):
        make_fetcher(retries=0).download(server.url("/ep.mp3"), dest)
    assert not dest.exists()
    assert part.read_bytes() == PAYLOAD[:120_000]

    make_fetcher(retries=0).download(server.url("/ep.mp3"), dest)
    assert dest.read_bytes() == PAYLOAD and not part.exists()
    assert server.hits("/ep.mp3")[1].headers["range"] == "bytes=120000-"


def test_server_ignoring_range_restarts_cleanly(
    server: Server, make_fetcher: Callable[..., Fetcher], tmp_path: Path
) -> None:
    server.routes["/ep.mp3"] = media_route(honour_range=False)
    dest = tmp_path / "ep.mp3"
    (tmp_path / "ep.mp3.part").write_bytes(b"stale bytes from another attempt" * 100)
    make_fetcher().download(server.url("/ep.mp3"), dest)
    assert dest.read_bytes() == PAYLOAD
    assert server.hits("/ep.mp3")[0].headers["range"] == "bytes=3200-"


def test_complete_part_file_is_finished_on_416(
    server: Server, make_fetcher: Callable[..., Fetcher], tmp_path: Path
) -> None:
    server.routes["/ep.mp3"] = media_route()
    dest = tmp_path / "ep.mp3"
    (tmp_path / "ep.mp3.part").write_bytes(PAYLOAD)
    make_fetcher().download(server.url("/ep.mp3"), dest)
    assert dest.read_bytes() == PAYLOAD
    assert len(server.requests) == 1


def test_part_file_longer_than_the_episode_starts_over(
    server: Server, make_fetcher: Callable[..., Fetcher], tmp_path: Path
) -> None:
    server.routes["/ep.mp3"] = media_route()
    dest = tmp_path / "ep.mp3"
    (tmp_path / "ep.mp3.part").write_bytes(PAYLOAD + b"junk")
    make_fetcher().download(server.url("/ep.mp3"), dest)
    assert dest.read_bytes() == PAYLOAD
    assert [r.headers.get("range") for r in server.requests] == [f"bytes={len(PAYLOAD) + 4}-", None]


def test_endless_enclosure_is_cut_at_the_cap_and_the_part_removed(
    server: Server, make_fetcher: Callable[..., Fetcher], tmp_path: Path
) -> None:
    sent, done = [0], threading.Event()
    server.routes["/live.mp3"] = endless_route("audio/mpeg", sent, done)
    dest = tmp_path / "live.mp3"
    start = time.monotonic()
    with pytest.raises(FetchError, match=r"went past the 1 MB limit without ending; .* removed the partial file"):
        make_fetcher(max_enclosure_bytes=1_000_000).download(server.url("/live.mp3"), dest)
    assert time.monotonic() - start < 5
    assert not dest.exists() and not (tmp_path / "live.mp3.part").exists()
    assert list(tmp_path.iterdir()) == []
    assert done.wait(5)


def test_enclosure_declared_over_the_cap_is_refused_before_reading(
    server: Server, make_fetcher: Callable[..., Fetcher], tmp_path: Path
) -> None:
    server.routes["/ep.mp3"] = media_route()
    with pytest.raises(FetchError, match=r"the file is 300 kB, more than the 100 kB limit"):
        make_fetcher(max_enclosure_bytes=100_000).download(server.url("/ep.mp3"), tmp_path / "ep.mp3")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("content_type", "message"),
    [("text/html", "sent a web page .* need a login"), ("application/json", "sent application/json, not audio")],
)
def test_enclosure_with_wrong_type_is_refused(
    server: Server, make_fetcher: Callable[..., Fetcher], tmp_path: Path, content_type: str, message: str
) -> None:
    server.routes["/ep.mp3"] = feed_route(b"<html>Please log in</html>", content_type)
    with pytest.raises(FetchError, match=message):
        make_fetcher().download(server.url("/ep.mp3"), tmp_path / "ep.mp3")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("content_type", ["video/mp4", "application/octet-stream", "application/ogg", None])
def test_enclosure_types_are_accepted(
    server: Server, make_fetcher: Callable[..., Fetcher], tmp_path: Path, content_type: str | None
) -> None:
    server.routes["/ep"] = feed_route(PAYLOAD[:5000], content_type)
    assert make_fetcher().download(server.url("/ep"), tmp_path / "ep").read_bytes() == PAYLOAD[:5000]


# -------------------------------------------------------------------------------------------------- address safety


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:{port}/feed", "127.0.0.1 is a loopback address"),
        ("http://localhost:{port}/feed", "localhost resolves to .*, a loopback address"),
        ("http://[::1]:{port}/feed", "::1 is a loopback address"),
        ("http://[::ffff:127.0.0.1]:{port}/feed", "::ffff:127.0.0.1 is a loopback address"),
        ("http://2130706433:{port}/feed", "2130706433 resolves to 127.0.0.1, a loopback address"),
        ("http://10.1.2.3/feed", "10.1.2.3 is a private address"),
        ("http://192.168.0.1/feed", "192.168.0.1 is a private address"),
        ("https://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
        ("http://0.0.0.0:{port}/feed", "0.0.0.0 is an unspecified address"),
        ("http://224.0.0.1/feed", "224.0.0.1 is a multicast address"),
        ("http://100.64.0.1/feed", "100.64.0.1 is a non-public address"),
    ],
)
def test_private_addresses_are_refused(
    server: Server, make_fetcher: Callable[..., Fetcher], tmp_path: Path, url: str, reason: str
) -> None:
    server.routes["/feed"] = feed_route()
    url = url.format(port=server.port)
    fetcher = make_fetcher(allow_private=False)
    with pytest.raises(FetchError, match=f"refusing to fetch {url.replace('[', '.').replace(']', '.')}: {reason}"):
        fetcher.fetch_feed(url)
    with pytest.raises(FetchError, match=reason):
        fetcher.download(url, tmp_path / "ep.mp3")
    assert server.requests == []


def test_redirect_to_a_private_address_is_refused(
    server: Server, make_fetcher: Callable[..., Fetcher], monkeypatch: pytest.MonkeyPatch
) -> None:
    """public.test resolves to a public address and redirects into the machine; that hop must not be fetched.

    The first hop is answered in-process (its name cannot reach a loopback server once connections are checked);
    every other request goes to the network for real, so a missing check would fetch the loopback feed.
    """
    server.routes["/feed"] = feed_route()
    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "public.test":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (PUBLIC_IP, port))]
        return real_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    public_hits: list[str] = []
    with httpx.HTTPTransport() as network:

        def handle(request: httpx.Request) -> httpx.Response:
            if request.url.host == "public.test":
                public_hits.append(str(request.url))
                return httpx.Response(302, headers={"Location": server.url("/feed")})
            return network.handle_request(request)

        fetcher = make_fetcher(allow_private=False, transport=httpx.MockTransport(handle))
        with pytest.raises(FetchError, match=rf"refusing to fetch {server.url('/feed')}: 127.0.0.1 is a loopback"):
            fetcher.fetch_feed("http://public.test/feed")
    assert public_hits == ["http://public.test/feed"]
    assert server.requests == []


def test_dns_rebinding_is_refused_at_connect_time(
    server: Server, make_fetcher: Callable[..., Fetcher], monkeypatch: pytest.MonkeyPatch
) -> None:
    """rebind.test answers the check with a public address and the connection with loopback."""
    server.routes["/feed"] = feed_route()
    real_getaddrinfo = socket.getaddrinfo
    lookups: list[str] = []

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "rebind.test":
            lookups.append(host)
            ip = PUBLIC_IP if len(lookups) == 1 else "127.0.0.1"
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port))]
        return real_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    with pytest.raises(FetchError, match=r"rebind.test connected to 127.0.0.1, a loopback address"):
        make_fetcher(allow_private=False).fetch_feed(f"http://rebind.test:{server.port}/feed")
    assert len(lookups) == 2
    assert server.requests == []


@pytest.mark.parametrize(
    "url",
    ["file:///etc/passwd", "ftp://example.com/feed.xml", "data:text/xml,<rss/>", "gopher://example.com/1", "x.com/f"],
)
@pytest.mark.parametrize("allow_private", [False, True])
def test_non_http_schemes_are_always_refused(
    make_fetcher: Callable[..., Fetcher], tmp_path: Path, url: str, allow_private: bool
) -> None:
    fetcher = make_fetcher(allow_private=allow_private)
    with pytest.raises(FetchError, match=r"only http:// and https:// URLs are fetched"):
        fetcher.fetch_feed(url)
    with pytest.raises(FetchError, match=r"only http:// and https:// URLs are fetched"):
        fetcher.download(url, tmp_path / "ep.mp3")


def test_redirect_to_a_file_url_is_refused(server: Server, make_fetcher: Callable[..., Fetcher]) -> None:
    server.routes["/feed"] = redirect_route(302, "file:///etc/passwd")
    with pytest.raises(FetchError, match=r"refusing to fetch file:/+etc/passwd: .* a file: URL"):
        make_fetcher().fetch_feed(server.url("/feed"))


# --------------------------------------------------------------------------------------------------- safe_filename

URL = "https://cdn.example.com/show/episode-1.mp3"
HOSTILE_TITLES = [
    "../../etc/passwd",
    "..",
    ".",
    "/abs/path",
    "C:\\Windows\\system32",
    "CON",
    "nul.txt",
    "com1",
    "LPT9.tar.gz",
    "x" * 10_000,
    "播客" * 500,
    "",
    "   \t\n ",
    ".hidden",
    "-rf",
    "a\x00b\x1fc\x7fd\u202egpj.exe",
    'what? "quotes" <tags> | pipes * stars: colons',
    "So... and then.",
]


@pytest.mark.parametrize("title", HOSTILE_TITLES)
def test_safe_filename_cannot_escape_its_folder(tmp_path: Path, title: str) -> None:
    name = safe_filename(title, URL)
    assert "/" not in name and "\\" not in name and ".." not in name
    assert not name.startswith((".", "-", " "))
    assert len(name) <= MAX_FILENAME_CHARS and len(name.encode()) <= 255
    assert all(unicodedata.category(ch)[0] not in "CZ" or ch == " " for ch in name)
    assert unicodedata.is_normalized("NFC", name)
    assert name.split(".")[0].lower() not in {"con", "prn", "aux", "nul", "com1", "lpt9"}
    assert name.endswith(".mp3")
    path = tmp_path / name
    path.write_bytes(b"ok")
    assert path.resolve().parent == tmp_path.resolve()
    assert safe_filename(title, URL) == name


def test_safe_filename_examples() -> None:
    digest = safe_filename("x", URL).removeprefix("x-").removesuffix(".mp3")
    assert len(digest) == 10
    assert safe_filename("../../etc/passwd", URL) == f"etc passwd-{digest}.mp3"
    assert safe_filename("..", URL) == f"episode-{digest}.mp3"
    assert safe_filename("", URL) == f"episode-{digest}.mp3"
    assert safe_filename("/abs/path", URL) == f"abs path-{digest}.mp3"
    assert safe_filename("CON", URL) == f"_CON-{digest}.mp3"
    assert safe_filename("Cafe\u0301 \u2615 Épisode 3", URL) == f"Café \u2615 Épisode 3-{digest}.mp3"


def test_safe_filename_keeps_same_titles_apart_and_takes_the_extension_from_the_url() -> None:
    a = safe_filename("Bonus", "https://cdn.example.com/a/bonus.m4a?token=1")
    b = safe_filename("Bonus", "https://cdn.example.com/b/bonus.M4A")
    assert a != b and a.endswith(".m4a") and b.endswith(".m4a")
    assert safe_filename("Ep", "https://example.com/play.php?id=3").endswith(".mp3")
    assert safe_filename("Ep", "https://example.com/watch", default_ext=".mp4").endswith(".mp4")
    assert safe_filename("Ep", "https://example.com/watch", default_ext="../../x/y").endswith(".xy")


@pytest.mark.parametrize(
    ("url", "ext"),
    [
        ("https://cdn.test/a/%2e%2e%2f%2e%2e%2fetc%2fpasswd", ".mp3"),
        ("https://cdn.test/%2e%2e%2f%2e%2e%2fshow.ogg", ".ogg"),
        ("https://cdn.test/ep.mp3%2f..%2f..%2fevil.sh", ".mp3"),
    ],
)
def test_safe_filename_ignores_encoded_traversal_in_the_url(tmp_path: Path, url: str, ext: str) -> None:
    name = safe_filename("Episode %2e%2e%2f 1", url)
    assert name.endswith(ext) and name.count(".") == 1
    assert "/" not in name and ".." not in name
    assert (tmp_path / name).resolve().parent == tmp_path.resolve()
