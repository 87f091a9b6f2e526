"""Quote checks and threads on a real library: the Podcasting 2.0 example episode (tests/data/transcripts: the SRT
and the VTT, as episodes of two shows) and a third show whose episode (written here) has another person restate one
of the example's points, make another point on the same subject, and the example's Sarah come back to hers a year
later. Real MiniLM vectors, on both store backends (the SQLite file, then a copy of it in PostgreSQL); the HTTP API in
process and the search page's quote box in a real browser."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from helpers import DATA, cli, copy_library
from podscope.errors import InputError, NotFound
from podscope.library import Library
from podscope.lineage.text import align, pieces, read

pytestmark = pytest.mark.models

TRANSCRIPTS = DATA / "transcripts"
SARAH_AUDIO = "Creating good audio is really key to keeping your podcast listeners engaged"
ECHO = "Honestly, bad audio will drive your listeners away, even if what you are saying is brilliant."
OTHER_POINT = "I bought a new condenser microphone last month and I am still learning how to set the gain."
LATER = "These days I record most episodes in my closet with a cheap microphone, and nobody can tell the difference."
MIC_CHECK = f"""WEBVTT

00:00:01.000 --> 00:00:06.000
<v Dana Whitfield>{ECHO}

00:00:07.000 --> 00:00:12.000
<v Dana Whitfield>{OTHER_POINT}

00:00:13.000 --> 00:00:19.000
<v Sarah>{LATER}
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    work = tmp_path_factory.mktemp("lineage")
    (work / "mic-check.vtt").write_text(MIC_CHECK)
    home = work / "home"
    with Library(home) as lib:
        ten = lib.import_transcript(
            TRANSCRIPTS / "example.srt", podcast="Buzzcast", title="10 things", published="2021-03-01"
        )
        trailer = lib.import_transcript(
            TRANSCRIPTS / "example.vtt", podcast="Podcasting Q&A", title="Trailer", published="2022-06-15"
        )
        mic = lib.import_transcript(work / "mic-check.vtt", podcast="Mic Check", title="Gear", published="2023-04-02")
    return {"home": home, "ten": ten.episode.id, "trailer": trailer.episode.id, "mic": mic.episode.id}


@pytest.fixture(scope="module")
def library(backend: str, built: dict[str, Any], request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    url = ""
    if backend == "postgres":
        url = copy_library(built["home"], request.getfixturevalue("pg_database")("lineage"))
    lib = Library(built["home"], settings={"store_url": url})
    yield {**built, "lib": lib, "url": url}
    lib.close()


def segment(lib: Library, episode: int, opening: str) -> Any:
    return next(s for s in lib.transcript(episode).segments if s.text.startswith(opening))


# -- reading quotes (no library) -------------------------------------------------------------------------------------


def test_quotes_are_read_without_case_punctuation_fillers_or_ellipses() -> None:
    said = read("So, um, you know, we went back through the archives of the Q and A show, and, uh, five minute Mondays")
    assert "um" not in said.norm and "uh" not in said.norm and "know" not in said.norm
    quote = pieces("“We went back through the archives” … “five minute Mondays”")
    assert [p.norm for p in quote] == [
        ("we", "went", "back", "through", "the", "archives"),
        ("five", "minute", "mondays"),
    ]
    found = align(quote, said)
    assert found is not None and found.matched == found.quoted == 9
    assert [d.kind for d in found.diff] == ["equal", "gap", "equal"]
    assert found.diff[1].said == "of the Q and A show and"
    assert read("Don’t").norm == read("don't").norm == ("dont",)


# -- quote check ------------------------------------------------------------------------------------------------------


def test_a_verbatim_quote_is_found_with_who_when_and_where(library: dict[str, Any]) -> None:
    lib = library["lib"]
    said = segment(lib, library["ten"], "Creating good audio")
    quote = f"“{SARAH_AUDIO.replace('your', 'your,')}, because no matter how good the content is…”"
    check = lib.lineage.quote_check(quote)
    assert check.verdict == "verbatim" and not check.changed
    best = check.best
    assert best is not None
    assert (best.person, best.episode_id, best.podcast) == ("Sarah", library["ten"], "Buzzcast")
    assert best.published is not None and best.published.isoformat() == "2021-03-01"
    assert best.start == round(said.start, 2) and best.link == f"/episodes/{library['ten']}#t={said.start:.2f}"
    assert best.said.startswith("Creating good audio") and best.agreement == 1.0


def test_fillers_trimmed_and_ellipses_still_verbatim(library: dict[str, Any]) -> None:
    lib = library["lib"]
    # Said: "unless you're recording video like this one , um , wherever you can just to muffle the sound ..."
    check = lib.lineage.quote_check("recording video like this one, wherever you can just to muffle the sound")
    assert check.verdict == "verbatim"
    check = lib.lineage.quote_check(
        "Joe Rogan has some episodes that are three hours long ... successful at 10 minutes"
    )
    assert check.verdict == "verbatim" and check.best is not None
    assert [d.kind for d in check.best.diff] == ["equal", "gap", "equal"] and check.best.person == "Gilon"


def test_a_changed_word_is_close_and_shown(library: dict[str, Any]) -> None:
    check = library["lib"].lineage.quote_check(SARAH_AUDIO.replace("good", "great"))
    assert check.verdict == "close" and check.best is not None and check.best.person == "Sarah"
    assert [(d.kind, d.quoted, d.said) for d in check.changed] == [("replace", "great", "good")]
    dropped = library["lib"].lineage.quote_check(SARAH_AUDIO.replace("really ", ""))
    assert dropped.verdict == "close"
    assert [(d.kind, d.said) for d in dropped.changed] == [("insert", "really")]


def test_a_paraphrase_and_an_absent_quote(library: dict[str, Any]) -> None:
    lib = library["lib"]
    check = lib.lineage.quote_check(
        "Most podcasters don't need their own website, since a podcast host like Buzzsprout already gives them one."
    )
    assert check.verdict == "paraphrase" and check.best is not None and check.best.person == "Sarah"
    assert check.best.similarity >= 0.5 and check.best.agreement < 0.75
    absent = lib.lineage.quote_check("The stock market fell sharply after the central bank raised interest rates.")
    assert absent.verdict == "not found" and absent.best is None and absent.others == ()


def test_speaker_filter_and_bad_input(library: dict[str, Any]) -> None:
    lib = library["lib"]
    assert lib.lineage.quote_check(SARAH_AUDIO, speaker="Sarah").verdict == "verbatim"
    assert lib.lineage.quote_check(SARAH_AUDIO, speaker="Travis").verdict not in ("verbatim", "close")
    with pytest.raises(NotFound, match="no person named"):
        lib.lineage.quote_check(SARAH_AUDIO, speaker="Nobody Here")
    for bad in ("", "…", "good audio"):
        with pytest.raises(InputError, match="expected at least 3 words"):
            lib.lineage.quote_check(bad)


# -- threads ----------------------------------------------------------------------------------------------------------


def test_a_thread_orders_statements_finds_firsts_echoes_and_views(library: dict[str, Any]) -> None:
    lib = library["lib"]
    t = lib.lineage.thread("poor audio quality makes listeners leave")
    texts = [s.text for s in t.statements]
    assert any(x.startswith("Creating good audio") for x in texts) and ECHO in texts
    dates = [s.published for s in t.statements]
    assert dates == sorted(dates)  # type: ignore[type-var]
    assert t.firsts.earliest is not None and t.firsts.earliest.published == min(dates)  # type: ignore[type-var]
    shows = {f.name: f.statement for f in t.firsts.by_show}
    assert shows["Mic Check"].speaker == "Dana Whitfield" and shows["Buzzcast"].episode_id == library["ten"]
    sarah_to_dana = [e for e in t.echoes if e.echo.text == ECHO]
    assert sarah_to_dana and sarah_to_dana[0].source.person == "Sarah", [(e.source.text, e.echo.text) for e in t.echoes]
    assert all(e.echo.text != OTHER_POINT for e in t.echoes)  # the same subject, another point: no echo
    for e in t.echoes:
        assert e.source.speaker != e.echo.speaker and e.similarity > 0
    views = {p.person: p for p in t.people}
    assert "Sarah" in views and views["Sarah"].earliest.published is not None
    if views["Sarah"].count > 1:
        assert views["Sarah"].earliest.published <= views["Sarah"].latest.published  # type: ignore[operator]
        assert 0 <= views["Sarah"].distance <= 2


def test_a_thread_from_a_segment_and_its_errors(library: dict[str, Any]) -> None:
    lib = library["lib"]
    said = segment(lib, library["mic"], "Honestly, bad audio")
    seg_id = next(
        s.segment_id
        for s in lib.lineage.thread("poor audio quality makes listeners leave").statements
        if s.text == said.text
    )
    t = lib.lineage.thread(segment=seg_id)
    assert t.topic == ECHO and any(s.segment_id == seg_id and s.relevance > 0.99 for s in t.statements)
    with pytest.raises(NotFound, match="no segment"):
        lib.lineage.thread(segment=10**9)
    with pytest.raises(InputError):
        lib.lineage.thread()
    with pytest.raises(NotFound):
        lib.lineage.thread("audio", podcast="No Such Show")


# -- surfaces ---------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def api(library: dict[str, Any]) -> Iterator[TestClient]:
    from helpers import in_process

    with in_process(library["lib"]) as client:
        yield client


def test_the_api_answers_quote_checks_and_threads(library: dict[str, Any], api: TestClient) -> None:
    r = api.get("/api/quote-check", params={"q": SARAH_AUDIO.replace("good", "great")})
    assert r.status_code == 200
    body = r.json()
    assert body["verdict"] == "close" and body["best"]["person"] == "Sarah"
    assert body["changed"] == [{"kind": "replace", "quoted": "great", "said": "good"}]
    assert api.get("/api/quote-check", params={"q": "two words"}).status_code == 400
    assert api.get("/api/quote-check", params={"q": SARAH_AUDIO, "speaker": "Nobody"}).status_code == 404
    r = api.get("/api/thread", params={"q": "poor audio quality makes listeners leave"})
    assert r.status_code == 200 and any(e["echo"]["text"] == ECHO for e in r.json()["echoes"])
    assert api.get("/api/thread").status_code == 400
    assert api.get("/api/thread", params={"segment": 10**9}).status_code == 404
    assert api.get("/api/thread", params={"segment": 0}).status_code == 400
    paths = api.get("/api/openapi.json").json()["paths"]
    assert "/api/quote-check" in paths and "/api/thread" in paths


def test_the_commands(library: dict[str, Any]) -> None:
    if library["url"]:
        pytest.skip("the command line is the same over either store; run once")
    home = library["home"]
    done = cli(home, "quote-check", SARAH_AUDIO.replace("good", "great"))
    assert done.returncode == 0, done.stderr
    assert "CLOSE" in done.stdout and "quoted 'great', said 'good'" in done.stdout and "Sarah" in done.stdout
    done = cli(home, "thread", "poor audio quality makes listeners leave", "--json")
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert any(e["echo"]["text"] == ECHO for e in answer["echoes"]) and answer["firsts"]["earliest"]
    done = cli(home, "quote-check", "too short")
    assert done.returncode == 1 and "expected at least 3 words" in done.stderr


@pytest.mark.browser
def test_the_quote_box_on_the_search_page(library: dict[str, Any], page: Any) -> None:
    if library["url"]:
        pytest.skip("the page is the same over either store; run once")
    page.goto("/")
    page.fill("textarea[name=quote]", SARAH_AUDIO.replace("good", "great"))
    page.click("text=Check quote")
    page.wait_for_selector(".quote-check")
    box = page.inner_text(".quote-check")
    assert box.startswith("Close") and "Sarah" in box and "Buzzcast" in box
    assert page.inner_text(".quote-diff del") == "great" and page.inner_text(".quote-diff ins") == "good"
    link = page.get_attribute(".quote-check a.episode-link", "href")
    assert re.fullmatch(rf"/episodes/{library['ten']}#t=\d+\.\d\d", link)


def test_the_thread_page(library: dict[str, Any], api: TestClient) -> None:
    topic = "poor audio quality makes listeners leave"
    t = library["lib"].lineage.thread(topic)
    r = api.get("/thread", params={"q": topic})
    assert r.status_code == 200
    assert r.text.count('class="dot-stmt') == len(t.statements) and r.text.count("<line ") == len(t.echoes)
    assert "Dana Whitfield" in r.text and "How each person" in r.text
    assert api.get("/thread", params={"segment": "abc"}).status_code == 400
    assert api.get("/thread", params={"segment": str(10**9)}).status_code == 404
    assert api.get("/thread").status_code == 200  # the empty form


@pytest.mark.browser
def test_the_timeline_in_a_browser(library: dict[str, Any], page: Any) -> None:
    if library["url"]:
        pytest.skip("the page is the same over either store; run once")
    topic = "poor audio quality makes listeners leave"
    t = library["lib"].lineage.thread(topic)
    page.goto("/search?q=" + topic.replace(" ", "+"))
    page.click("text=Follow this as a thread")
    page.wait_for_selector(".timeline")
    names = page.locator(".timeline-name").all_inner_texts()
    assert names[0] == t.statements[0].speaker and "Dana Whitfield" in names
    assert page.locator(".dot-stmt").count() == len(t.statements)
    assert page.locator(".timeline-echoes line").count() == len(t.echoes) >= 1
    first = t.statements[0]
    page.locator(f'.dot-stmt[href="{first.link}"]').first.click()  # no recording here: the dot opens the episode
    page.wait_for_url(re.compile(rf".*/episodes/{first.episode_id}#t=.*"))


def test_threads_and_quotes_follow_deletions_and_names(library: dict[str, Any], tmp_path: Any) -> None:
    if library["url"]:
        pytest.skip("deleting and renaming go through the same store calls as search's own tests on both backends")
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(library["home"] / "podscope.db", home / "podscope.db")
    (home / "models").symlink_to(library["home"] / "models", target_is_directory=True)
    topic = "poor audio quality makes listeners leave"
    with Library(home) as lib:
        assert lib.lineage.quote_check(ECHO).verdict == "verbatim"
        lib.people.rename("Dana Whitfield", "Dana W.")
        assert any(e.echo.speaker == "Dana W." for e in lib.lineage.thread(topic).echoes)
        lib.delete_episode(library["mic"])
        t = lib.lineage.thread(topic)
        assert all(s.episode_id != library["mic"] for s in t.statements) and not t.echoes
        assert lib.lineage.quote_check(ECHO).verdict != "verbatim"
