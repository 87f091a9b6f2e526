"""The JSON API over a real library, spoken to with httpx: in this process (the app called directly, as from this
machine) where the answer is all a test checks, and through a real uvicorn on loopback where the server matters.

The library holds three publisher transcripts (SRT, WebVTT, Podcasting 2.0 JSON: no audio) and one real recording
processed by the real pipeline, built once into a SQLite file. The tests that touch the store run on both backends
(the `backend` fixture): on that file, then on a copy of it in a PostgreSQL database (`podscope store copy`: the same
rows and ids) named by the home's config; those of HTTP rules alone (the OpenAPI document, loopback and keys, rate
and size limits, Range requests) run once. Variants of the app (settings for keys, loopback, rate limits, upload
size) are made over the same home as they are needed. A real server answers Range and HEAD requests for audio and
every test of a remote client, which is simulated the way a local reverse proxy would present one: uvicorn trusts
X-Forwarded-For from loopback, so such a request comes from that address. On PostgreSQL, two real servers share one
store, as replicas.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from helpers import (
    DATA,
    ON_POSTGRES_ONLY,
    ON_SQLITE_ONLY,
    SAMPLE_WAV,
    cli,
    copy_library,
    files_server,
    in_process,
    query,
    served,
    stored_bytes,
    use_store,
    write_wav,
)
from podscope.audio import load_audio
from podscope.formats import FORMATS, MEDIA_TYPES
from podscope.ingest import transcript_episode
from podscope.library import Library
from podscope.records import Diarization, EpisodeMeta, ProcessedEpisode, Segment, SpeakerTrack, Turn

TRANSCRIPTS = DATA / "transcripts"
SETTINGS: dict[str, Any] = {"asr_model": "tiny.en", "allow_download": False, "allow_private_addresses": True}
REMOTE = {"X-Forwarded-For": "203.0.113.9"}  # a client elsewhere, behind a proxy on this machine


@dataclass
class Served:
    url: str
    lib: Library
    client: httpx.Client

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.client.get(path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.client.post(path, **kwargs)


@contextmanager
def serve(lib: Library) -> Iterator[Served]:
    """A real uvicorn on 127.0.0.1 (a free port) over `lib`, in a thread, and a client for it."""
    with served(lib) as url, httpx.Client(base_url=url, timeout=60) as client:
        yield Served(url, lib, client)


@contextmanager
def in_app(lib: Library) -> Iterator[Served]:
    """The app over `lib` in this process (no server, no socket); requests come from this machine."""
    with in_process(lib) as client:
        yield Served(str(client.base_url).rstrip("/"), lib, client)


@contextmanager
def variant(home: Path, real_server: bool = False, **settings: Any) -> Iterator[Served]:
    """The app over the same home with other settings: in this process, or behind a real uvicorn."""
    with Library(home, settings={**SETTINGS, **settings}) as lib, (serve if real_server else in_app)(lib) as app:
        yield app


def assert_error(response: httpx.Response, status: int, *words: str) -> dict[str, Any]:
    """An error answer: the status, JSON {"error", "status"}, a sentence with `words`, and no traceback."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "status"} and body["status"] == status
    assert "Traceback" not in response.text and 'File "' not in response.text
    for word in words:
        assert word.lower() in body["error"].lower(), body["error"]
    return dict(body)


def wait_for(served: Served, job: dict[str, Any], timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while job["status"] in ("queued", "running"):
        assert time.monotonic() < deadline, job
        time.sleep(0.2)
        job = served.get(f"/api/jobs/{job['id']}").json()
    return job


@dataclass(frozen=True)
class Built:
    home: Path  # the SQLite home the library was built in (the sqlite runs change it as they go)
    pristine: Path  # a home holding a copy of its file as built, for the PostgreSQL copies
    ids: dict[str, int]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    home = tmp_path_factory.mktemp("api-home")
    with Library(home, settings=SETTINGS) as lib:
        ids = {
            "srt": lib.import_transcript(
                TRANSCRIPTS / "example.srt", podcast="Buzzsprout Tips", title="Rookie mistakes", published="2023-03-01"
            ).episode.id,
            "vtt": lib.import_transcript(
                TRANSCRIPTS / "example.vtt", podcast="Podcasting Q&A", title="Trailers", published="2024-06-01"
            ).episode.id,
            "json": lib.import_transcript(TRANSCRIPTS / "example.json", podcast="Star Wars", title="Father").episode.id,
            "audio": lib.add_audio(
                SAMPLE_WAV, podcast="Phone Line", title="Diane and Sheila", published="2024-05-01"
            ).episode.id,
        }
    pristine = tmp_path_factory.mktemp("api-pristine")
    shutil.copy(home / "podscope.db", pristine / "podscope.db")
    return Built(home, pristine, ids)


@pytest.fixture(scope="module")
def stored(built: Built, backend: str, request: pytest.FixtureRequest) -> str:
    """On PostgreSQL, a database holding the library as built, never opened again: what the module's store and the
    replicas' store are copied from. On SQLite, nothing ("")."""
    if backend == "sqlite":
        return ""
    template = request.getfixturevalue("pg_template")
    return copy_library(built.pristine, request.getfixturevalue("pg_database")("api_template", template=template))


@pytest.fixture(scope="module")
def home(built: Built, stored: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The module's home on its backend: the SQLite home the library was built in, or a home whose config names a
    PostgreSQL database of the module's own holding a copy of the library (the exported models shared)."""
    if not stored:
        return built.home
    url = request.getfixturevalue("pg_database")("api", template=stored)
    return use_store(tmp_path_factory.mktemp("api-home-pg"), url, models_of=built.home)


@pytest.fixture(scope="module")
def ids(built: Built) -> dict[str, int]:
    """Episode key -> id, the same on both backends (the copy keeps ids)."""
    return built.ids


@pytest.fixture(scope="module")
def api(home: Path, ids: dict[str, int]) -> Iterator[Served]:
    """The app as `podscope serve` runs it on someone's own machine (default settings), in this process."""
    with variant(home) as app:
        yield app


@pytest.fixture(scope="module")
def api_server(home: Path, ids: dict[str, int]) -> Iterator[Served]:
    """The same, behind a real uvicorn on loopback."""
    with variant(home, real_server=True) as server:
        yield server


# -- reading -------------------------------------------------------------------------------------------------------


@pytest.mark.models
@ON_SQLITE_ONLY
def test_openapi_document_lists_every_route_with_models(api: Served) -> None:
    doc = api.get("/api/openapi.json").json()
    paths = doc["paths"]
    for path, method in [
        ("/api/search", "get"),
        ("/api/podcasts", "get"),
        ("/api/podcasts/{podcast_id}", "get"),
        ("/api/episodes", "get"),
        ("/api/episodes", "post"),
        ("/api/episodes/{episode_id}", "get"),
        ("/api/episodes/{episode_id}", "delete"),
        ("/api/episodes/{episode_id}/transcript", "get"),
        ("/api/episodes/{episode_id}/audio", "get"),
        ("/api/people", "get"),
        ("/api/people/{name}", "get"),
        ("/api/people/unknown", "get"),
        ("/api/review", "get"),
        ("/api/review/{speaker_id}/confirm", "post"),
        ("/api/review/{speaker_id}/reject", "post"),
        ("/api/people/assign", "post"),
        ("/api/people/rename", "post"),
        ("/api/people/merge", "post"),
        ("/api/people/enroll", "post"),
        ("/api/feeds", "get"),
        ("/api/feeds", "post"),
        ("/api/feeds/sync", "post"),
        ("/api/jobs", "get"),
        ("/api/jobs/{job_id}", "get"),
        ("/api/jobs/{job_id}/cancel", "post"),
        ("/api/people/rescore", "post"),
    ]:
        assert method in paths.get(path, {}), (path, method)
    search = paths["/api/search"]["get"]
    params = {p["name"]: p for p in search["parameters"]}
    cli_options = {"q", "speaker", "podcast", "since", "until", "mode", "min_tier", "language", "sort", "limit"}
    assert cli_options | {"offset", "context"} <= set(params)
    assert params["mode"]["schema"]["enum"] == ["hybrid", "text", "semantic"]
    assert search["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("SearchResult")
    assert "422" not in search["responses"] and "4XX" in search["responses"]
    transcript = {p["name"]: p for p in paths["/api/episodes/{episode_id}/transcript"]["get"]["parameters"]}
    assert transcript["format"]["schema"]["enum"] == list(FORMATS)
    assert "multipart/form-data" in paths["/api/episodes"]["post"]["requestBody"]["content"]
    assert doc["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"
    assert api.get("/api/docs").status_code == 200


@pytest.mark.models
def test_health_podcasts_and_episodes(api: Served, ids: dict[str, int]) -> None:
    health = api.get("/api/health").json()
    assert health["counts"]["episodes"] == 4
    podcasts = {p["title"]: p for p in api.get("/api/podcasts").json()}
    assert set(podcasts) == {"Buzzsprout Tips", "Podcasting Q&A", "Star Wars", "Phone Line"}
    detail = api.get(f"/api/podcasts/{podcasts['Buzzsprout Tips']['id']}").json()
    assert [e["id"] for e in detail["episodes"]] == [ids["srt"]]
    assert {p["name"] for p in detail["people"]} == {"Travis", "Sarah", "Gilon"}
    assert detail["people"][0]["name"] == "Travis" and detail["people"][0]["speaking_seconds"] > 100
    assert [e["id"] for e in api.get("/api/episodes", params={"podcast": "Phone Line"}).json()] == [ids["audio"]]
    assert len(api.get("/api/episodes").json()) == 4

    audio = api.get(f"/api/episodes/{ids['audio']}").json()
    assert audio["episode"]["title"] == "Diane and Sheila" and audio["episode"]["published"] == "2024-05-01"
    assert audio["audio_url"] == f"/api/episodes/{ids['audio']}/audio"
    assert len(audio["speakers"]) == 2 and all(s["voiceprint"] and s["name"] == s["label"] for s in audio["speakers"])
    assert {t["speaker"] for t in audio["turns"]} == {"SPEAKER_00", "SPEAKER_01"}
    srt = api.get(f"/api/episodes/{ids['srt']}").json()
    assert srt["audio_url"] is None and srt["credits"] == []
    assert {t["name"] for t in srt["turns"]} == {"Travis", "Sarah", "Gilon"}
    assert {(s["name"], s["tier"]) for s in srt["speakers"]} == {
        ("Travis", "confirmed"),
        ("Sarah", "confirmed"),
        ("Gilon", "confirmed"),
    }

    assert_error(api.get("/api/episodes/999"), 404, "no episode with id 999")
    assert_error(api.get("/api/podcasts/999"), 404, "no podcast with id 999")
    assert_error(api.get("/api/episodes", params={"podcast": "Nope"}), 404, "no podcast named 'Nope'")
    assert_error(api.get("/api/episodes/abc"), 400, "path parameter episode_id", "integer")
    assert_error(api.get("/api/no-such-route"), 404)


@pytest.mark.models
def test_search_offers_every_cli_option(api: Served, ids: dict[str, int]) -> None:
    def search(**params: Any) -> dict[str, Any]:
        response = api.get("/api/search", params=params)
        assert response.status_code == 200, response.text
        return dict(response.json())

    result = search(q="podcast", mode="text", limit=3, context=1)
    assert result["mode"] == "text" and result["total"] > 3 and len(result["hits"]) == 3
    hit = result["hits"][0]
    assert {"episode_id", "start", "end", "speaker", "tier", "highlights", "before", "after", "score"} <= set(hit)
    start, end = hit["highlights"][0]
    assert hit["text"][start:end].lower().startswith("podcast")
    assert hit["before"] or hit["after"]
    assert set(result["facets"]) == {"speaker", "podcast", "year"} and result["estimated"] is False

    page2 = search(q="podcast", mode="text", limit=3, offset=3)
    assert page2["offset"] == 3 and {h["segment_id"] for h in page2["hits"]}.isdisjoint(
        h["segment_id"] for h in result["hits"]
    )
    travis = search(q="podcast", mode="text", speaker="Travis", limit=50)
    assert travis["hits"] and {h["speaker"] for h in travis["hits"]} == {"Travis"}
    qa = search(q="podcast", mode="text", podcast="Podcasting Q&A", limit=50)
    assert {h["episode_id"] for h in qa["hits"]} == {ids["vtt"]}
    dated = search(q="podcast", mode="text", since="2024-01-01", until="2024-12-31", sort="date", limit=50)
    assert {h["published"][:4] for h in dated["hits"]} == {"2024"}
    assert search(q="podcast", mode="text", language="fr")["total"] == 0
    assert search(q="podcast", mode="text", min_tier="confirmed")["total"] == result["total"]
    semantic = search(q="what should a show trailer include", mode="semantic", limit=3)
    assert semantic["hits"] and semantic["hits"][0]["episode_id"] == ids["vtt"]
    assert search(q="father", mode="hybrid")["hits"][0]["episode_id"] == ids["json"]

    assert_error(api.get("/api/search", params={"q": "x", "mode": "fuzzy"}), 400, "search mode 'fuzzy'")
    assert_error(api.get("/api/search", params={"q": "x", "limit": 0}), 400, "query parameter limit")
    assert_error(api.get("/api/search", params={"q": "x", "since": "2024-13-01"}), 400, "query parameter since")
    empty = api.get("/api/search", params={"q": "x", "since": "2024-02-01", "until": "2024-01-01"}).json()
    assert empty["total"] == 0 and "is after" in empty["notice"]
    assert_error(api.get("/api/search"), 400, "query parameter q", "field required")
    assert_error(api.get("/api/search", params={"q": "x", "speaker": "Nobody"}), 404, "Nobody")


@pytest.mark.models
def test_transcript_formats_and_media_types(api: Served, ids: dict[str, int]) -> None:
    data = api.get(f"/api/episodes/{ids['audio']}/transcript").json()
    assert data["episode"]["id"] == ids["audio"] and set(data["speakers"]) == {"SPEAKER_00", "SPEAKER_01"}
    assert data["segments"] and all(s["words"] for s in data["segments"])
    word = data["segments"][0]["words"][0]
    assert set(word) == {"start", "end", "text", "probability"} and word["end"] >= word["start"]
    named = api.get(f"/api/episodes/{ids['srt']}/transcript").json()
    assert named["segments"][0]["name"] == "Travis"

    for fmt in FORMATS:
        response = api.get(f"/api/episodes/{ids['srt']}/transcript", params={"format": fmt})
        assert response.status_code == 200, fmt
        assert response.headers["content-type"] == MEDIA_TYPES[fmt].content_type
        assert response.headers["content-disposition"] == f'inline; filename="episode-{ids["srt"]}.{fmt}"'
        assert "Travis" in response.text
    assert api.get(f"/api/episodes/{ids['srt']}/transcript?format=vtt").text.startswith("WEBVTT")
    exported = api.get(f"/api/episodes/{ids['srt']}/transcript?format=json").json()
    assert exported["version"] == "1.0.0" and exported["segments"][0]["speaker"] == "Travis"
    download = api.get(f"/api/episodes/{ids['srt']}/transcript?format=srt&download=true")
    assert download.headers["content-disposition"].startswith("attachment;")
    assert_error(api.get(f"/api/episodes/{ids['srt']}/transcript?format=docx"), 400, "docx", "txt, json, srt")
    assert_error(api.get("/api/episodes/999/transcript?format=vtt"), 404)


def _episode(title: str, segments: list[Segment], turns: list[Turn], labels: list[str]) -> ProcessedEpisode:
    return ProcessedEpisode(
        meta=EpisodeMeta(podcast="Turns", title=title),
        content_hash=title,
        duration=10.0,
        language="en",
        asr_model="tiny.en",
        asr_source="package",
        segments=tuple(segments),
        diarization=Diarization(
            turns=tuple(turns),
            speakers=tuple(
                SpeakerTrack(label, np.zeros(0, np.float32), sum(t.duration for t in turns if t.speaker == label))
                for label in labels
            ),
        ),
    )


def test_who_spoke_when_comes_from_the_turns(tmp_path: Path, store_url: str) -> None:
    """A speaker the recogniser caught no words from is in the episode's turns and its RTTM; overlapped speech gives
    overlapping turns and lines; an episode without turns falls back to its segments."""
    segments = [Segment(0.5, 2.8, "SPEAKER_00", "Hello and welcome."), Segment(3.2, 5.5, "SPEAKER_01", "Thanks.")]
    turns = [
        Turn(0.4, 3.0, "SPEAKER_00"),
        Turn(2.6, 5.8, "SPEAKER_01"),  # talks over the end of SPEAKER_00's turn
        Turn(6.0, 7.5, "SPEAKER_02"),  # no words
        Turn(7.5, 8.25, "SPEAKER_02"),  # touches the one before: one RTTM line
    ]
    with Library(tmp_path / "home", settings={**SETTINGS, "store_url": store_url}) as lib:
        diarized = lib.store.episodes.save(
            _episode("diarized", segments, turns, ["SPEAKER_00", "SPEAKER_01", "SPEAKER_02"])
        )
        lib.people.assign(diarized, "SPEAKER_02", "Sam Roe")
        untimed = lib.store.episodes.save(_episode("no turns", segments, [], ["SPEAKER_00", "SPEAKER_01"]))
        imported = lib.store.episodes.save(
            transcript_episode(
                EpisodeMeta(podcast="Turns", title="imported"), segments, content_hash="t", language="en", source="srt"
            )
        )
        with in_app(lib) as api:
            detail = api.get(f"/api/episodes/{diarized}").json()
            assert detail["turns"] == [
                {"start": 0.4, "end": 3.0, "speaker": "SPEAKER_00", "name": "SPEAKER_00"},
                {"start": 2.6, "end": 5.8, "speaker": "SPEAKER_01", "name": "SPEAKER_01"},
                {"start": 6.0, "end": 7.5, "speaker": "SPEAKER_02", "name": "Sam Roe"},
                {"start": 7.5, "end": 8.25, "speaker": "SPEAKER_02", "name": "Sam Roe"},
            ]
            assert {s["label"]: s["speaking_time"] for s in detail["speakers"]}["SPEAKER_02"] == 2.25
            rttm = api.get(f"/api/episodes/{diarized}/transcript", params={"format": "rttm"}).text
            assert rttm.splitlines() == [
                f"SPEAKER episode-{diarized} 1 0.400 2.600 <NA> <NA> SPEAKER_00 <NA> <NA>",
                f"SPEAKER episode-{diarized} 1 2.600 3.200 <NA> <NA> SPEAKER_01 <NA> <NA>",
                f"SPEAKER episode-{diarized} 1 6.000 2.250 <NA> <NA> Sam_Roe <NA> <NA>",
            ]
            for episode_id in (untimed, imported):  # who spoke when as far as the words tell
                assert [
                    (t["start"], t["end"], t["name"]) for t in api.get(f"/api/episodes/{episode_id}").json()["turns"]
                ] == [
                    (0.5, 2.8, "SPEAKER_00"),
                    (3.2, 5.5, "SPEAKER_01"),
                ]
                rttm = api.get(f"/api/episodes/{episode_id}/transcript", params={"format": "rttm"}).text
                assert [line.split()[3:5] for line in rttm.splitlines()] == [["0.500", "2.300"], ["3.200", "2.300"]]


# -- audio ---------------------------------------------------------------------------------------------------------


@pytest.mark.models
@ON_SQLITE_ONLY
def test_audio_range_requests(api_server: Served, ids: dict[str, int]) -> None:
    """Range and HEAD requests as a player sends them, to the real server."""
    data = SAMPLE_WAV.read_bytes()
    size = len(data)
    url = f"/api/episodes/{ids['audio']}/audio"
    whole = api_server.get(url)
    assert whole.status_code == 200 and whole.content == data
    assert whole.headers["accept-ranges"] == "bytes" and whole.headers["content-type"] == "audio/wav"
    head = api_server.client.head(url)
    assert head.status_code == 200 and int(head.headers["content-length"]) == size and not head.content

    part = api_server.get(url, headers={"Range": "bytes=100-1099"})
    assert part.status_code == 206 and part.content == data[100:1100]
    assert part.headers["content-range"] == f"bytes 100-1099/{size}"
    tail = api_server.get(url, headers={"Range": f"bytes={size - 10}-"})
    assert tail.status_code == 206 and tail.content == data[-10:]
    suffix = api_server.get(url, headers={"Range": "bytes=-500"})
    assert suffix.status_code == 206 and suffix.content == data[-500:]
    assert suffix.headers["content-range"] == f"bytes {size - 500}-{size - 1}/{size}"

    for bad in (f"bytes={size}-", "bytes=500-100", "bytes=-0", "bytes=abc", "items=0-5"):
        refused = api_server.get(url, headers={"Range": bad})
        assert_error(refused, 416, "cannot be served")
        assert refused.headers["content-range"] == f"bytes */{size}"
    assert_error(api_server.get(f"/api/episodes/{ids['srt']}/audio"), 404, "imported from a transcript")


@pytest.mark.models
def test_audio_outside_the_home_is_refused(api: Served, home: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "secret.wav"
    secret.write_bytes(SAMPLE_WAV.read_bytes()[:4000])
    uploads = home / "uploads"
    uploads.mkdir(exist_ok=True)
    (uploads / "swapped.wav").symlink_to(secret)
    inside = uploads / "inside.wav"
    inside.write_bytes(b"RIFF" + b"\0" * 100)
    [(podcast_id,)] = query(home, "SELECT MIN(id) FROM podcasts")
    [(episode_id,)] = query(
        home,
        "INSERT INTO episodes (podcast_id, title, source, content_hash) VALUES (?, 'Paths', '', 'paths') RETURNING id",
        (podcast_id,),
    )

    def audio_with_source(source: Path | str) -> httpx.Response:
        query(home, "UPDATE episodes SET source = ? WHERE id = ?", (str(source), episode_id))
        return api.get(f"/api/episodes/{episode_id}/audio")

    try:
        assert_error(audio_with_source(uploads / "swapped.wav"), 403, "outside the podscope home")
        assert_error(audio_with_source(f"{uploads}/../../{outside.name}/secret.wav"), 403, "outside the podscope home")
        assert_error(audio_with_source(uploads / "gone.wav"), 404, "no longer on disk")
        assert audio_with_source(inside).content == inside.read_bytes()
        assert audio_with_source(secret).content == secret.read_bytes()  # exactly the file it was added from
        assert api.get(f"/api/episodes/{episode_id}").json()["audio_url"] is not None
    finally:
        query(home, "DELETE FROM episodes WHERE id = ?", (episode_id,))
        for name in ("swapped.wav", "inside.wav"):
            (uploads / name).unlink()


# -- people and review ---------------------------------------------------------------------------------------------


@pytest.mark.models
def test_people_routes(api: Served, ids: dict[str, int]) -> None:
    label = api.get(f"/api/episodes/{ids['audio']}").json()["speakers"][0]["label"]
    enrolled = api.post("/api/people/enroll", json={"name": "Diane", "episode_id": ids["audio"], "label": label})
    assert enrolled.status_code == 200, enrolled.text
    assert enrolled.json()["attribution"]["person"] == "Diane"
    assert enrolled.json()["attribution"]["tier"] == "confirmed"

    roster = {p["name"]: p for p in api.get("/api/people").json()}
    assert {"Diane", "Travis", "Sarah", "Gilon"} <= set(roster)
    assert roster["Diane"]["active"] and roster["Diane"]["exemplars"] == 1 and not roster["Travis"]["active"]
    page = api.get("/api/people/Diane", params={"quotes": 2}).json()
    assert page["name"] == "Diane" and page["profile"]["active"] and len(page["profile"]["exemplars"]) == 1
    assert page["appearances_by_month"] == [
        {"month": "2024-05", "episodes": 1, "seconds": page["appearances"][0]["speaking_seconds"]}
    ]
    assert page["appearances"][0]["episode_id"] == ids["audio"] and len(page["quotes"]) <= 2
    assert api.get(f"/api/episodes/{ids['audio']}/transcript?format=txt").text.count("Diane") > 0

    assigned = api.post(
        "/api/people/assign", json={"episode_id": ids["srt"], "label": "Travis", "name": "Travis Albritton"}
    )
    assert assigned.status_code == 200 and assigned.json()["attribution"]["person"] == "Travis Albritton"
    renamed = api.post("/api/people/rename", json={"old": "Travis Albritton", "new": "T. Albritton"}).json()
    assert renamed["name"] == "T. Albritton"
    merged = api.post("/api/people/merge", json={"source": "Travis", "target": "T. Albritton"})
    assert merged.status_code == 200 and "changes" in merged.json()
    assert "Travis" not in {p["name"] for p in api.get("/api/people").json()}

    review = api.get("/api/review").json()
    assert set(review) == {"attributions", "flagged_exemplars"}
    assert api.get("/api/review", params={"tier": "low"}).status_code == 200
    assert isinstance(api.get("/api/people/unknown").json(), list)
    father = api.get(f"/api/episodes/{ids['json']}").json()["speakers"]
    luke = next(s for s in father if s["label"] == "Luke")
    confirmed = api.post(f"/api/review/{luke['id']}/confirm").json()
    assert confirmed["attribution"]["tier"] == "confirmed" and confirmed["changes"] == []
    rejected = api.post(f"/api/review/{luke['id']}/reject").json()
    assert rejected["attribution"] is None
    assert (
        next(s for s in api.get(f"/api/episodes/{ids['json']}").json()["speakers"] if s["id"] == luke["id"])["person"]
        is None
    )

    assert_error(api.get("/api/people/Nobody"), 404, "no person named 'Nobody'")
    assert_error(api.post("/api/review/99999/confirm"), 404, "no attribution 99999")
    assert_error(api.get("/api/review", params={"tier": "maybe"}), 400, "review tier 'maybe'")
    assert_error(api.post("/api/people/enroll", json={"name": "X"}), 400, "either episode_id and label")
    assert_error(api.post("/api/people/enroll", json={"name": "X", "unknown_id": "U99999"}), 404, "no unknown voice")
    assert_error(api.post("/api/people/assign", json={"episode_id": ids["srt"]}), 400, "field label", "required")
    not_json = api.post("/api/people/rename", content=b"{not json", headers={"Content-Type": "application/json"})
    assert_error(not_json, 400, "json")
    assert_error(api.post("/api/people/merge", json={"source": "Sarah", "target": "Sarah"}), 400, "same person")


# -- uploads, jobs and feeds ---------------------------------------------------------------------------------------


@pytest.mark.models
def test_upload_job_lifecycle(api: Served, home: Path, tmp_path: Path) -> None:
    clip = write_wav(tmp_path / "first eight seconds.wav", load_audio(SAMPLE_WAV)[: 8 * 16000])
    form = {"podcast": "Uploads", "title": "../../Eight seconds", "published": "2024-07-01"}
    with clip.open("rb") as handle:
        response = api.post("/api/episodes", data=form, files={"file": (clip.name, handle, "audio/wav")})
    assert response.status_code == 202, response.text
    job = response.json()
    assert response.headers["location"] == job["url"] == f"/api/jobs/{job['id']}"
    assert job["kind"] == "upload" and job["status"] in ("queued", "running")
    done = wait_for(api, job)
    assert done["status"] == "done", done
    assert done["created"] is True and done["error"] is None and done["stage"] and done["finished_at"]
    assert done["id"] in {j["id"] for j in api.get("/api/jobs").json()}

    episode = api.get(f"/api/episodes/{done['episode_id']}").json()
    assert episode["episode"]["podcast"] == "Uploads" and episode["episode"]["published"] == "2024-07-01"
    kept = list((home / "uploads").iterdir())
    assert len(kept) == 1 and kept[0].suffix == ".wav" and ".." not in kept[0].name
    assert episode["episode"]["source"] == str(kept[0].resolve())
    assert api.get(episode["audio_url"], headers={"Range": "bytes=0-3"}).content == b"RIFF"

    with clip.open("rb") as handle:  # the same recording again: nothing new, and no second copy kept
        again = wait_for(api, api.post("/api/episodes", data=form, files={"file": (clip.name, handle)}).json())
    assert again["status"] == "done" and again["created"] is False and again["episode_id"] == done["episode_id"]
    assert list((home / "uploads").iterdir()) == kept

    silence = write_wav(tmp_path / "silence.wav", np.zeros(3 * 16000, np.float32))
    with silence.open("rb") as handle:
        failed = wait_for(api, api.post("/api/episodes", data=form, files={"file": (silence.name, handle)}).json())
    assert failed["status"] == "failed" and "speech" in failed["error"] and "Traceback" not in failed["error"]
    assert list((home / "uploads").iterdir()) == kept

    not_audio = api.post("/api/episodes", data=form, files={"file": ("notes.txt", b"hello, not audio")})
    assert_error(not_audio, 400, "cannot be read as audio")
    assert_error(api.post("/api/episodes", data=form), 400, "field named file")
    with clip.open("rb") as handle:
        no_podcast = api.post("/api/episodes", data={"title": "x"}, files={"file": (clip.name, handle)})
    assert_error(no_podcast, 400, "podcast name is empty")
    with clip.open("rb") as handle:
        bad_date = api.post("/api/episodes", data={**form, "published": "July"}, files={"file": (clip.name, handle)})
    assert_error(bad_date, 400, "expected YYYY-MM-DD")
    assert list((home / "uploads").iterdir()) == kept
    assert_error(api.get("/api/jobs/nope"), 404, "no job 'nope'")

    deleted = api.client.delete(f"/api/episodes/{done['episode_id']}")
    assert deleted.status_code == 200 and deleted.json()["id"] == done["episode_id"]
    assert_error(api.get(f"/api/episodes/{done['episode_id']}"), 404)
    assert_error(api.client.delete(f"/api/episodes/{done['episode_id']}"), 404)


@ON_SQLITE_ONLY
def test_upload_size_limit(home: Path, tmp_path: Path) -> None:
    clip = write_wav(tmp_path / "clip.wav", load_audio(SAMPLE_WAV)[: 4 * 16000])
    with variant(home, max_upload_mb=0) as small, clip.open("rb") as handle:
        refused = small.post("/api/episodes", data={"podcast": "P"}, files={"file": (clip.name, handle)})
    assert_error(refused, 413, "max_upload_mb")


@pytest.fixture()
def feed_site(tmp_path: Path) -> Iterator[str]:
    transcript = "1\n00:00:00,000 --> 00:00:04,000\nMarta: Welcome to a feed that only has transcripts.\n"
    files = {
        "/feed.xml": (
            b'<?xml version="1.0"?><rss version="2.0" xmlns:podcast="https://podcastindex.org/namespace/1.0">'
            b"<channel><title>Text Only</title><item><guid>t-1</guid><title>Words alone</title>"
            b"<pubDate>Mon, 01 Jul 2024 10:00:00 GMT</pubDate>"
            b'<podcast:transcript url="/t/1.srt" type="application/srt"/></item></channel></rss>'
        ),
        "/t/1.srt": transcript.encode(),
    }

    with files_server(files) as base:
        files["/feed.xml"] = files["/feed.xml"].replace(b'url="/t/1.srt"', f'url="{base}/t/1.srt"'.encode())
        yield f"{base}/feed.xml"


@pytest.mark.models
def test_feeds_follow_sync_and_unfollow(api: Served, feed_site: str) -> None:
    added = api.post("/api/feeds", json={"url": feed_site})
    assert added.status_code == 201, added.text
    assert added.json()["podcast"] == "Text Only" and added.json()["items"] == 1
    listed = api.get("/api/feeds").json()
    assert [(f["podcast"], f["pending"]) for f in listed] == [("Text Only", 1)]
    assert listed[0]["language_set"] is None and "language_declared" in listed[0]

    job = api.post("/api/feeds/sync", json={"feed_id": added.json()["id"]})
    assert job.status_code == 202 and job.json()["kind"] == "sync"
    done = wait_for(api, job.json())
    assert done["status"] == "done" and done["result"]["processed"] == 1 and done["result"]["errors"] == []
    assert [(f["pending"], f["done"]) for f in api.get("/api/feeds").json()] == [(0, 1)]
    assert [e["title"] for e in api.get("/api/episodes", params={"podcast": "Text Only"}).json()] == ["Words alone"]
    assert wait_for(api, api.post("/api/feeds/sync").json())["status"] == "done"  # no body: every feed

    assert_error(api.post("/api/feeds", json={"url": "/etc/passwd"}), 400, "expected an http(s) URL")
    assert_error(api.post("/api/feeds", json={"url": feed_site}), 404, "already followed")
    assert_error(api.post("/api/feeds/sync", json={"feed_id": 999}), 404, "no feed with id 999")
    assert_error(api.post("/api/feeds/sync", json={"since": "soon"}), 400, "field since")
    removed = api.client.delete(f"/api/feeds/{added.json()['id']}")
    assert removed.status_code == 200 and removed.json()["pending_dropped"] == 0
    assert api.get("/api/feeds").json() == []


# -- keys, loopback and rate limits --------------------------------------------------------------------------------


@pytest.mark.models
def test_keys_admin_read_revoked_and_hashed_at_rest(home: Path, ids: dict[str, int]) -> None:
    created = cli(home, "keys", "create", "--scope", "admin", "--name", "ci")
    assert created.returncode == 0, created.stderr
    admin_key = created.stdout.strip()
    assert admin_key.startswith("psk_") and len(admin_key) > 40 and "shown only now" in created.stderr
    with Library(home, settings=SETTINGS) as lib:
        read_stored, read_key = lib.store.keys.create("read", "dashboard")
    admin = {"Authorization": f"Bearer {admin_key}"}
    read = {"Authorization": f"Bearer {read_key}"}

    with variant(home, api_open_admin_on_loopback=False) as strict:
        merge = {"source": "Sarah", "target": "Sarah"}  # refused by the library (400) once past the key check
        assert_error(strict.post("/api/people/merge", json=merge), 401, "needs an admin API key")
        assert strict.post("/api/people/merge", json=merge).headers["www-authenticate"] == "Bearer"
        assert_error(strict.post("/api/people/merge", json=merge, headers=read), 403, "may only read")
        assert_error(strict.post("/api/people/merge", json=merge, headers=admin), 400, "same person")
        assert_error(strict.client.delete("/api/episodes/999", headers=admin), 404)
        assert_error(strict.client.delete("/api/episodes/999", headers=read), 403)
        assert strict.get("/api/episodes").status_code == 200  # reading is open by default
        assert strict.get("/api/episodes", headers=read).status_code == 200
        bad = {"Authorization": "Bearer psk_not-a-key"}
        assert_error(strict.get("/api/episodes", headers=bad), 401, "unknown or revoked")
        assert_error(strict.get("/api/episodes", headers={"Authorization": "Basic dXNlcjpwdw=="}), 401, "Bearer")

        listed = json.loads(cli(home, "keys", "list", "--json").stdout)
        assert [(k["name"], k["scope"], k["revoked_at"]) for k in listed] == [
            ("ci", "admin", None),
            ("dashboard", "read", None),
        ]
        assert listed[0]["last_used_at"] is not None and listed[0]["prefix"] == admin_key[:12]
        revoked = cli(home, "keys", "revoke", str(listed[0]["id"]))
        assert revoked.returncode == 0 and "revoked" in revoked.stdout
        assert_error(strict.post("/api/people/merge", json=merge, headers=admin), 401, "unknown or revoked")
        assert strict.get("/api/episodes", headers=read).status_code == 200
        assert strict.get("/api/episodes", headers=admin).headers["www-authenticate"] == "Bearer"

    with Library(home, settings=SETTINGS) as lib:
        assert lib.store.keys.revoke(read_stored.id).revoked_at is not None
    stored = stored_bytes(home)
    assert admin_key.encode() not in stored and read_key.encode() not in stored
    assert admin_key[12:].encode() not in stored  # beyond the listed prefix, nothing of the key is kept


@pytest.mark.models
@ON_SQLITE_ONLY
def test_read_requires_key(home: Path, ids: dict[str, int]) -> None:
    with Library(home, settings=SETTINGS) as lib:
        _, key = lib.store.keys.create("read")
    with variant(home, real_server=True, api_read_requires_key=True) as locked:
        assert locked.get("/api/episodes").status_code == 200  # this machine, with loopback opening on
        assert_error(locked.get("/api/episodes", headers=REMOTE), 401, "needs an API key to read")
        assert_error(locked.get(f"/api/episodes/{ids['audio']}/audio", headers=REMOTE), 401)
        assert locked.get("/api/episodes", headers={**REMOTE, "Authorization": f"Bearer {key}"}).status_code == 200
    with variant(home, real_server=True, api_read_requires_key=True, api_open_admin_on_loopback=False) as strict:
        assert_error(strict.get("/api/search", params={"q": "podcast"}), 401, "needs an API key to read")
        assert strict.get("/api/search?q=podcast", headers={"Authorization": f"Bearer {key}"}).status_code == 200


@pytest.mark.models
@ON_SQLITE_ONLY
def test_changes_open_only_to_this_machine(api_server: Served) -> None:
    """The real server: the peer address, X-Forwarded-For, Host and Origin as uvicorn passes them on."""
    merge = {"source": "Sarah", "target": "Sarah"}  # past the key check, the library refuses it: 400
    assert_error(api_server.post("/api/people/merge", json=merge), 400, "same person")
    assert_error(api_server.post("/api/people/merge", json=merge, headers=REMOTE), 401, "admin API key")
    rebinding = {"Host": "evil.example"}  # DNS rebinding: a server on loopback answers only to loopback names
    assert_error(api_server.post("/api/people/merge", json=merge, headers=rebinding), 421, "only to localhost")
    cross_site = {"Origin": "http://evil.example"}
    assert_error(api_server.post("/api/people/merge", json=merge, headers=cross_site), 401)
    assert_error(api_server.post("/api/people/merge", json=merge, headers={"Sec-Fetch-Site": "cross-site"}), 401)
    same_origin = {"Origin": api_server.url, "Sec-Fetch-Site": "same-origin"}
    assert_error(api_server.post("/api/people/merge", json=merge, headers=same_origin), 400, "same person")
    localhost = {"Host": api_server.url.replace("http://127.0.0.1", "localhost")}
    assert_error(api_server.post("/api/people/merge", json=merge, headers=localhost), 400, "same person")
    assert api_server.get("/api/episodes", headers=REMOTE).status_code == 200  # reading stays open


@ON_SQLITE_ONLY
def test_rate_limit_answers_429_with_retry_after(home: Path) -> None:
    with Library(home, settings=SETTINGS) as lib:
        _, key = lib.store.keys.create("read")
    with variant(home, real_server=True, api_rate_per_minute=3) as limited:
        assert [limited.get("/api/podcasts").status_code for _ in range(3)] == [200, 200, 200]
        refused = limited.get("/api/podcasts")
        assert_error(refused, 429, "too many requests", "3 a minute")
        assert refused.headers["retry-after"] == "20"
        assert limited.get("/api/podcasts", headers=REMOTE).status_code == 200  # another address, another bucket
        keyed = {"Authorization": f"Bearer {key}"}
        assert [limited.get("/api/podcasts", headers=keyed).status_code for _ in range(4)] == [200, 200, 200, 429]
        wrong = {**REMOTE, "Authorization": "Bearer psk_guess"}
        assert [limited.get("/api/podcasts", headers=wrong).status_code for _ in range(3)] == [401, 401, 429]


@pytest.mark.models
def test_quiz_answers_progress_and_translation(api: Served, ids: dict[str, int]) -> None:
    audio = ids["audio"]
    quiz = api.get(f"/api/episodes/{audio}/quiz", params={"seed": 7, "count": 4}).json()
    assert quiz["episode_id"] == audio and len(quiz["questions"]) == 4
    again = api.get(f"/api/episodes/{audio}/quiz", params={"seed": 7, "count": 4}).json()
    assert again == quiz  # the same seed gives the same quiz, so answers can name it
    words = [w for s in api.get(f"/api/episodes/{audio}/transcript").json()["segments"] for w in s["words"]]
    for q in quiz["questions"]:
        assert q["clip_start"] < q["clip_end"]
        if q["kind"] == "gap":  # the answer is a word spoken inside the clip
            assert any(q["clip_start"] <= w["start"] and w["end"] <= q["clip_end"] for w in words)
    right = 0
    for n, q in enumerate(quiz["questions"]):
        chosen = q["answer_index"] if n % 2 == 0 else (q["answer_index"] + 1) % len(q["options"])
        r = api.post(
            f"/api/episodes/{audio}/quiz/answers",
            json={"learner": "ana", "question_id": q["id"], "chosen": chosen, "seed": 7, "count": 4},
        )
        assert r.status_code == 200, r.text
        body = r.json()
        right += body["correct"]
        assert body["correct"] == (n % 2 == 0) and body["answer_index"] == q["answer_index"]
        assert body["result"]["answered"] == n + 1 and body["result"]["correct"] == right
    progress = api.get("/api/learners/ana/progress").json()
    assert progress["attempts"] == 4 and progress["correct"] == 2
    assert_error(
        api.post(
            f"/api/episodes/{audio}/quiz/answers",
            json={"learner": "ana", "question_id": "nope", "chosen": 0, "seed": 7, "count": 4},
        ),
        404,
    )
    assert_error(api.get("/api/learners/nobody/progress"), 404, "nobody")
    assert_error(api.get("/api/episodes/999999/quiz"), 404)
    if shutil.which("apertium"):
        translated = api.get(f"/api/episodes/{ids['srt']}/translation", params={"to": "es"}).json()
        assert translated["segments"] and all(s["translation"] for s in translated["segments"])
        assert_error(api.get(f"/api/episodes/{ids['srt']}/translation", params={"to": "de"}), 400, "installed pairs")


# -- replicas: several `podscope serve` on one PostgreSQL store -----------------------------------------------------


@pytest.mark.models
@ON_POSTGRES_ONLY  # replicas share a server's store
def test_replicas_on_one_store_see_each_others_changes(
    built: Built, stored: str, ids: dict[str, int], tmp_path: Path, feed_site: str, request: pytest.FixtureRequest
) -> None:
    """Two real uvicorn servers, each with a home and a library of its own, on one PostgreSQL store: what one of them
    changes (through its API or its library), the other serves at once; searches on both at the same time all succeed
    and agree. Only the store is shared, jobs with it: a sync queued through A is run by whichever replica claims it
    first, and both answer for it."""
    url = request.getfixturevalue("pg_copy")(stored)
    homes = [use_store(tmp_path / name, url, models_of=built.home) for name in ("a", "b")]
    with (
        Library(homes[0], settings=SETTINGS) as lib_a,
        Library(homes[1], settings=SETTINGS) as lib_b,
        serve(lib_a) as a,
        serve(lib_b) as b,
    ):
        # A speaker named through A: B's person page, episode and speaker search have the name.
        audio = ids["audio"]
        label = a.get(f"/api/episodes/{audio}").json()["speakers"][1]["label"]
        named = a.post("/api/people/assign", json={"episode_id": audio, "label": label, "name": "Sheila Replica"})
        assert named.status_code == 200, named.text
        page = b.get("/api/people/Sheila Replica").json()
        assert [x["episode_id"] for x in page["appearances"]] == [audio]
        assert {s["label"]: s["name"] for s in b.get(f"/api/episodes/{audio}").json()["speakers"]}[label] == (
            "Sheila Replica"
        )
        spoken = [
            s["text"] for s in b.get(f"/api/episodes/{audio}/transcript").json()["segments"] if s["speaker"] == label
        ]
        word = max((w for text in spoken for w in text.split()), key=len).strip(".,?!")
        found = b.get("/api/search", params={"q": word, "mode": "text", "speaker": "Sheila Replica"}).json()
        assert found["total"] > 0 and {h["speaker"] for h in found["hits"]} == {"Sheila Replica"}

        # A feed followed and synced through A (a job in the shared store: A or B runs it): B lists it, finds the
        # imported transcript's words and the job.
        feed = a.post("/api/feeds", json={"url": feed_site}).json()
        job = a.post("/api/feeds/sync", json={"feed_id": feed["id"]}).json()
        assert wait_for(a, job)["status"] == "done"
        assert [(f["podcast"], f["done"]) for f in b.get("/api/feeds").json()] == [("Text Only", 1)]
        hits = b.get("/api/search", params={"q": '"feed that only has transcripts"', "mode": "text"}).json()["hits"]
        assert [h["podcast"] for h in hits] == ["Text Only"]
        assert b.get(f"/api/jobs/{job['id']}").json()["status"] == "done"  # jobs are kept in the shared store

        # A key made through A's library opens B to a client elsewhere; revoked through A, it opens neither.
        made, secret = lib_a.keys.create("admin", "replicas")
        key = {**REMOTE, "Authorization": f"Bearer {secret}"}
        rename = {"old": "Sheila Replica", "new": "Sheila R."}
        assert_error(b.post("/api/people/rename", json=rename, headers=REMOTE), 401, "admin API key")
        assert b.post("/api/people/rename", json=rename, headers=key).json()["name"] == "Sheila R."
        assert a.get("/api/people/Sheila R.").status_code == 200
        [listed] = [k for k in lib_a.keys.list() if k.id == made.id]
        assert listed.last_used_at is not None  # B's use is recorded in the shared store
        lib_a.keys.revoke(made.id)
        for replica in (a, b):
            assert_error(replica.post("/api/people/rename", json=rename, headers=key), 401, "unknown or revoked")

        # Searches on both replicas at once: every one answers, and both give the same hits.
        queries = [("podcast", "text"), ('"rookie mistakes"', "text"), ("Chicago", "hybrid"), ("trailer", "semantic")]

        def search(replica: Served, q: str, mode: str) -> list[int]:
            response = httpx.get(f"{replica.url}/api/search", params={"q": q, "mode": mode, "limit": 20}, timeout=60)
            assert response.status_code == 200, response.text
            return [h["segment_id"] for h in response.json()["hits"]]

        with ThreadPoolExecutor(8) as pool:
            asked = [(r, q, m) for _ in range(3) for q, m in queries for r in (a, b)]
            answers = list(pool.map(lambda x: search(*x), asked))
        by_query: dict[tuple[str, str], set[tuple[int, ...]]] = {}
        for (_, q, m), hits in zip(asked, answers, strict=True):
            by_query.setdefault((q, m), set()).add(tuple(hits))
        assert all(len(seen) == 1 and next(iter(seen)) for seen in by_query.values()), by_query
