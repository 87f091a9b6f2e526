"""The MCP server, driven by the `mcp` SDK's own client: over stdio (a real `podscope mcp` subprocess) and over
streamable HTTP (`/mcp` of a real `podscope serve` on loopback, with API keys).

The library holds two Podcasting 2.0 example transcripts (tests/data/transcripts: SRT and WebVTT, speakers named by
their publisher), imported into a real SQLite file with real MiniLM vectors; the tests run on it and on a copy in a
real PostgreSQL database. Answers are checked against the library itself (its search, transcripts and people), never
against numbers written here. The tests that change the library come last and each names a different speaker. The
voice tools (unknown voices, review, confirming) need recordings: the real two-speaker sample is run through the
pipeline twice (a WAV and an MP3 of it), so both of its voices recur unnamed; each run works on its own copy.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from helpers import DATA, ON_SQLITE_ONLY, SAMPLE_WAV, cli_here, copy_library, encode, in_process, served, use_store
from podscope.library import Library
from podscope.search.engine import SearchOptions

mcp_client = pytest.importorskip("mcp.client", reason="pip install 'podscope[mcp]'")
import httpx2  # noqa: E402  (comes with the mcp SDK)
from mcp.client.stdio import StdioServerParameters, stdio_client  # noqa: E402
from mcp.client.streamable_http import streamable_http_client  # noqa: E402

pytestmark = pytest.mark.models  # importing a transcript embeds its segments with MiniLM

TRANSCRIPTS = DATA / "transcripts"
SETTINGS: dict[str, Any] = {"asr_model": "tiny.en", "allow_download": False}
STDIO_BASE = "http://podscope.example:8765"  # `podscope mcp --base-url`: where the deep links point
READ_TOOLS = {
    "search",
    "list_episodes",
    "read_transcript",
    "episode_speakers",
    "episode_chapters",
    "quote_check",
    "thread",
    "person",
    "unknown_voices",
    "review_queue",
    "library_stats",
}
ADMIN_TOOLS = {"confirm_attribution", "reject_attribution", "name_speaker", "name_unknown_voice"}
T = TypeVar("T")
Session = Any  # mcp.client.Client


@dataclass(frozen=True)
class Built:
    home: Path
    pristine: Path
    ids: dict[str, int]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    home = tmp_path_factory.mktemp("mcp-home")
    with Library(home, settings=SETTINGS) as lib:
        ids = {
            "srt": lib.import_transcript(
                TRANSCRIPTS / "example.srt", podcast="Buzzsprout Tips", title="Rookie mistakes", published="2023-03-01"
            ).episode.id,
            "vtt": lib.import_transcript(
                TRANSCRIPTS / "example.vtt", podcast="Podcasting Q&A", title="Trailers", published="2024-06-01"
            ).episode.id,
        }
    pristine = tmp_path_factory.mktemp("mcp-pristine")
    shutil.copy(home / "podscope.db", pristine / "podscope.db")
    return Built(home, pristine, ids)


@pytest.fixture(scope="module")
def home(built: Built, backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The library on the backend: the SQLite home, or a home whose store is a PostgreSQL copy of it."""
    if backend == "sqlite":
        return built.home
    url = copy_library(built.pristine, request.getfixturevalue("pg_database")("mcp"))
    return use_store(tmp_path_factory.mktemp("mcp-home-pg"), url, models_of=built.home)


@pytest.fixture(scope="module")
def keys(home: Path) -> dict[str, str]:
    with Library(home, settings=SETTINGS) as lib:
        return {scope: lib.keys.create(scope, f"mcp {scope}")[1] for scope in ("read", "admin")}


@pytest.fixture(scope="module")
def server(home: Path) -> Any:
    """`podscope serve` over the library: a real uvicorn on loopback; yields its base URL."""
    with Library(home, settings=SETTINGS) as lib, served(lib) as url:
        yield url


def run(coro: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(coro())  # type: ignore[arg-type]


@asynccontextmanager
async def over_stdio(home: Path, errors: Path, *options: str) -> AsyncIterator[Session]:
    """A `podscope mcp` subprocess on `home`, spoken to by the SDK's client; its stderr goes to `errors`."""
    env = {"PYTHONPATH": os.environ.get("PYTHONPATH", ""), "PODSCOPE_HOME": str(home)}
    env |= {k: v for k, v in os.environ.items() if k in ("PODSCOPE_CACHE_DIR", "PODSCOPE_SYNTH_CACHE")}
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "podscope.cli", "mcp", "--base-url", STDIO_BASE, *options], env=env
    )
    with errors.open("a") as errlog:
        async with mcp_client.Client(stdio_client(params, errlog=errlog)) as client:
            yield client


@asynccontextmanager
async def over_http(url: str, key: str | None) -> AsyncIterator[Session]:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=120) as http,
        mcp_client.Client(streamable_http_client(f"{url}/mcp", http_client=http)) as client,
    ):
        yield client


async def answer(client: Session, tool: str, **arguments: Any) -> dict[str, Any]:
    """A tool's structured answer; the call must succeed."""
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, result.content
    assert isinstance(result.structured_content, dict)
    return result.structured_content


async def refusal(client: Session, tool: str, **arguments: Any) -> str:
    """A tool error (not a protocol failure, not a crash): its text."""
    result = await client.call_tool(tool, arguments)
    assert result.is_error, result.structured_content
    text: str = result.content[0].text
    assert "Traceback" not in text
    return text


def link(base: str, episode_id: int, start: float | None = None) -> str:
    return f"{base}/episodes/{episode_id}" + ("" if start is None else f"#t={start:.2f}")


async def check_reading_tools(client: Session, home: Path, ids: dict[str, int], base: str) -> None:
    """Every reading tool, its answer checked against the library."""
    listed = await client.list_tools()
    tools = {t.name: t for t in listed.tools}
    assert set(tools) == READ_TOOLS | ADMIN_TOOLS
    for name, t in tools.items():
        assert t.description and len(t.description) > 60, name
        assert t.input_schema["type"] == "object" and t.output_schema, name
        assert t.annotations is not None and t.annotations.read_only_hint is (name in READ_TOOLS), name
    search_params = tools["search"].input_schema["properties"]
    assert {"query", "mode", "speaker", "podcast", "since", "until", "min_tier", "language"} <= set(search_params)
    assert set(search_params["mode"]["enum"]) == {"hybrid", "text", "semantic"}

    with Library(home, settings=SETTINGS) as lib:
        expected = lib.search.search("rookie mistakes", SearchOptions(mode="text", speaker="Travis", limit=5))
        segments = lib.transcript(ids["vtt"]).segments
        speakers = lib.episode_speakers(ids["vtt"])
        page = lib.people.show("Travis", quotes=3)
        counts = lib.counts()
        outline = lib.chapters.episode(ids["vtt"])
        checked = lib.lineage.quote_check("make a handful of rookie mistakes")
        history = lib.lineage.thread("rookie mistakes")
    # Who said "rookie mistakes", and where to hear it.
    found = await answer(client, "search", query="rookie mistakes", mode="text", speaker="Travis", limit=5)
    assert [(h["episode_id"], h["start"]) for h in found["hits"]] == [
        (h.episode_id, round(h.start, 2)) for h in expected.hits
    ]
    assert found["hits"] and found["total"] == expected.total
    first = found["hits"][0]
    assert first["speaker"] == "Travis" and "rookie" in first["text"].lower()
    assert first["link"] == link(base, ids["srt"], first["start"])
    # Filters: another podcast, a date window that excludes it, a semantic question, context lines.
    assert (await answer(client, "search", query="rookie mistakes", podcast="Podcasting Q&A"))["total"] == 0
    assert (await answer(client, "search", query="rookie mistakes", since="2024-01-01"))["hits"] == []
    meaning = await answer(client, "search", query="errors beginners make", mode="semantic", limit=3, context=1)
    assert meaning["mode"] == "semantic" and meaning["hits"]
    assert all(line["link"].startswith(link(base, h["episode_id"])) for h in meaning["hits"] for line in h["after"])
    # Reading around a hit.
    middle = segments[len(segments) // 2]
    read = await answer(client, "read_transcript", episode_id=ids["vtt"], start=middle.start, end=middle.end)
    assert middle.text in [s["text"] for s in read["segments"]]
    assert all(s["link"] == link(base, ids["vtt"], s["start"]) for s in read["segments"])
    whole = await answer(client, "read_transcript", episode_id=ids["vtt"], max_segments=1)
    assert len(whole["segments"]) == 1 and whole["more"] is (len(segments) > 1)
    # An episode's speakers.
    cast = await answer(client, "episode_speakers", episode_id=ids["vtt"])
    assert {s["label"] for s in cast["speakers"]} == {s.label for s in speakers}
    assert all(s["first_heard"].startswith(link(base, ids["vtt"]) + "#t=") for s in cast["speakers"])
    # An episode's chapters and key moments.
    chapters = await answer(client, "episode_chapters", episode_id=ids["vtt"])
    assert [c["title"] for c in chapters["chapters"]] == [c.title for c in outline.chapters]
    assert [m["text"] for m in chapters["moments"]] == [m.text for m in outline.moments] and chapters["moments"]
    assert chapters["chapters"][0]["link"] == link(base, ids["vtt"], outline.chapters[0].start)
    # Did someone say it, and how an idea travelled.
    quoted = await answer(client, "quote_check", text="make a handful of rookie mistakes")
    assert quoted["verdict"] == checked.verdict == "verbatim" and checked.best is not None
    assert quoted["best"]["link"] == link(base, checked.best.episode_id, checked.best.start)
    followed = await answer(client, "thread", topic="rookie mistakes")
    assert [x["segment_id"] for x in followed["statements"]] == [x.segment_id for x in history.statements]
    assert followed["statements"] and all(x["link"].startswith(base + "/episodes/") for x in followed["statements"])
    # A person page.
    travis = await answer(client, "person", name="travis", quotes=3)
    assert travis["name"] == "Travis" and len(travis["appearances"]) == len(page.appearances)
    assert [q["text"] for q in travis["quotes"]] == [q.text for q in page.quotes]
    assert travis["quotes"][0]["link"] == link(base, page.quotes[0].episode_id, page.quotes[0].start)
    # Voices, review, overview and the episode list.
    assert (await answer(client, "unknown_voices"))["voices"] == []  # transcripts carry no voices
    assert (await answer(client, "review_queue"))["items"] == []  # publishers' names are decisions, not guesses
    stats = await answer(client, "library_stats")
    assert stats["counts"] == counts and {p["title"] for p in stats["podcasts"]} == {
        "Buzzsprout Tips",
        "Podcasting Q&A",
    }
    listed_episodes = (await answer(client, "list_episodes"))["episodes"]
    assert {e["id"] for e in listed_episodes} == set(ids.values())
    assert all(e["link"] == link(base, e["id"]) for e in listed_episodes)


async def check_bad_arguments(client: Session) -> None:
    """Bad arguments are tool errors that say what is wrong, and the server goes on answering."""
    assert "no episode with id 987654" in await refusal(client, "read_transcript", episode_id=987654)
    assert "no person named" in await refusal(client, "person", name="Nobody Atall")
    assert "limit" in await refusal(client, "search", query="podcast", limit=500)
    assert "since" in await refusal(client, "search", query="podcast", since="last tuesday")
    assert "mode" in await refusal(client, "search", query="podcast", mode="fuzzy")
    assert "query" in await refusal(client, "search")
    assert "expected end >= start" in await refusal(client, "read_transcript", episode_id=1, start=20, end=10)
    assert "Unknown tool" in await refusal(client, "delete_everything")
    assert (await answer(client, "library_stats"))["counts"]["episodes"] == 2


def test_stdio_answers_who_said_what_with_deep_links(home: Path, built: Built, tmp_path: Path) -> None:
    async def go() -> None:
        async with over_stdio(home, tmp_path / "stderr.txt") as client:
            await check_reading_tools(client, home, built.ids, STDIO_BASE)
            await check_bad_arguments(client)

    run(go)


def test_http_needs_a_key_and_answers_with_links_to_the_server(
    server: str, home: Path, built: Built, keys: dict[str, str]
) -> None:
    missing = httpx.post(f"{server}/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    assert missing.status_code == 401 and "API key" in missing.json()["error"]
    wrong = httpx.post(f"{server}/mcp", json={}, headers={"Authorization": "Bearer psk_not_a_key"})
    assert wrong.status_code == 401 and "unknown or revoked" in wrong.json()["error"]
    with Library(home, settings=SETTINGS) as lib:
        revoked, secret = lib.keys.create("admin", "revoked")
        lib.keys.revoke(revoked.id)
    gone = httpx.post(f"{server}/mcp", json={}, headers={"Authorization": f"Bearer {secret}"})
    assert gone.status_code == 401 and "unknown or revoked" in gone.json()["error"]

    async def go() -> None:
        async with over_http(server, keys["read"]) as client:
            await check_reading_tools(client, home, built.ids, server)
            await check_bad_arguments(client)

    run(go)


@ON_SQLITE_ONLY
def test_mcp_requests_count_against_the_rate_limit(home: Path, keys: dict[str, str]) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    headers = {"Authorization": f"Bearer {keys['read']}", "Accept": "application/json, text/event-stream"}
    with Library(home, settings={**SETTINGS, "api_rate_per_minute": 2}) as lib, served(lib) as url:
        answers = [httpx.post(f"{url}/mcp", json=body, headers=headers) for _ in range(3)]
    assert (
        answers[0].status_code == 200
        and answers[-1].status_code == 429
        and int(answers[-1].headers["Retry-After"]) >= 1
    )
    assert "too many requests" in answers[-1].json()["error"]


def test_a_read_key_cannot_change_the_library_and_an_admin_key_can(
    server: str, built: Built, keys: dict[str, str]
) -> None:
    async def go() -> None:
        async with over_http(server, keys["read"]) as reader:
            text = await refusal(reader, "name_speaker", episode_id=built.ids["srt"], label="Travis", name="Travis A")
            assert "admin API key" in text
            assert (await answer(reader, "person", name="Travis"))["appearances"]
        async with over_http(server, keys["admin"]) as admin:
            done = await answer(
                admin, "name_speaker", episode_id=built.ids["srt"], label="Travis", name="Travis Albritton"
            )
            assert "Travis Albritton" in done["done"]
            renamed = await answer(admin, "person", name="Travis Albritton")
            assert [a["episode_id"] for a in renamed["appearances"]] == [built.ids["srt"]]
            assert (
                "no speaker"
                in (await refusal(admin, "name_speaker", episode_id=built.ids["srt"], label="X", name="Y")).lower()
            )

    run(go)


def test_stdio_is_read_only_unless_started_with_admin(home: Path, built: Built, tmp_path: Path) -> None:
    async def go() -> None:
        async with over_stdio(home, tmp_path / "stderr.txt") as client:
            text = await refusal(client, "name_speaker", episode_id=built.ids["vtt"], label="Gillian", name="Gillian R")
            assert "--admin" in text
        async with over_stdio(home, tmp_path / "stderr.txt", "--admin") as client:
            await answer(client, "name_speaker", episode_id=built.ids["vtt"], label="Gillian", name="Gillian R")
            cast = await answer(client, "episode_speakers", episode_id=built.ids["vtt"])
            assert "Gillian R" in {s["name"] for s in cast["speakers"]}

    run(go)


@pytest.fixture(scope="module")
def recordings(tmp_path_factory: pytest.TempPathFactory, sample_samples: Any) -> Built:
    """The real two-speaker sample through the whole pipeline twice (a WAV, and an MP3 of it: another file), in a
    SQLite file kept as built."""
    work = tmp_path_factory.mktemp("mcp-voices")
    again = encode(work / "again.mp3", sample_samples, "libmp3lame")
    with Library(work / "home", settings=SETTINGS) as lib:
        ids = {
            "one": lib.add_audio(SAMPLE_WAV, podcast="Phone Line", title="One", published="2024-05-01").episode.id,
            "two": lib.add_audio(again, podcast="Phone Line", title="Two", published="2024-05-08").episode.id,
        }
    return Built(work / "home", work / "home", ids)


@pytest.mark.slow  # the pipeline twice over a real recording: about 45 s on 2 cores
def test_voice_tools_name_a_recurring_voice_and_confirm_a_match(
    recordings: Built, backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Both voices of the sample recur unnamed; naming one over HTTP with an admin key names it in both episodes;
    naming the other in one episode makes its voice in the other a match to confirm."""
    home = tmp_path / "home"
    if backend == "sqlite":
        home.mkdir()
        shutil.copy(recordings.home / "podscope.db", home / "podscope.db")
        (home / "models").symlink_to(recordings.home / "models", target_is_directory=True)
    else:
        use_store(home, copy_library(recordings.home, request.getfixturevalue("pg_url")), models_of=recordings.home)
    one, two = recordings.ids["one"], recordings.ids["two"]
    with Library(home, settings=SETTINGS) as lib, served(lib) as url:
        unknown = lib.people.unknown()
        admin_key = lib.keys.create("admin")[1]

        async def go() -> None:
            async with over_http(url, admin_key) as client:
                voices = (await answer(client, "unknown_voices"))["voices"]
                assert [v["id"] for v in voices] == [v.id for v in unknown] and len(voices) == 2
                for v in voices:
                    assert v["episodes"] == [one, two]
                    heard = v["heard_at"]
                    assert heard["link"] == link(url, heard["episode_id"], heard["start"]) and heard["quote"]
                first = voices[0]["id"]
                await answer(client, "name_unknown_voice", unknown_id=first, name="Diane")
                diane = await answer(client, "person", name="Diane")
                assert sorted(a["episode_id"] for a in diane["appearances"]) == [one, two]
                assert [v["id"] for v in (await answer(client, "unknown_voices"))["voices"]] == [voices[1]["id"]]
                assert "no unknown voice" in await refusal(client, "name_unknown_voice", unknown_id="U999", name="X")
                # The other voice named in one episode is matched by its voice in the other.
                cast = await answer(client, "episode_speakers", episode_id=one)
                other = next(s for s in cast["speakers"] if s["person"] is None)
                await answer(client, "name_speaker", episode_id=one, label=other["label"], name="Sheila")
                queue = [
                    item
                    for tier in ("matched", "verified", "low")
                    for item in (await answer(client, "review_queue", tier=tier))["items"]
                ]
                match = next(item for item in queue if item["person"] == "Sheila")
                assert match["heard_at"]["episode_id"] == two
                assert match["heard_at"]["link"] == link(url, two, match["heard_at"]["start"])
                await answer(client, "confirm_attribution", speaker_id=match["speaker_id"])
                sheila = await answer(client, "person", name="Sheila")
                assert {a["episode_id"]: a["tier"] for a in sheila["appearances"]} == {
                    one: "confirmed",
                    two: "confirmed",
                }

        run(go)


def test_without_the_sdk_both_surfaces_name_the_extra(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "mcp", None)  # as if the extra were not installed
    code, out, err = cli_here(capsys, "mcp", "--home", tmp_path / "home")
    assert code == 1 and out == "" and "pip install 'podscope[mcp]'" in err
    with Library(tmp_path / "home", settings=SETTINGS) as lib, in_process(lib) as client:
        response = client.post("/mcp", json={})
        assert response.status_code == 501 and "podscope[mcp]" in response.json()["error"]
