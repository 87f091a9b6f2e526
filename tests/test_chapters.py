"""Chapters and key moments over a real library, on both store backends.

The library holds an episode joined from three real conversations in tests/data (a support call about online shop
platforms, two tips of the Buzzsprout podcast episode, and the teleportation pitch of the gecko sales call), imported
as a Podcasting 2.0 transcript and embedded with the real MiniLM, so the true topic changes are the joins. A second
episode is the whole Buzzsprout episode, to which the spec's real example chapters file (CC0) is given as the
publisher's. Feeds are read from a real HTTP server on loopback.
"""

from __future__ import annotations

import itertools
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from helpers import DATA, cli_here, copy_library, files_server, in_process, use_store
from podscope import formats
from podscope.errors import InputError, NotFound
from podscope.formats import chapters as chapters_json
from podscope.library import Library
from podscope.records import Chapter, Segment

pytestmark = pytest.mark.models  # import_transcript embeds the segments with MiniLM
TOLERANCE = 30.0  # seconds: how near a true topic change a chapter must start
EXAMPLE_CHAPTERS = DATA / "feeds" / "podcast-namespace" / "chapters-example.json"
EXCERPT_CHAPTERS = [Chapter(0.0, "Opening", url="https://example.com/a"), Chapter(5.5, "Ünïcode & <tags>", end=9.0)]
# The Podcasting 2.0 chapters file (JSON chapters 1.2.0) as its specification states it: a version and a list of
# chapters, each with a start in seconds; title, img, url, toc, endTime optional.
CHAPTERS_SCHEMA = {
    "type": "object",
    "required": ["version", "chapters"],
    "properties": {
        "version": {"const": "1.2.0"},
        "author": {"type": "string"},
        "title": {"type": "string"},
        "podcastName": {"type": "string"},
        "description": {"type": "string"},
        "fileName": {"type": "string"},
        "waypoints": {"type": "boolean"},
        "chapters": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["startTime"],
                "properties": {
                    "startTime": {"type": "number", "minimum": 0},
                    "endTime": {"type": "number", "minimum": 0},
                    "title": {"type": "string"},
                    "img": {"type": "string"},
                    "url": {"type": "string"},
                    "toc": {"type": "boolean"},
                    "location": {"type": "object"},
                },
                "additionalProperties": False,
            },
        },
    },
    "additionalProperties": False,
}


# -- the real material -------------------------------------------------------------------------------------------------


def support_call() -> list[Segment]:
    data = json.loads((DATA / "conversations" / "azure-call-silver" / "transcription_response_azure.json").read_text())
    return [
        Segment(p["offset"] / 1000, (p["offset"] + p["duration"]) / 1000, "Agent", p["text"]) for p in data["phrases"]
    ]


def podcast_episode() -> list[Segment]:
    return formats.read((DATA / "transcripts" / "example.srt").read_text(encoding="utf-8-sig"), "srt")


def sales_call() -> list[Segment]:
    """The gecko call's monologues, cut at sentence ends."""
    data = json.loads((DATA / "conversations" / "gecko-sales-call" / "demo.json").read_text())
    out: list[Segment] = []
    for monologue in data["monologues"]:
        words: list[tuple[float, float, str]] = []
        for term in monologue["terms"]:
            if term["type"] == "WORD":
                words.append((term["start"], term["end"], term["text"]))
            elif words and term["text"] in ".?!":
                out.append(
                    Segment(words[0][0], words[-1][1], monologue["speaker"]["id"], " ".join(w[2] for w in words))
                )
                words = []
        if words:
            out.append(Segment(words[0][0], words[-1][1], monologue["speaker"]["id"], " ".join(w[2] for w in words)))
    return out


def between(segments: list[Segment], start: float, end: float) -> list[Segment]:
    return [s for s in segments if start <= s.start and s.end <= end]


def joined() -> tuple[list[Segment], list[float]]:
    """The pieces end to end (1 s apart) and where each join is."""
    pieces = [
        between(support_call(), 0.0, 120.0),
        between(podcast_episode(), 53.0, 219.0),
        between(sales_call(), 247.0, 406.0),
    ]
    out: list[Segment] = []
    joins: list[float] = []
    t = 0.0
    for n, piece in enumerate(pieces):
        t0 = piece[0].start
        if n:
            joins.append(t)
        out += [Segment(s.start - t0 + t, s.end - t0 + t, s.speaker, s.text) for s in piece]
        t = out[-1].end + 1.0
    return out, joins


def podcast_json(segments: list[Segment]) -> str:
    """A Podcasting 2.0 transcript (JSON 1.0.0)."""
    return json.dumps(
        {
            "version": "1.0.0",
            "segments": [
                {"speaker": s.speaker, "startTime": s.start, "endTime": s.end, "body": s.text} for s in segments
            ],
        }
    )


# -- the library -------------------------------------------------------------------------------------------------------


def build(home: Path, work: Path) -> dict[str, Any]:
    segments, joins = joined()
    path = work / "joined.json"
    path.write_text(podcast_json(segments))
    with Library(home) as lib:
        mixed = lib.import_transcript(path, podcast="Mixed Signals", title="Three calls", published="2025-06-01")
        tips = lib.import_transcript(
            DATA / "transcripts" / "example.srt",
            podcast="Buzzcast",
            title="Ten rookie mistakes",
            published="2024-11-04",
        )
        excerpt = lib.import_transcript(DATA / "transcripts" / "example.vtt", podcast="Buzzcast", title="Excerpt")
        lib.chapters.set_publisher(excerpt.episode.id, EXCERPT_CHAPTERS)
    return {
        "joined": mixed.episode.id,
        "tips": tips.episode.id,
        "excerpt": excerpt.episode.id,
        "joins": joins,
        "segments": segments,
    }


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The library, built once in a SQLite file."""
    work = tmp_path_factory.mktemp("chapters")
    return {**build(work / "home", work), "home": work / "home"}


@pytest.fixture(scope="module")
def library(
    backend: str, built: dict[str, Any], tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[dict[str, Any]]:
    """The library on each backend in turn: the SQLite file, then a copy of it in a PostgreSQL database (the same
    rows and ids). "template" is what a test's own copy is made from: the file, or a database left untouched."""
    home, template = built["home"], ""
    if backend == "postgres":
        databases = request.getfixturevalue("pg_database")
        template = copy_library(home, databases("chapters_template", template=request.getfixturevalue("pg_template")))
        home = use_store(tmp_path_factory.mktemp("chapters-pg") / "home", databases("chapters", template), home)
    lib = Library(home)
    try:
        yield {**built, "lib": lib, "template": template}
    finally:
        lib.close()


@pytest.fixture()
def own(library: dict[str, Any], tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Library]:
    """A library of the test's own, a copy of the module's on its backend (for tests that change it)."""
    home = tmp_path / "home"
    if library["template"]:
        use_store(home, request.getfixturevalue("pg_copy")(library["template"]), library["home"])
    else:
        home.mkdir()
        shutil.copy(library["home"] / "podscope.db", home / "podscope.db")
        (home / "models").symlink_to(library["home"] / "models", target_is_directory=True)
    lib = Library(home)
    try:
        yield lib
    finally:
        lib.close()


def words(text: str) -> str:
    return " ".join(re.findall(r"[^\W_]+(?:'[^\W_]+)*", text.lower().replace("’", "'")))


# -- chapters found where the topic shifts -----------------------------------------------------------------------------


def test_chapters_start_near_the_true_topic_changes(library: dict[str, Any]) -> None:
    lib: Library = library["lib"]
    found = lib.chapters.episode(library["joined"])
    assert found.source == "computed"
    starts = [c.start for c in found.chapters]
    assert starts[0] == 0.0 and starts == sorted(starts)
    for join in library["joins"]:
        assert any(abs(s - join) <= TOLERANCE for s in starts), f"no chapter starts near the join at {join:.0f} s"
    # not cut into crumbs: each chapter at least the shortest length, and at most twice as many boundaries as the
    # labelled topic changes (the joins, and the podcast's piece holds two tips: one more)
    episode = lib.episode(library["joined"])
    shortest = lib.chapters.options.shortest(episode.duration)
    assert all(b - a >= shortest for a, b in itertools.pairwise(starts))
    assert len(starts) - 1 <= 2 * (len(library["joins"]) + 1)
    for chapter, following in zip(found.chapters, [*found.chapters[1:], None], strict=True):
        assert chapter.end == pytest.approx(following.start if following else chapter.end)
    assert found.computed == found.chapters


def test_titles_and_key_moments_are_what_was_said(library: dict[str, Any]) -> None:
    lib: Library = library["lib"]
    found = lib.chapters.episode(library["joined"])
    segments = lib.transcript(library["joined"]).segments
    for n, chapter in enumerate(found.chapters):
        end = chapter.end if chapter.end is not None else float("inf")
        spoken = words(" ".join(s.text for s in segments if chapter.start <= s.start < end))
        assert chapter.title and words(chapter.title) in spoken, f"chapter {n}: {chapter.title!r} is not said in it"
        assert len(chapter.title.split()) <= 9
    moments = found.moments
    assert 1 <= len(moments) <= 10
    assert len({m.chapter for m in moments}) == len(moments), "at most one key moment a chapter"
    assert [m.start for m in moments] == sorted(m.start for m in moments)
    texts = {(s.start, s.text) for s in segments}
    for m in moments:
        assert (m.start, m.text) in texts
        chapter = found.chapters[m.chapter]
        assert chapter.start <= m.start < (chapter.end or float("inf"))
        assert m.name and m.speaker


def test_a_long_episode_gets_five_to_ten_key_moments(library: dict[str, Any]) -> None:
    found = library["lib"].chapters.episode(library["tips"])
    assert len(found.chapters) >= 5
    assert 5 <= len(found.moments) <= 10


def test_key_moments_follow_a_re_attribution(own: Library, library: dict[str, Any]) -> None:
    episode = library["joined"]
    before = own.chapters.episode(episode).moments
    label = before[0].speaker
    assert label is not None
    own.people.assign(episode, label, "Renamed Person")
    after = own.chapters.episode(episode).moments
    assert [m.start for m in after] == [m.start for m in before]
    assert [m.name for m in after if m.speaker == label] == ["Renamed Person"] * sum(m.speaker == label for m in after)


def test_a_deleted_episode_has_no_chapters(own: Library, library: dict[str, Any]) -> None:
    own.chapters.import_file(library["tips"], EXAMPLE_CHAPTERS)
    own.delete_episode(library["tips"])
    with pytest.raises(NotFound):
        own.chapters.episode(library["tips"])
    assert not [o for o in own.store.maintenance.orphans() if o.table == "publisher_chapters"]


def test_a_new_episode_has_chapters_once_it_arrives(own: Library, tmp_path: Path) -> None:
    segments, joins = joined()
    path = tmp_path / "again.json"
    path.write_text(podcast_json(segments))
    added = own.import_transcript(path, podcast="Mixed Signals", title="Three calls, again")
    starts = [c.start for c in own.chapters.episode(added.episode.id).chapters]
    assert all(any(abs(s - j) <= TOLERANCE for s in starts) for j in joins)


# -- the publisher's chapters ------------------------------------------------------------------------------------------


def test_publisher_chapters_are_preferred(own: Library, library: dict[str, Any]) -> None:
    episode = library["tips"]
    given = chapters_json.read(EXAMPLE_CHAPTERS.read_bytes())
    kept = own.chapters.import_file(episode, EXAMPLE_CHAPTERS)
    assert kept == given
    found = own.chapters.episode(episode)
    assert found.source == "publisher"
    assert [(c.start, c.title, c.url, c.img) for c in found.chapters] == [
        (c.start, c.title, c.url, c.img) for c in given
    ]
    assert len(found.computed) > 1 and found.computed != found.chapters  # podscope's own are still there
    assert all(found.chapters[m.chapter].start <= m.start for m in found.moments)
    exported = json.loads(own.chapters.export(episode))
    assert [c["title"] for c in exported["chapters"]] == [c.title for c in given]
    own.chapters.set_publisher(episode, [])
    assert own.chapters.episode(episode).source == "computed"


def test_publisher_chapters_are_kept_by_the_store(library: dict[str, Any]) -> None:
    """Kept as given on either backend (on PostgreSQL they came over with `store copy`)."""
    lib: Library = library["lib"]
    assert lib.chapters.publisher(library["excerpt"]) == EXCERPT_CHAPTERS
    found = lib.chapters.episode(library["excerpt"])
    assert found.source == "publisher" and list(found.chapters) == EXCERPT_CHAPTERS


def test_the_command_imports_and_clears_publisher_chapters(
    own: Library, library: dict[str, Any], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    episode = library["tips"]
    code, _, err = cli_here(capsys, "chapters", episode, "--import", EXAMPLE_CHAPTERS, "--json", "--home", own.home)
    assert code == 0 and "Kept 9 publisher chapters" in err
    assert own.chapters.episode(episode).source == "publisher"
    code, out, _ = cli_here(capsys, "chapters", episode, "--clear", "--json", "--home", own.home)
    assert code == 0 and json.loads(out)["source"] == "computed"
    missing = tmp_path / "nowhere.json"
    code, _, err = cli_here(capsys, "chapters", episode, "--import", missing, "--home", own.home)
    assert code == 1 and "nowhere.json" in err


def test_a_bad_chapters_file_is_one_sentence(own: Library, library: dict[str, Any], tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    for text in ("not json", '{"version": "1.2.0"}', '{"version": "1.2.0", "chapters": [{"title": "no start"}]}'):
        bad.write_text(text)
        with pytest.raises(InputError) as caught:
            own.chapters.import_file(library["tips"], bad)
        assert "\n" not in str(caught.value) and "chapters" in str(caught.value)
    assert own.chapters.publisher(library["tips"]) == []


FEED = """<?xml version="1.0"?>
<rss version="2.0" xmlns:podcast="https://podcastindex.org/namespace/1.0" xmlns:psc="http://podlove.org/simple-chapters">
<channel><title>Chapter Notes</title>
  <item><title>Ten tips</title><guid>cn-1</guid><pubDate>Mon, 15 Apr 2024 10:00:00 GMT</pubDate>
    <podcast:transcript url="{base}/t/tips.srt" type="application/srt"/>
    <podcast:chapters url="{base}/c/tips.json" type="application/json+chapters"/></item>
  <item><title>Later</title><guid>cn-2</guid><pubDate>Mon, 22 Apr 2024 10:00:00 GMT</pubDate>
    <enclosure url="{base}/a/later.mp3" type="audio/mpeg" length="1000"/>
    <psc:chapters version="1.2"><psc:chapter start="00:00:00" title="Hello"/>
      <psc:chapter start="00:01:30.5" title="The news" href="https://example.com/news"/></psc:chapters></item>
</channel></rss>
"""


def test_a_feeds_chapters_become_the_publishers(own: Library) -> None:
    files: dict[str, bytes] = {
        "/t/tips.srt": (DATA / "transcripts" / "example.srt").read_bytes(),
        "/c/tips.json": EXAMPLE_CHAPTERS.read_bytes(),
    }
    with files_server(files) as base:
        files["/feed.xml"] = FEED.format(base=base).encode()
        lib = Library(own.home, settings={"allow_private_addresses": True})
        try:
            added = lib.feeds.add(f"{base}/feed.xml")
            items = {i.key: i for i in lib.feeds.pending(added.id)}
            later = items["cn-2"].episode_id
            assert later is not None
            assert [(c.start, c.title, c.url) for c in lib.chapters.publisher(later)] == [
                (0.0, "Hello", None),
                (90.5, "The news", "https://example.com/news"),
            ]
            outcome = lib.feeds.process_item(items["cn-1"].id)
            assert outcome.status == "done" and outcome.episode_id is not None
            found = lib.chapters.episode(outcome.episode_id)
        finally:
            lib.close()
    assert found.source == "publisher"
    assert [c.title for c in found.chapters] == [c.title for c in chapters_json.read(EXAMPLE_CHAPTERS.read_bytes())]


# -- exports and the shells --------------------------------------------------------------------------------------------


def test_the_export_is_podcasting_2_chapters_json(library: dict[str, Any]) -> None:
    lib: Library = library["lib"]
    document = json.loads(lib.chapters.export(library["joined"]))
    jsonschema.validate(document, CHAPTERS_SCHEMA)
    assert document["version"] == "1.2.0" and document["title"] == "Three calls"
    found = lib.chapters.episode(library["joined"])
    assert [(c["startTime"], c["title"]) for c in document["chapters"]] == [
        (pytest.approx(c.start, abs=1e-3), c.title) for c in found.chapters
    ]
    assert chapters_json.read(json.dumps(document))[0].title == found.chapters[0].title  # it reads back


def test_the_markdown_transcript_lists_the_chapters(library: dict[str, Any]) -> None:
    lib: Library = library["lib"]
    text = lib.export_transcript(library["joined"], "md")
    listed = re.findall(r"^- \*\*\[(\d\d:\d\d:\d\d)\]\*\* (.+)$", text, flags=re.M)
    found = lib.chapters.episode(library["joined"])
    assert len(listed) == len(found.chapters)
    assert text.index("## Chapters") < text.index("## Transcript")


def test_the_command(library: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    home, episode = library["lib"].home, library["joined"]
    code, out, _ = cli_here(capsys, "chapters", episode, "--json", "--home", home)
    assert code == 0
    data = json.loads(out)
    assert data["source"] == "computed" and data["chapters"] and data["moments"]
    code, out, _ = cli_here(capsys, "chapters", episode, "--format", "chapters-json", "--home", home)
    assert code == 0
    jsonschema.validate(json.loads(out), CHAPTERS_SCHEMA)
    code, out, _ = cli_here(capsys, "chapters", episode, "--home", home)
    assert code == 0 and "Key moments" in out
    code, _, err = cli_here(capsys, "chapters", 999999, "--home", home)
    assert code == 1 and "999999" in err and len(err.strip().splitlines()) == 1
    code, out, _ = cli_here(capsys, "transcript", episode, "--format", "md", "--home", home)
    assert code == 0 and "## Chapters" in out


def test_the_api(library: dict[str, Any]) -> None:
    episode = library["joined"]
    with in_process(library["lib"]) as http:
        answer = http.get(f"/api/episodes/{episode}/chapters")
        assert answer.status_code == 200
        body = answer.json()
        assert body["source"] == "computed" and body["chapters"][0]["start"] == 0.0 and body["moments"]
        exported = http.get(f"/api/episodes/{episode}/chapters", params={"format": "chapters-json"})
        assert exported.status_code == 200
        assert exported.headers["content-type"].startswith(chapters_json.MEDIA_TYPE)
        jsonschema.validate(exported.json(), CHAPTERS_SCHEMA)
        assert http.get(f"/api/episodes/{episode}/chapters", params={"format": "pdf"}).status_code == 400
        missing = http.get("/api/episodes/999999/chapters")
        assert missing.status_code == 404 and "999999" in missing.json()["error"]
        paths = http.get("/api/openapi.json").json()["paths"]
        assert "/api/episodes/{episode_id}/chapters" in paths
