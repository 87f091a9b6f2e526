"""Chapters and key moments on the episode page, in a real headless Chromium over a real uvicorn.

The library: the real two-speaker recording (transcribed with tiny.en), given publisher chapters, so its page has a
player to seek; and an episode joined from three real transcripts (see test_chapters.py), whose chapters podscope
finds itself and which has no recording (a click there shows the line in the transcript).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from helpers import SAMPLE_WAV, SCREENSHOTS
from podscope.library import Library
from podscope.records import Chapter
from test_chapters import joined, podcast_json

pytestmark = [pytest.mark.models, pytest.mark.browser]
SETTINGS = {"asr_model": "tiny.en", "api_rate_per_minute": 0}
GIVEN = [Chapter(0.0, "Hello again"), Chapter(11.5, "Who is calling"), Chapter(21.0, "Saying goodbye")]


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    work = tmp_path_factory.mktemp("chapters-page")
    lib = Library(work / "home", settings=SETTINGS)
    try:
        call = lib.add_audio(SAMPLE_WAV, podcast="Phone Line", title="Diane and Sheila", published="2025-03-14")
        lib.chapters.set_publisher(call.episode.id, GIVEN)
        segments, joins = joined()
        path = work / "joined.json"
        path.write_text(podcast_json(segments))
        mixed = lib.import_transcript(path, podcast="Mixed Signals", title="Three calls")
        yield {"lib": lib, "call": call.episode.id, "joined": mixed.episode.id, "joins": joins}
    finally:
        lib.close()


def test_publisher_chapters_show_and_a_click_seeks(page: Any, library: dict[str, Any]) -> None:
    page.goto(f"/episodes/{library['call']}")
    card = page.locator(".chapters-card")
    assert "from the publisher" in card.inner_text()
    titles = card.locator(".chapter-list").first.locator(".chapter-title").all_inner_texts()
    assert titles == [c.title for c in GIVEN]
    card.locator(".chapter", has_text="Who is calling").click()
    page.wait_for_function(
        "t => { const a = document.getElementById('player'); return !a.paused && a.currentTime >= t; }",
        arg=GIVEN[1].start,
        timeout=15000,
    )
    assert abs(page.evaluate("document.getElementById('player').currentTime") - GIVEN[1].start) < 2.0
    assert page.evaluate("location.hash") == f"#t={GIVEN[1].start:.2f}"
    # the line being spoken there is highlighted in the transcript
    active = page.locator(".seg.active")
    assert float(active.get_attribute("data-start") or 0) <= GIVEN[1].start + 0.05
    # a key moment seeks too
    moment = page.locator(".moments-card .moment-link").last
    target = float(moment.get_attribute("data-start") or 0)
    moment.click()
    page.wait_for_function(
        "t => Math.abs(document.getElementById('player').currentTime - t) < 1.5", arg=target, timeout=15000
    )
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "episode-chapters.png"), full_page=True)


def test_found_chapters_show_and_a_click_shows_the_line(page: Any, library: dict[str, Any]) -> None:
    lib: Library = library["lib"]
    found = lib.chapters.episode(library["joined"])
    page.goto(f"/episodes/{library['joined']}")
    card = page.locator(".chapters-card")
    assert "where the topic shifts" in card.inner_text()
    links = card.locator(".chapter")
    assert links.count() == len(found.chapters)
    assert card.locator(".chapter-title").all_inner_texts() == [c.title for c in found.chapters]
    moments = page.locator(".moments-card .moment")
    assert moments.count() == len(found.moments)
    last = found.chapters[-1]
    links.last.click()
    assert page.evaluate("location.hash") == f"#t={last.start:.2f}"
    line = page.locator(f".seg[data-start='{last.start:.2f}']")
    page.wait_for_function(
        "el => { const r = el.getBoundingClientRect(); return r.top >= 0 && r.bottom <= innerHeight; }",
        arg=line.element_handle(),
        timeout=5000,
    )
    page.screenshot(path=str(Path(SCREENSHOTS) / "episode-chapters-found.png"), full_page=True)
