"""The listening-quiz page and the translation switch, over a real library, a real uvicorn and a real Chromium.

The library holds one real recording (the two-speaker call, transcribed with tiny.en) under a title and podcast name
that carry markup. The browser takes a five-question quiz end to end, answering from the API's quiz (right on some
questions, wrong on others) so the running counter and the summary can be checked exactly, then turns translation on
and off on the episode page and on the quiz page. Screenshots go to bench/out/screenshots/quiz-*.png.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from starlette.testclient import TestClient

from helpers import SAMPLE_WAV, SCREENSHOTS
from podscope.library import Library

pytestmark = pytest.mark.models  # every test here needs the library the real pipeline builds
SETTINGS = {"asr_model": "tiny.en", "api_rate_per_minute": 0}
TITLE = "Diane & Sheila <script>alert('quiz')</script>"
PODCAST = "Phone <b>Line</b>"
LEARNER = "Ana Quiz"
COUNT = 5
SEED = 3
SPANISH = {"el", "la", "que", "de", "y", "en", "no", "un", "una", "es", "los", "las", "yo", "lo", "sé"}


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:

    home = tmp_path_factory.mktemp("quizweb") / "home"
    with Library(home, settings=SETTINGS) as lib:
        episode_id = lib.add_audio(SAMPLE_WAV, podcast=PODCAST, title=TITLE, published="2025-03-14").episode.id
    lib = Library(home, settings=SETTINGS)
    try:
        yield {"lib": lib, "episode": episode_id}
    finally:
        lib.close()


def quiz_url(site: dict[str, Any], **extra: Any) -> str:
    params = {"level": "medium", "count": COUNT, "seed": SEED, **extra}
    return f"/episodes/{site['episode']}/quiz?" + "&".join(f"{k}={v}" for k, v in params.items())


def shot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


# -- plain HTTP ------------------------------------------------------------------------------------------------------


def test_quiz_page_renders_every_question_and_escapes(library: dict[str, Any], http: TestClient) -> None:
    r = http.get(quiz_url(library))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    html = r.text
    assert "<script>alert" not in html and "<b>Line</b>" not in html
    assert "Diane &amp; Sheila &lt;script&gt;alert(&#39;quiz&#39;)&lt;/script&gt;" in html
    assert "Phone &lt;b&gt;Line&lt;/b&gt;" in html
    quiz = http.get(f"/api/episodes/{library['episode']}/quiz", params={"seed": SEED, "count": COUNT}).json()
    assert len(quiz["questions"]) == COUNT
    assert html.count('<li class="question ') == COUNT  # readable without JavaScript: every question and option
    for q in quiz["questions"]:
        assert f'data-id="{q["id"]}"' in html
        assert f'data-clip-start="{q["clip_start"]:.2f}" data-clip-end="{q["clip_end"]:.2f}"' in html
        for option in q["options"]:
            assert f'<span class="option-text">{option}</span>' in html
    assert "answer_index" not in html and "answer_text" not in html  # the server checks answers
    assert f'href="/episodes/{library["episode"]}/quiz?level=medium&amp;count={COUNT}&amp;seed={SEED + 1}"' in html
    assert http.get("/static/quiz.js").status_code == 200
    episode = http.get(f"/episodes/{library['episode']}").text
    for level in ("easy", "medium", "hard"):
        assert f'href="/episodes/{library["episode"]}/quiz?level={level}"' in episode
    assert "Practise listening" in episode and 'class="translate-toggle"' in episode
    bad = http.get(quiz_url(library, level="<i>impossible</i>"))
    assert bad.status_code == 400 and "&lt;i&gt;impossible&lt;/i&gt;" in bad.text and "<i>impossible" not in bad.text
    assert http.get("/episodes/99999/quiz").status_code == 404


# -- the browser -----------------------------------------------------------------------------------------------------


def _audio_time(page: Any) -> float:
    return float(page.evaluate("document.getElementById('quiz-audio').currentTime"))


@pytest.mark.browser
def test_take_a_five_question_quiz(site: dict[str, Any], page: Any, http: TestClient) -> None:
    quiz = http.get(f"/api/episodes/{site['episode']}/quiz", params={"seed": SEED, "count": COUNT}).json()
    questions = quiz["questions"]
    page.goto(quiz_url(site))
    counter = page.locator("#quiz-counter")
    assert counter.inner_text() == f"Questions: 0/{COUNT} · Correct: 0"
    assert page.locator(".question:visible").count() == 1
    # the name is required before answering
    page.locator(".question.current button.option").first.click()
    assert "Enter your name" in page.locator(".question.current .feedback").inner_text()
    assert counter.inner_text() == f"Questions: 0/{COUNT} · Correct: 0"
    page.fill("#learner", LEARNER)

    correct, missed = 0, []
    for i, q in enumerate(questions):
        current = page.locator(".question.current")
        assert current.get_attribute("data-id") == q["id"]
        current.locator("a.quiz-play").click()
        page.wait_for_function(
            "s => { const a = document.getElementById('quiz-audio'); return !a.paused && a.currentTime > s + 0.1; }",
            arg=q["clip_start"],
            timeout=15000,
        )
        assert q["clip_start"] <= _audio_time(page) <= q["clip_end"] + 0.3
        if i == 0:  # the clip stops at its end
            page.wait_for_function("() => document.getElementById('quiz-audio').paused", timeout=15000)
            assert q["clip_end"] - 0.05 <= _audio_time(page) <= q["clip_end"] + 0.3
            assert current.locator("a.quiz-play.playing").count() == 0
        right = i % 2 == 0  # right, wrong, right, wrong, right
        chosen = q["answer_index"] if right else (q["answer_index"] + 1) % len(q["options"])
        current.locator(f'button.option[data-index="{chosen}"]').click()
        correct += right
        if not right:
            missed.append(q["answer_text"])
        expected = f"Questions: {i + 1}/{COUNT} · Correct: {correct}"
        page.wait_for_function("t => document.getElementById('quiz-counter').textContent === t", arg=expected)
        assert counter.inner_text() == expected
        assert current.locator(f'button.option.right[data-index="{q["answer_index"]}"]').count() == 1
        assert current.locator("button.option.wrong").count() == (0 if right else 1)
        assert ("Right" if right else "Not quite") in current.locator(".feedback").inner_text()
        if i == 1:
            shot(page, "quiz-mid")
        page.locator("#quiz-next").click()

    summary = page.locator("#quiz-summary")
    summary.wait_for(state="visible")
    assert summary.locator(".summary-correct").inner_text() == str(correct) == "3"
    assert sorted(summary.locator(".missed-word").all_inner_texts()) == sorted(missed)
    assert page.locator(".question:visible").count() == 0
    assert summary.locator("#try-another").get_attribute("href").endswith(f"seed={SEED + 1}")
    replay = summary.locator(".missed a.quiz-play").first
    start, end = float(replay.get_attribute("data-start")), float(replay.get_attribute("data-end"))
    replay.click()
    page.wait_for_function(
        "s => { const a = document.getElementById('quiz-audio'); return !a.paused && a.currentTime > s; }",
        arg=start,
        timeout=15000,
    )
    assert start <= _audio_time(page) <= end + 0.3
    page.evaluate("document.getElementById('quiz-audio').pause()")
    page.wait_for_function("() => !document.querySelector('a.quiz-play.playing')")  # the button shows it stopped
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, "quiz-summary")

    progress = http.get("/api/learners/" + quote(LEARNER) + "/progress").json()
    assert progress["attempts"] == COUNT and progress["correct"] == correct
    assert progress["episodes"][0]["episode_id"] == site["episode"]
    assert page.evaluate("localStorage.getItem('podscope.learner')") == LEARNER
    page.goto(quiz_url(site, seed=SEED + 1))  # the name is remembered
    assert page.input_value("#learner") == LEARNER


def _spanish(text: str) -> bool:
    return bool(SPANISH & {w.strip(".,¿?¡!").lower() for w in text.split()})


@pytest.mark.browser
def test_translation_switch_on_episode_and_quiz(site: dict[str, Any], page: Any) -> None:
    if shutil.which("apertium") is None:
        pytest.skip("apertium is not installed: the translation switch has no backend to ask")
    lib: Library = site["lib"]
    segments = lib.transcript(site["episode"]).segments
    page.goto(f"/episodes/{site['episode']}")
    assert page.locator(".translation").count() == 0
    page.locator(".transcript-tools .switch").click()
    page.locator("#transcript .translation").first.wait_for(state="visible", timeout=30000)
    shown = page.locator("#transcript .translation:visible")
    assert shown.count() == len(segments)
    texts = shown.all_inner_texts()
    assert any(_spanish(t) for t in texts), texts
    assert page.locator("#transcript .translation").first.get_attribute("lang") == "es"
    assert texts[0] != segments[0].text
    shot(page, "quiz-episode-translated")
    page.locator(".transcript-tools .switch").click()
    assert page.locator("#transcript .translation:visible").count() == 0

    page.goto(quiz_url(site))
    current = page.locator(".question.current")
    page.locator(".quiz-bar .switch").click()
    current.locator(".translation").wait_for(state="visible", timeout=30000)
    assert _spanish(current.locator(".translation").inner_text())
    page.locator(".quiz-bar .switch").click()
    assert page.locator(".translation:visible").count() == 0
