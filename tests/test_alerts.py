"""Saved searches and alerts, on both backends: real libraries imported from the transcripts in tests/data, real
MiniLM vectors, a real webhook receiver on loopback that checks signatures with the `standardwebhooks` package (an
independent implementation of the specification), real `podscope` processes killed with SIGKILL, and the feed read by
podscope's own feed parser and by `feedparser`."""

from __future__ import annotations

import http.server
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import feedparser
import pytest
from standardwebhooks.webhooks import Webhook

from helpers import DATA, HEAVY_ON_POSTGRES, ON_POSTGRES_ONLY, cli, copy_library, http_server, in_process, use_store
from podscope.feeds.parse import parse_feed
from podscope.library import Library

TRANSCRIPTS = DATA / "transcripts"
# The three transcripts and what each says: the WebVTT (Sarah, on podcast trailers), the SRT (Travis, on rookie
# mistakes), the JSON (Darth Vader and Luke).
VTT = (TRANSCRIPTS / "example.vtt", "Podcasting Q&A", "Do you need a podcast trailer?")
SRT = (TRANSCRIPTS / "example.srt", "Buzzcast", "10 things we wish we knew")
JSON = (TRANSCRIPTS / "example.json", "Buzzcast", "Cold open")
FAST = {"allow_private_addresses": True, "webhook_retry_seconds": 0.05, "fetch_timeout": 2.0}


@pytest.fixture(scope="module")
def models_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home whose exported sentence model every test's home shares (exported once, by a first import)."""
    home = tmp_path_factory.mktemp("models") / "home"
    with Library(home) as lib:
        lib.import_transcript(JSON[0], podcast=JSON[1], title=JSON[2])
    return home


@pytest.fixture()
def new_home(tmp_path: Path, store_url: str, models_home: Path) -> Callable[..., Path]:
    made = iter(range(100))

    def make() -> Path:
        return use_store(tmp_path / f"home{next(made)}", store_url, models_of=models_home)

    return make


def open_lib(home: Path, **settings: Any) -> Library:
    return Library(home, settings={**FAST, **settings})


def add(lib: Library, episode: tuple[Path, str, str]) -> int:
    path, podcast, title = episode
    return lib.import_transcript(path, podcast=podcast, title=title).episode.id


class Receiver:
    """A webhook endpoint on loopback: answers with the statuses given (then 200), keeps every request, and checks
    each signature with `standardwebhooks` once the secret is known."""

    def __init__(self, statuses: list[int] | None = None, hold: threading.Event | None = None):
        self.statuses = list(statuses or [])
        self.requests: list[dict[str, Any]] = []
        self.secret: str | None = None
        self.hold = hold  # while set to wait, the first request is not answered
        self.arrived = threading.Event()

    def verified(self) -> list[dict[str, Any]]:
        """The bodies of the requests answered 2xx, each checked by standardwebhooks (raises if one is forged)."""
        assert self.secret is not None
        hook = Webhook(self.secret)
        return [hook.verify(r["body"], r["headers"]) for r in self.requests if 200 <= r["status"] < 300]

    @contextmanager
    def serving(self) -> Iterator[str]:
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                receiver.requests.append({"headers": dict(self.headers.items()), "body": body, "status": status})
                receiver.arrived.set()
                if receiver.hold is not None:
                    receiver.hold.wait(30)
                    receiver.hold = None
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        with http_server(Handler) as base:
            yield f"{base}/hook"


def deliver_until(lib: Library, done: Callable[[], bool], seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, "the outbox did not get there in time"
        lib.alerts.deliver()
        time.sleep(0.02)


def test_one_signed_event_per_match_with_hits_and_deep_links(new_home: Callable[[], Path]) -> None:
    receiver = Receiver()
    with receiver.serving() as url, open_lib(new_home()) as lib:
        trailer = lib.alerts.add('"podcast trailer"', webhook=url, name="trailers")
        receiver.secret = trailer.secret
        assert trailer.secret and trailer.secret.startswith("whsec_")
        assert lib.alerts.get(trailer.alert.id).secret is None  # shown once
        elsewhere = lib.alerts.add("trailer", podcast="Buzzcast", webhook=url)  # the word, in the other podcast only
        lib.alerts.add("lightsaber", webhook=url)  # nowhere
        feed_only = lib.alerts.add("rookie OR trailer")
        vtt, srt = add(lib, VTT), add(lib, SRT)
        add(lib, VTT)  # the same transcript again: nothing new is stored, nothing fires
        deliver_until(lib, lambda: len(receiver.requests) >= 1)
        lib.alerts.deliver()
        bodies = receiver.verified()
        assert [b["data"]["alert"]["id"] for b in bodies] == [trailer.alert.id]  # one event, one delivery
        data = bodies[0]["data"]
        assert data["episode"]["id"] == vtt and data["reason"] == "episode" and bodies[0]["type"] == "alert.match"
        assert data["hits"] and all("podcast trailer" in h["text"].lower() for h in data["hits"])
        hit = data["hits"][0]
        assert hit["speaker"] == "Sarah" and hit["link"].endswith(f"/episodes/{vtt}#t={hit['start']:.2f}")
        assert data["total_hits"] == len(data["hits"])
        assert lib.alerts.events(elsewhere.alert.id) == []
        assert {e.episode_id for e in lib.alerts.events(feed_only.alert.id)} == {vtt, srt}  # one event per episode
        ((delivery, attempts),) = lib.alerts.deliveries(trailer.alert.id)
        assert delivery.status == "delivered" and [a.status_code for a in attempts] == [200]
        assert receiver.requests[0]["headers"]["webhook-id"] == delivery.message_id


def test_a_deleted_episode_takes_its_alert_hits_with_it(new_home: Callable[[], Path]) -> None:
    with open_lib(new_home()) as lib:
        alert = lib.alerts.add("trailer").alert
        first = add(lib, VTT)
        lib.alerts.deliver()
        assert [e.episode_id for e in lib.alerts.events(alert.id)] == [first]
        lib.delete_episode(first)
        assert lib.check().ok
        again = add(lib, VTT)  # stored again: on SQLite its segments take the freed ids
        lib.alerts.deliver()
        assert sorted(e.episode_id for e in lib.alerts.events(alert.id)) == sorted([first, again])


def test_failed_deliveries_are_retried_with_backoff_under_one_id(new_home: Callable[[], Path]) -> None:
    receiver = Receiver(statuses=[500, 503])
    with receiver.serving() as url, open_lib(new_home()) as lib:
        receiver.secret = lib.alerts.add("trailer", webhook=url).secret
        add(lib, VTT)
        lib.alerts.deliver()
        ((waiting, _),) = lib.alerts.deliveries(1)
        assert waiting.status == "pending" and waiting.attempts == 1  # retried by a later run, after a backoff
        deliver_until(lib, lambda: lib.alerts.deliveries(1)[0][0].status == "delivered")
        ((delivery, attempts),) = lib.alerts.deliveries(1)
        assert [a.status_code for a in attempts] == [500, 503, 200]
        assert "answered 500" in (attempts[0].error or "")
        assert {r["headers"]["webhook-id"] for r in receiver.requests} == {delivery.message_id}
        assert len(receiver.verified()) == 1


def test_private_addresses_are_refused_unless_allowed(new_home: Callable[[], Path]) -> None:
    receiver = Receiver()
    with receiver.serving() as url, open_lib(new_home(), allow_private_addresses=False) as lib:
        lib.alerts.add("trailer", webhook=url)
        add(lib, VTT)
        report = lib.alerts.deliver()
        assert report.delivered == 0 and report.failed == 1
        assert receiver.requests == []
        ((delivery, attempts),) = lib.alerts.deliveries(1)
        assert delivery.status == "pending" and "loopback address" in (attempts[0].error or "")


def test_an_endpoint_that_keeps_failing_is_disabled_with_the_reason(new_home: Callable[[], Path]) -> None:
    receiver = Receiver(statuses=[500] * 100)
    with receiver.serving() as url, open_lib(new_home(), webhook_disable_after=3, webhook_retry_seconds=0.01) as lib:
        lib.alerts.add("trailer OR rookie", webhook=url)
        add(lib, VTT)
        add(lib, SRT)
        deliver_until(lib, lambda: lib.alerts.get(1).webhook_disabled)
        alert = lib.alerts.get(1)
        assert "3 deliveries in a row failed" in (alert.disabled_reason or "") and "500" in (
            alert.disabled_reason or ""
        )
        sent = len(receiver.requests)
        assert sent == 3
        time.sleep(0.1)
        assert lib.alerts.deliver().failed == 0 and len(receiver.requests) == sent  # nothing more goes out
        assert all(d.status == "pending" for d, _ in lib.alerts.deliveries(1))  # kept, for when it is enabled
        receiver.statuses.clear()
        receiver.secret = None
        lib.alerts.enable(1)
        deliver_until(lib, lambda: all(d.status == "delivered" for d, _ in lib.alerts.deliveries(1)))


def test_a_speaker_named_later_fires_once(new_home: Callable[[], Path]) -> None:
    with open_lib(new_home()) as lib:
        vtt = add(lib, VTT)
        alert = lib.alerts.add("trailer", speaker="Sarah Host").alert
        assert lib.alerts.events(alert.id) == []  # the speaker is "Sarah", not yet Sarah Host
        lib.people.assign(vtt, "Sarah", "Sarah Host")
        lib.alerts.scan()
        (event,) = lib.alerts.events(alert.id)
        assert event.reason == "attribution" and event.episode_id == vtt
        assert {h["speaker"] for h in event.payload["data"]["hits"]} == {"Sarah Host"}
        lib.people.assign(vtt, "Sarah", "Someone Else")
        lib.people.assign(vtt, "Sarah", "Sarah Host")
        lib.alerts.scan()
        assert len(lib.alerts.events(alert.id)) == 1  # the same hits are not reported again


KILL_AT_INDEX = """
import os, signal, sys
from podscope.library import Library
def hook(stage, done, total):
    if stage == "index" and done == 0:
        os.kill(os.getpid(), signal.SIGKILL)
with Library(sys.argv[1]) as lib:
    lib.import_transcript(sys.argv[2], podcast="Podcasting Q&A", title="Trailer", hook=hook)
"""


@HEAVY_ON_POSTGRES
def test_no_event_is_lost_when_podscope_is_killed(new_home: Callable[[], Path], tmp_path: Path) -> None:
    """Killed after the episode is stored but before it is searched; then killed while sending the event: the next
    `podscope alerts deliver` sends it."""
    home = new_home()
    (home / "config.toml").write_text(
        (home / "config.toml").read_text() + "allow_private_addresses = true\nfetch_timeout = 0.5\n"
    )
    hold = threading.Event()
    receiver = Receiver(hold=hold)
    with receiver.serving() as url:
        added = json.loads(cli(home, "alerts", "add", "trailer", "--webhook", url, "--json").stdout)
        receiver.secret = added["secret"]
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent / "src")}
        script = tmp_path / "kill.py"
        script.write_text(KILL_AT_INDEX)
        killed = subprocess.run([sys.executable, str(script), str(home), str(VTT[0])], env=env, timeout=300)
        assert killed.returncode == -signal.SIGKILL
        with open_lib(home) as lib:
            assert lib.episodes() and lib.alerts.events(1) == []  # stored, not yet searched
        deliverer = subprocess.Popen(
            [sys.executable, "-m", "podscope", "--home", str(home), "alerts", "deliver"], env=env
        )
        assert receiver.arrived.wait(120), "the deliverer sent nothing"
        deliverer.send_signal(signal.SIGKILL)  # while the receiver holds the first request unanswered
        deliverer.wait(30)
        hold.set()
        with open_lib(home) as lib:
            (event,) = lib.alerts.events(1)
            assert event.episode_id is not None
            deadline = time.monotonic() + 60
            while lib.alerts.deliveries(1)[0][0].status != "delivered":  # the dead deliverer's claim runs out
                assert time.monotonic() < deadline
                done = cli(home, "alerts", "deliver")
                assert done.returncode == 0, done.stderr
                time.sleep(0.5)
        bodies = receiver.verified()
        ids = {r["headers"]["webhook-id"] for r in receiver.requests}
        assert len(ids) == 1 and {b["data"]["episode"]["id"] for b in bodies} == {event.episode_id}


def test_the_feed_reads_in_podscope_and_feedparser(new_home: Callable[[], Path]) -> None:
    with open_lib(new_home(), api_read_requires_key=True, api_open_admin_on_loopback=False) as lib:
        alert = lib.alerts.add("trailer OR rookie", name="mentions").alert
        add(lib, VTT)
        add(lib, SRT)
        _, key = lib.keys.create("read")
        with in_process(lib) as http:
            assert http.get(f"/alerts/{alert.id}/feed.xml").status_code == 401
            assert http.get(f"/alerts/{alert.id}/feed.xml?key=psk_wrong").status_code == 401
            assert http.get(f"/alerts/999/feed.xml?key={key}").status_code == 404
            answer = http.get(f"/alerts/{alert.id}/feed.xml?key={key}")
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/atom+xml")
        ours = parse_feed(answer.content, str(answer.url))
        theirs = feedparser.parse(answer.content)
        assert not theirs.bozo and theirs.feed.title == "podscope alert: mentions"
        assert len(ours.items) == len(theirs.entries) == 2
        events = lib.alerts.events(alert.id)
        first = events[0].payload["data"]["hits"][0]
        assert theirs.entries[0].link == first["link"] and first["text"] in theirs.entries[0].summary
        assert {i.title for i in ours.items} == {e.title for e in theirs.entries}


def test_api_and_cli_surfaces(new_home: Callable[[], Path]) -> None:
    home = new_home()
    with open_lib(home) as lib, in_process(lib) as http:
        made = http.post("/api/alerts", json={"query": "trailer", "webhook": "https://example.org/hook"})
        assert made.status_code == 201 and made.json()["secret"].startswith("whsec_")
        assert made.headers["location"] == f"/api/alerts/{made.json()['alert']['id']}"
        assert http.get("/api/alerts").json()[0]["secret"] is None
        for body in ({"query": '"open'}, {"query": "x", "mode": "loud"}, {"query": "x", "webhook": "ftp://a"}, {}):
            assert http.post("/api/alerts", json=body).status_code in (400, 422)
        assert http.get("/api/alerts/99").status_code == 404
        assert http.post("/api/alerts/1/test").status_code == 400  # nothing in the library matches yet
        add(lib, VTT)
        assert http.get("/api/alerts/1/events").json()[0]["reason"] == "episode"
        assert http.post("/api/alerts/1/test").status_code == 202
        assert len(http.get("/api/alerts/1/deliveries").json()) == 2
        page = http.get("/alerts/1")
        assert page.status_code == 200 and "trailer" in page.text
        assert http.delete("/api/alerts/1").status_code == 200 and http.get("/api/alerts").json() == []
    listed = cli(home, "alerts", "list", "--json")
    assert listed.returncode == 0 and json.loads(listed.stdout) == []
    added = json.loads(cli(home, "alerts", "add", "rookie", "--speaker", "Travis", "--json").stdout)
    assert added["speaker"] == "Travis" and added["secret"] is None
    shown = json.loads(cli(home, "alerts", "show", str(added["id"]), "--json").stdout)
    assert shown["alert"]["query"] == "rookie" and shown["events"] == [] and shown["deliveries"] == []
    removed = cli(home, "alerts", "remove", str(added["id"]), "--json")
    assert removed.returncode == 0 and json.loads(removed.stdout)["id"] == added["id"]
    bad = cli(home, "alerts", "add", "x", "--webhook", "not a url")
    assert bad.returncode == 1 and "expected an http:// or https:// URL" in bad.stderr
    missing = cli(home, "alerts", "show", "7")
    assert missing.returncode == 1 and "no alert 7" in missing.stderr


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory, models_home: Path) -> Iterator[dict[str, Any]]:
    """A library served to the browser (the page is the same on either store: SQLite)."""
    home = use_store(tmp_path_factory.mktemp("web") / "home", "", models_of=models_home)
    lib = open_lib(home)
    try:
        yield {"lib": lib}
    finally:
        lib.close()


def test_the_page_saves_an_alert_and_the_server_delivers_it(page: Any, site: dict[str, Any]) -> None:
    lib: Library = site["lib"]
    receiver = Receiver()
    with receiver.serving() as url:
        page.goto("/alerts")
        page.fill("input[name=query]", '"podcast trailer"')
        page.fill("input[name=webhook]", url)
        page.fill("input[name=name]", "trailers")
        page.click("form[action='/alerts'] button[type=submit]")
        said = page.inner_text("body")
        assert "Saved alert" in said and "whsec_" in said
        receiver.secret = re.search(r"whsec_[A-Za-z0-9+/=]+", said).group()  # type: ignore[union-attr]
        assert "trailers" in page.inner_text("table.alerts")
        add(lib, VTT)  # the server's deliverer sends what this stored
        assert receiver.arrived.wait(30), "the server sent nothing"
        (body,) = receiver.verified()
        assert body["data"]["alert"]["name"] == "trailers"
        page.goto("/alerts/1")
        shown = page.inner_text("#shown")
        assert "Sarah" in shown and "delivered" in shown
        assert page.request.get("/alerts/1/feed.xml").ok


@ON_POSTGRES_ONLY
def test_a_library_copied_to_postgresql_keeps_its_alerts(tmp_path: Path, store_url: str, models_home: Path) -> None:
    home = use_store(tmp_path / "home", "", models_of=models_home)
    with open_lib(home) as lib:
        lib.alerts.add("trailer", webhook="https://example.org/hook")
        add(lib, VTT)
    copy_library(home, store_url)
    use_store(home, store_url)
    with open_lib(home) as lib:
        assert [e.reason for e in lib.alerts.events(1)] == ["episode"]
        ((delivery, _),) = lib.alerts.deliveries(1)
        assert delivery.status == "pending"
        assert lib.alerts.add("rookie").alert.id == 2  # the ids go on after the copied ones
        add(lib, SRT)
        assert len(lib.alerts.events(2)) == 1
