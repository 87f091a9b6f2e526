"""The web pages over a real library, served by a real uvicorn and driven by a real headless Chromium.

The library is built once for the module: the real two-speaker recording, a pitch-shifted copy of it (so a machine
attribution waits in the review queue), a publisher transcript (SRT, with named speakers), a tiny VTT whose text and
title hold `<script>` tags, and a followed feed (a local file) with pending episodes. Browser tests play audio through
`/api/episodes/{id}/audio`; HTTP tests, which only read answers and so call the app in this process, check that every
page renders and escapes, that forms refuse cross-site posts, and the error pages. A test saves a full-page screenshot
of every page to bench/out/screenshots/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
import pytest
from markupsafe import escape
from scipy.signal import resample
from starlette.testclient import TestClient

from helpers import DATA, SAMPLE_WAV, SCREENSHOTS, in_process, write_wav
from podscope.audio import load_audio
from podscope.formats import FORMATS
from podscope.library import Library

pytestmark = pytest.mark.models  # every test here needs the library the real pipeline builds
PERSON = "Diane Porter"
EVIL_TEXT = "<script>alert(1)</script>"
EVIL_TITLE = "Escaping <script>alert('title')</script> & friends"
RAW = "<script>alert"  # must never appear in a page: only our own <script src=...> tags are raw
# verified_threshold 1.0: the pitch-shifted copy is published as `matched` and waits for review; no rate limit: the
# tests make many requests a minute from one address
SETTINGS = {"asr_model": "tiny.en", "verified_threshold": 1.0, "api_rate_per_minute": 0}
FEED = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:podcast="https://podcastindex.org/namespace/1.0">
<channel>
  <title>The Late Shift</title>
  <link>https://example.com/late-shift</link>
  <podcast:person role="host">Sam Ortega</podcast:person>
  <item><title>Night buses</title><guid>ls-1</guid><pubDate>Mon, 03 Feb 2025 06:00:00 GMT</pubDate>
    <enclosure url="https://example.com/ls/1.mp3" type="audio/mpeg" length="1000"/></item>
  <item><title>Bakers at 4 am</title><guid>ls-2</guid><pubDate>Mon, 10 Feb 2025 06:00:00 GMT</pubDate>
    <enclosure url="https://example.com/ls/2.mp3" type="audio/mpeg" length="1000"/></item>
  <item><title>The night nurse</title><guid>ls-3</guid><pubDate>Mon, 17 Feb 2025 06:00:00 GMT</pubDate>
    <enclosure url="https://example.com/ls/3.mp3" type="audio/mpeg" length="1000"/></item>
</channel>
</rss>
"""


def build_library(work: Path) -> dict[str, Any]:
    """The module's library; returns its home and the ids the tests use."""
    home = work / "home"
    with Library(home, settings=SETTINGS) as lib:
        first = lib.add_audio(
            SAMPLE_WAV, podcast="Phone Line", title="Diane and Sheila on the line", published="2025-03-14"
        )
        lib.people.enroll_speaker(PERSON, first.episode.id, "SPEAKER_00")
        samples = load_audio(SAMPLE_WAV)
        shifted = resample(samples, int(len(samples) / 1.12)).astype(np.float32)
        copy = lib.add_audio(
            write_wav(work / "callback.wav", shifted),
            podcast="Phone Line",
            title="Sheila calls back",
            published="2025-05-02",
        )
        srt = lib.import_transcript(
            DATA / "transcripts" / "example.srt",
            podcast="Buzzcast",
            title="Ten rookie mistakes",
            published="2024-11-04",
        )
        vtt = work / "evil.vtt"
        vtt.write_text(
            "WEBVTT\n\n00:00:00.000 --> 00:00:04.000\n<v Mallory>Watch this: &lt;script&gt;alert(1)&lt;/script&gt;"
            " did it run?\n\n00:00:05.000 --> 00:00:09.000\n<v Trent>It did not, the page escapes it.\n"
        )
        evil = lib.import_transcript(vtt, podcast="Security <b>Now</b>", title=EVIL_TITLE, published="2025-01-20")
        feed = work / "feed.xml"
        feed.write_text(FEED)
        lib.feeds.add(str(feed))
        # the other voice of the call is credited on both episodes: the review page suggests the name
        sheila = lib.store.people.create("Sheila Marsh")
        for episode_id in (first.episode.id, copy.episode.id):
            lib.store.feeds.set_credits(episode_id, [(sheila.id, "guest", "cast")])
        pending = [a for a in lib.people.review() if a.attribution.episode_id == copy.episode.id]
        assert pending, f"expected a machine match in the copy: {lib.store.people.attributions(tiers=None)}"
        return {
            "home": home,
            "first": first.episode.id,
            "copy": copy.episode.id,
            "srt": srt.episode.id,
            "evil": evil.episode.id,
            "review_speaker": pending[0].attribution.speaker_id,
        }


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    info = build_library(tmp_path_factory.mktemp("web"))
    lib = Library(info["home"], settings=SETTINGS)
    try:
        yield {**info, "lib": lib}
    finally:
        lib.close()


def page_urls(library: dict[str, Any]) -> dict[str, str]:
    """Every page of the library, by screenshot name."""
    lib: Library = library["lib"]
    urls = {
        "search-home": "/",
        "search-results": "/search?q=" + quote("podcast OR mistakes OR alert"),
        "search-filtered": "/search?q=mistakes&speaker=Travis&mode=text",
        "people": "/people",
        "podcasts": "/podcasts",
        "review": "/review",
        "review-low": "/review?tier=low",
        "review-verified": "/review?tier=verified",
        "feeds": "/feeds",
        "jobs": "/jobs",
    }
    for e in lib.episodes():
        urls[f"episode-{e.id}"] = f"/episodes/{e.id}"
    for p, _active in lib.people.roster():
        urls[f"person-{p.id}"] = "/people/" + quote(p.name, safe="")
    for p in lib.podcasts():
        urls[f"podcast-{p.id}"] = f"/podcasts/{p.id}"
    return urls


# -- plain HTTP ------------------------------------------------------------------------------------------------------


def test_every_page_renders_and_escapes(library: dict[str, Any], http: TestClient) -> None:
    for name, url in page_urls(library).items():
        r = http.get(url)
        assert r.status_code == 200, (name, url, r.text[:500])
        assert r.headers["content-type"].startswith("text/html")
        assert RAW not in r.text, f"unescaped script tag on {url}"
        assert "<b>Now</b>" not in r.text, f"unescaped podcast name on {url}"
    episode = http.get(f"/episodes/{library['evil']}").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in episode  # the text is shown, escaped
    assert "&lt;script&gt;alert(&#39;title&#39;)&lt;/script&gt;" in episode
    found = http.get("/search", params={"q": "alert", "mode": "text"}).text
    assert "&lt;script&gt;<mark>alert</mark>(1)&lt;/script&gt;" in found  # escaped first, then marked
    for name in ("app.css", "app.js", "favicon.svg"):
        assert http.get(f"/static/{name}").status_code == 200


def test_every_page_shows_how_many_attributions_wait_for_review(library: dict[str, Any], http: TestClient) -> None:
    """The navigation's badge is the length of the default review queue (counted by the store on every page), and
    the search page's speaker filter offers everyone (the names alone, not the roster with its counts)."""
    waiting = len(library["lib"].people.review())
    assert waiting > 0
    for url in ("/", "/people", f"/episodes/{library['evil']}", "/review"):
        badge = re.search(r'<span class="count" aria-label="(\d+) waiting">(\d+)</span>', http.get(url).text)
        assert badge is not None and badge.groups() == (str(waiting), str(waiting)), url
    names = sorted((p.name for p, _active in library["lib"].people.roster()), key=str.lower)
    assert library["lib"].people.names() == [p.name for p, _active in library["lib"].people.roster()]
    search = http.get("/search").text
    offered = re.findall(r'<option value="([^"]*)"', search)
    assert names and all(str(escape(n)) in offered for n in names)


def test_search_page_shows_hits_facets_and_filters(library: dict[str, Any], http: TestClient) -> None:
    r = http.get("/search", params={"q": "mistakes", "mode": "text"})
    assert r.status_code == 200
    assert "<mark>mistakes</mark>" in r.text
    assert 'class="who" href="/people/Travis"' in r.text and "tier-confirmed" in r.text
    assert "Ten rookie mistakes" in r.text and "4 Nov 2024" in r.text
    assert 'class="facet"' in r.text and 'href="/search?q=mistakes&amp;podcast=Buzzcast&amp;mode=text"' in r.text
    assert f'class="play play-text" href="/episodes/{library["srt"]}#t=' in r.text  # no recording: read it instead
    assert f'data-audio="/api/episodes/{library["srt"]}/audio"' not in r.text
    broken = http.get("/search", params={"q": '"unclosed'})  # searched as plain words, and said so
    assert broken.status_code == 200 and "never closed" in broken.text and "searched the words alone" in broken.text
    bad = http.get("/search", params={"q": "?!"})
    assert bad.status_code == 400 and "could not run" in bad.text
    assert "<mark>" not in http.get("/search", params={"q": "mistakes", "speaker": PERSON, "mode": "text"}).text
    unknown = http.get("/search", params={"q": "mistakes", "speaker": "Nobody Known"})
    assert unknown.status_code == 404 and "could not run" in unknown.text and 'name="q"' in unknown.text


def test_episode_page_links_every_transcript_format(library: dict[str, Any], http: TestClient) -> None:
    page = http.get(f"/episodes/{library['srt']}").text
    links = re.findall(r'href="(/api/episodes/\d+/transcript\?format=(\w+)&amp;download=true)"', page)
    assert sorted(fmt for _, fmt in links) == sorted(FORMATS)
    for link, fmt in links:
        r = http.get(link.replace("&amp;", "&"))
        assert r.status_code == 200 and r.text, fmt
        assert r.headers["content-disposition"].startswith("attachment")
    assert 'id="player"' not in page and "no recording to play" in page  # imported from a transcript
    assert (
        f'<audio id="player" class="player" controls preload="metadata" src="/api/episodes/{library["first"]}/audio"'
        in (http.get(f"/episodes/{library['first']}").text)
    )


def test_error_pages(library: dict[str, Any], http: TestClient) -> None:
    for url in ("/episodes/99999", "/episodes/nope", "/people/Nobody%20Here", "/podcasts/999", "/static/../pages.py"):
        r = http.get(url)
        assert r.status_code == 404, url
        assert r.headers["content-type"].startswith("text/html")
        assert "Back to search" in r.text
    r = http.get("/people/" + quote("<script>alert(9)</script>", safe=""))
    assert r.status_code == 404 and RAW not in r.text and "&lt;script&gt;alert(9)" in r.text


def test_forms_refuse_cross_site_posts(library: dict[str, Any], http: TestClient) -> None:
    lib: Library = library["lib"]
    sid = library["review_speaker"]
    before = lib.store.people.attribution(sid)
    url = f"/review/{sid}/confirm"
    token = re.search(r'name="csrf" value="([^"]+)"', http.get("/review").text)
    assert token and http.cookies.get("podscope_csrf") == token.group(1)
    with in_process(http.app) as stranger:  # the same app; no cookie, no token
        assert stranger.post(url).status_code == 403
        assert stranger.post(url, data={"csrf": token.group(1)}).status_code == 403  # a token without its cookie
    assert http.post(url, data={}).status_code == 403  # the cookie without the token
    assert http.post(url, data={"csrf": "x" * 43}).status_code == 403  # a wrong token
    r = http.post(url, data={"csrf": token.group(1)}, headers={"Origin": "https://evil.example"})
    assert r.status_code in (401, 403) and "Back to search" in r.text  # not from this machine, and not same-origin
    assert http.post("/feeds", data={"url": "https://example.com/feed.xml"}).status_code == 403
    assert lib.store.people.attribution(sid) == before
    assert len(lib.feeds.list()) == 1


# -- the browser -----------------------------------------------------------------------------------------------------


@pytest.mark.browser
def test_screenshots(site: dict[str, Any], page: Any) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for old in SCREENSHOTS.glob("*.png"):
        old.unlink()
    for name, url in {**page_urls(site), "error-404": "/episodes/99999"}.items():
        page.goto(url, wait_until="load")
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    assert len(list(SCREENSHOTS.glob("*.png"))) >= 12


def _a_late_line(lib: Library, episode_id: int) -> tuple[str, float]:
    """A word of the episode's latest transcript line that starts after a few seconds, and that line's start."""
    segments = [s for s in lib.transcript(episode_id).segments if s.start > 3]
    for s in reversed(segments):
        for word in re.findall(r"[A-Za-z]{5,}", s.text):
            return word.lower(), s.start
    raise AssertionError("no usable line")


@pytest.mark.browser
def test_search_and_play_a_result(site: dict[str, Any], page: Any) -> None:
    lib: Library = site["lib"]
    word, _ = _a_late_line(lib, site["first"])
    hits = lib.search.search(word, None).hits
    hit = next(h for h in hits if h.episode_id == site["first"])
    page.goto(f"/search?q={quote(word)}")
    button = page.locator(f'.hit[data-episode="{site["first"]}"] a.play').first
    start = float(button.get_attribute("data-start"))
    assert abs(start - hit.start) < 0.01
    button.click()
    page.wait_for_function(
        "s => { const a = document.querySelector('audio.inline-player');"
        " return a && !a.paused && a.currentTime > s + 0.3; }",
        arg=start,
        timeout=15000,
    )
    now = page.evaluate("document.querySelector('audio.inline-player').currentTime")
    assert start <= now < start + 5
    assert page.locator(".hit a.play.playing").count() == 1


@pytest.mark.browser
def test_episode_transcript_follows_playback_and_seeks(site: dict[str, Any], page: Any) -> None:
    page.goto(f"/episodes/{site['first']}")
    lines = page.locator("#transcript .seg")
    assert lines.count() >= 3
    second = float(lines.nth(1).get_attribute("data-start"))
    page.evaluate("s => { const a = document.getElementById('player'); a.currentTime = s; a.play(); }", second - 0.4)
    follow = (
        "() => { const a = document.getElementById('player'); if (a.paused || a.currentTime <= %s) return false;"
        " const segs = [...document.querySelectorAll('#transcript .seg')];"
        " const want = segs.filter(s => parseFloat(s.dataset.start) <= a.currentTime + 0.05).pop();"
        " return want && want.classList.contains('active')"
        " && document.querySelectorAll('#transcript .seg.active').length === 1; }"
    )
    page.wait_for_function(follow % second, timeout=15000)
    assert page.locator("#transcript .seg.active").get_attribute("id") != "seg-1"
    last = lines.nth(lines.count() - 1)
    target = float(last.get_attribute("data-start"))
    last.locator(".seg-text").click()
    page.wait_for_function(
        "t => { const a = document.getElementById('player'); return !a.paused && a.currentTime >= t; }",
        arg=target,
        timeout=15000,
    )
    assert "active" in (last.get_attribute("class") or "")
    assert abs(page.evaluate("document.getElementById('player').currentTime") - target) < 2.0
    assert page.evaluate("location.hash") == f"#t={target:.2f}"
    # a link with #t= seeks on load
    page.goto(f"/episodes/{site['first']}#t={target:.2f}")
    page.wait_for_function("t => document.getElementById('player').currentTime >= t - 0.1", arg=target, timeout=15000)
    assert "active" in (last.get_attribute("class") or "")


@pytest.mark.browser
def test_person_page_has_chart_and_appearances(site: dict[str, Any], page: Any) -> None:
    page.goto("/people/" + quote(PERSON))
    assert page.locator("h1").inner_text() == PERSON
    assert "voice profile active" in page.locator(".profile-status").inner_text().lower()
    assert page.locator("svg.chart rect.bar").count() >= 2  # March and May 2025
    rows = page.locator("table.appearances tbody tr")
    assert rows.count() == 2
    assert page.locator(f'tr[data-episode="{site["first"]}"] .tier-confirmed').count() == 1
    assert page.locator(f'tr[data-episode="{site["copy"]}"] .tier-matched').count() == 1
    page.locator(".quotes a.play").first.click()
    page.wait_for_function(
        "() => { const a = document.querySelector('audio.inline-player');"
        " return a && !a.paused && a.currentTime > 0; }",
        timeout=15000,
    )


@pytest.mark.browser
def test_confirm_in_review_updates_the_person(site: dict[str, Any], page: Any) -> None:
    sid = site["review_speaker"]
    page.goto("/review")
    badge = page.locator(".mainnav .count").inner_text()
    item = page.locator(f'article[data-speaker="{sid}"]')
    assert PERSON in item.inner_text()
    item.locator(f'form[action="/review/{sid}/confirm"] button').click()
    page.wait_for_url("**/review")
    assert "Confirmed" in page.locator(".flash").inner_text()
    assert page.locator(f'article[data-speaker="{sid}"]').count() == 0
    assert page.locator(".mainnav .count").count() == 0 or page.locator(".mainnav .count").inner_text() != badge
    page.goto("/people/" + quote(PERSON))
    assert page.locator(f'tr[data-episode="{site["copy"]}"] .tier-confirmed').count() == 1
    assert site["lib"].store.people.attribution(sid).tier == "confirmed"


@pytest.mark.browser
def test_name_an_unknown_voice(site: dict[str, Any], page: Any) -> None:
    page.goto("/review")
    suggestion = page.locator("form[action^='/review/unknown/'] button", has_text="It is Sheila Marsh")
    if suggestion.count() == 0:
        pytest.skip("the other voice of the call was not grouped as one recurring unknown voice")
    suggestion.first.click()
    page.wait_for_url("**/review")
    assert "Named the voice Sheila Marsh" in page.locator(".flash").inner_text()
    page.goto("/people/Sheila%20Marsh")
    assert page.locator("table.appearances tbody tr").count() == 2


@pytest.mark.browser
def test_follow_a_feed_form_rejects_local_paths(site: dict[str, Any], page: Any) -> None:
    page.goto("/feeds")
    assert page.locator("table.feeds tbody tr").count() == 1
    assert "3 pending" in page.locator("table.feeds").inner_text()
    page.evaluate("document.getElementById('feed-url').type = 'text'")
    page.fill("#feed-url", "/etc/passwd")
    page.locator("form.add-feed button").click()
    page.wait_for_url("**/feeds")
    assert "http" in page.locator(".flash-error").inner_text()
    assert len(site["lib"].feeds.list()) == 1
