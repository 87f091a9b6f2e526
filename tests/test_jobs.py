"""Stored background jobs (`podscope.jobs`): uploads, feed syncs and re-scores kept in the library, so a restarted
server runs what was queued and takes up what was running; claimed by one runner at a time, cancelled, listed.

Everything runs on both backends (the `backend` fixture): queueing, claiming (threads racing on one store, two
runners), cancelling, the recovery of jobs a dead worker left, a job queued through one app run by the next, the API,
the page and the command. The runs over real audio (Whisper tiny.en and the real diarization on tests/data's
two-speaker call) take a minute or more each, so `make test-all` runs them: a server in this process stopped
mid-upload and started again, a running upload cancelled, and a real `podscope serve` killed with SIGKILL mid-upload,
twice (the second time its uploaded file is gone before the restart).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from helpers import BACKENDS, LOCAL, SAMPLE_WAV, cli_here, in_process, query, use_store, write_wav
from podscope.audio import load_audio
from podscope.errors import Conflict, InputError, NotFound
from podscope.jobs import Runner
from podscope.library import Library
from podscope.records import Job
from podscope.web.app import create_app

SETTINGS: dict[str, Any] = {"asr_model": "tiny.en", "allow_download": False, "api_rate_per_minute": 1_000_000}
WORKING = ("segmentation", "embeddings", "transcribe")  # stages well inside an upload's processing (models loaded)
CACHES = {"PODSCOPE_CACHE_DIR", "PODSCOPE_SYNTH_CACHE"}  # kept for a `podscope serve` subprocess: models are reused


def open_lib(home: Path, store_url: str) -> Library:
    return Library(home, settings={**SETTINGS, "store_url": store_url})


def keep_upload(lib: Library, name: str, source: Path = SAMPLE_WAV) -> Path:
    """A recording kept in the home's uploads folder, as POST /api/episodes keeps one."""
    (lib.home / "uploads").mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(source, lib.home / "uploads" / name))


def upload(lib: Library, name: str, title: str = "A call") -> Job:
    return lib.jobs.upload(keep_upload(lib, name), podcast="Calls", title=title, published=None, filename=name)


@contextmanager
def app_without_runner(lib: Library) -> Iterator[TestClient]:
    """The app in this process without its lifespan: nothing runs the jobs, so a queued one stays queued."""
    yield TestClient(create_app(lib), base_url="http://127.0.0.1", client=LOCAL, follow_redirects=False)


def gone_pid() -> int:
    """The pid of a process that has ended (a worker that died)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def wait_job(read: Callable[[], dict[str, Any]], until: Callable[[dict[str, Any]], bool], timeout: float = 600) -> Any:
    deadline = time.monotonic() + timeout
    job = read()
    while not until(job):
        assert time.monotonic() < deadline, job
        time.sleep(0.25)
        job = read()
    return job


def finished(job: dict[str, Any]) -> bool:
    return job["status"] not in ("queued", "running")


# -- the store's side, on both backends ------------------------------------------------------------------------------


def test_jobs_are_stored_claimed_once_and_cancelled(tmp_path: Path, store_url: str) -> None:
    home = tmp_path / "home"
    with open_lib(home, store_url) as lib:
        up = upload(lib, "call.wav")
        sync = lib.jobs.sync(limit=2, since="2024-01-01")
        rescore = lib.jobs.rescore()
        assert up.status == "queued" and up.node == lib.jobs.node and up.attempts == 0
        assert up.input_path == str((home / "uploads" / "call.wav").resolve())
        assert up.parameters == {"podcast": "Calls", "title": "A call", "published": None, "filename": "call.wav"}
        assert [j.id for j in lib.jobs.list()] == [rescore.id, sync.id, up.id]  # newest first
        assert lib.jobs.positions() == {up.id: 0, sync.id: 1, rescore.id: 2}
        with open_lib(home, store_url) as again:  # another process on the store (a restarted server) has them
            assert again.jobs.get(sync.id) == sync
            assert again.jobs.held_inputs() == [up.input_path]

        claimed = lib.jobs.claim("here:1:a")  # the oldest first, now running for its claimer
        assert claimed is not None and claimed.id == up.id
        assert claimed.status == "running" and claimed.attempts == 1 and claimed.claimed_by == "here:1:a"
        assert claimed.heartbeat_at and claimed.started_at
        other = lib.jobs.claim("here:1:b")
        assert other is not None and other.id == sync.id
        assert lib.jobs.positions() == {up.id: 0, sync.id: 1, rescore.id: 2}

        gone = lib.jobs.cancel(rescore.id)  # queued: cancelled at once
        assert gone.status == "cancelled" and gone.finished_at and lib.jobs.claim("here:1:c") is None
        asked = lib.jobs.cancel(up.id)  # running: asked to stop; its worker reads it back with its next write
        assert asked.status == "running" and asked.cancel_requested
        assert lib.store.jobs.touch(up.id, "here:1:a", "decode", 0.5) == "cancel"
        assert lib.store.jobs.touch(up.id, "here:1:z") == "lost"  # not that worker's
        assert lib.store.jobs.touch(sync.id, "here:1:b", "episode 1/2:transcribe", 0.25) == "held"
        assert (lib.jobs.get(sync.id).stage, lib.jobs.get(sync.id).progress) == ("episode 1/2:transcribe", 0.25)
        assert lib.store.jobs.finish(sync.id, "here:1:b", "done", result={"processed": 2})
        assert not lib.store.jobs.finish(sync.id, "here:1:b", "failed", error="twice")  # an outcome is recorded once
        done = lib.jobs.get(sync.id)
        assert done.status == "done" and done.result == {"processed": 2} and done.claimed_by is None

        assert [j.id for j in lib.jobs.list("cancelled")] == [rescore.id]
        assert [j.id for j in lib.jobs.list(limit=1)] == [rescore.id]
        with pytest.raises(Conflict, match="is done already"):
            lib.jobs.cancel(sync.id)
        with pytest.raises(NotFound, match="no job 'nope'"):
            lib.jobs.get("nope")
        with pytest.raises(InputError, match="expected one of queued, running, done, failed, cancelled"):
            lib.jobs.list("finished")
        with pytest.raises(InputError, match="expected 1 to 1000"):
            lib.jobs.list(limit=0)
        with pytest.raises(InputError, match="expected a recording kept in"):
            lib.jobs.upload(SAMPLE_WAV, podcast="P", title="T", published=None)

        waiting = upload(lib, "waiting.wav")  # a queued upload cancelled: its file goes with it
        assert lib.jobs.cancel(waiting.id).status == "cancelled"
        assert not (home / "uploads" / "waiting.wav").exists()
        assert (home / "uploads" / "call.wav").exists()  # still held by the running job


def test_racing_claimers_and_two_runners_never_take_one_job_twice(tmp_path: Path, store_url: str) -> None:
    home = tmp_path / "home"
    with open_lib(home, store_url) as lib:
        queued = {lib.jobs.rescore().id for _ in range(40)}
    libs = [open_lib(home, store_url) for _ in range(4)]
    taken: list[list[str]] = [[] for _ in libs]
    start = threading.Barrier(len(libs))

    def claim_all(n: int) -> None:
        start.wait()
        while (job := libs[n].jobs.claim(f"racer:{n}:x")) is not None:
            taken[n].append(job.id)

    threads = [threading.Thread(target=claim_all, args=(n,)) for n in range(len(libs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    claims = [job_id for ids in taken for job_id in ids]
    assert sorted(claims) == sorted(queued)  # every job claimed, none twice
    for other in libs:
        other.close()

    # Two runners (two servers on one store) run real re-scores: each job once.
    with open_lib(home, store_url) as a, open_lib(home, store_url) as b:
        work = {a.jobs.rescore().id for _ in range(12)}
        runners = [Runner(x.jobs, lambda x=x: open_lib(x.home, store_url), poll_seconds=0.05) for x in (a, b)]
        for runner in runners:
            runner.start()
        try:
            for job_id in work:
                wait_job(lambda job_id=job_id: {"status": a.jobs.get(job_id).status}, finished, timeout=120)
        finally:
            for runner in runners:
                runner.stop()
        ran = [a.jobs.get(job_id) for job_id in work]
        assert all(j.status == "done" and j.attempts == 1 and j.result == {"changes": 0} for j in ran), ran


def test_jobs_a_dead_worker_left_are_requeued_or_ended_clearly(tmp_path: Path, store_url: str) -> None:
    home = tmp_path / "home"
    dead = f"{socket.gethostname()}:{gone_pid()}:x"  # a server on this host that was killed
    with open_lib(home, store_url) as lib:
        resumable, lost_file, tried = upload(lib, "a.wav"), upload(lib, "b.wav"), lib.jobs.sync()
        asked, elsewhere = lib.jobs.rescore(), lib.jobs.rescore()
        for _ in range(4):
            lib.jobs.claim(dead)
        lib.jobs.cancel(asked.id)  # a cancel asked for while it ran: the worker died before it stopped
        assert lib.jobs.claim("other-host:1:y") is not None  # a live server elsewhere, heartbeat fresh
        query(lib, "UPDATE jobs SET attempts = 3 WHERE id = ?", (tried.id,))
        (home / "uploads" / "b.wav").unlink()

        recovered = {j.id: j for j in lib.jobs.recover()}
        assert set(recovered) == {resumable.id, lost_file.id, tried.id, asked.id}
        again = recovered[resumable.id]
        assert again.status == "queued" and again.claimed_by is None and again.attempts == 1
        assert again.input_path and Path(again.input_path).exists()
        assert recovered[lost_file.id].status == "failed"
        assert "the uploaded file 'b.wav' is gone" in str(recovered[lost_file.id].error)
        assert recovered[tried.id].status == "failed" and "3 times" in str(recovered[tried.id].error)
        assert recovered[asked.id].status == "cancelled"
        assert lib.jobs.get(elsewhere.id).status == "running"  # alive elsewhere: left alone
        assert lib.jobs.list("running") == [lib.jobs.get(elsewhere.id)]

        # That server stops writing its heartbeat: after a minute (the database's clock) its job is put back.
        query(lib, "UPDATE jobs SET heartbeat_at = '2000-01-01T00:00:00Z' WHERE id = ?", (elsewhere.id,))
        assert [(j.id, j.status) for j in lib.jobs.recover()] == [(elsewhere.id, "queued")]
        assert lib.jobs.recover() == []


def test_check_spares_an_upload_a_job_holds_and_reports_one_none_holds(tmp_path: Path, store_url: str) -> None:
    with open_lib(tmp_path / "home", store_url) as lib:
        held = upload(lib, "held.wav")
        loose = keep_upload(lib, "loose.wav")  # an upload whose job is gone (a crash before it was queued)
        hours_ago = time.time() - 3 * 3600
        for path in (Path(str(held.input_path)), loose):
            os.utime(path, (hours_ago, hours_ago))
        [finding] = [f for f in lib.check().findings if f.kind == "unreferenced files"]
        assert finding.count == 1 and finding.examples == ("uploads/loose.wav",)
        lib.jobs.cancel(held.id)  # the job ends: its file goes with it, and nothing is left to report
        loose.unlink()
        assert not [f for f in lib.check().findings if f.kind == "unreferenced files"]


def test_a_job_queued_while_no_server_runs_is_run_by_the_next_one(tmp_path: Path, store_url: str) -> None:
    home = tmp_path / "home"
    with open_lib(home, store_url) as lib:
        with app_without_runner(lib) as http:  # queued through the API of a server that stops before running it
            job = http.post("/api/people/rescore").json()
        assert lib.jobs.get(job["id"]).status == "queued"
    with open_lib(home, store_url) as lib, in_process(lib) as http:  # started again
        ended = wait_job(lambda: http.get(f"/api/jobs/{job['id']}").json(), finished, timeout=60)
        assert ended["status"] == "done" and ended["result"] == {"changes": 0} and ended["attempts"] == 1


# -- the API, the page and the command ---------------------------------------------------------------------------------


def test_api_page_and_command_list_get_and_cancel_jobs(
    tmp_path: Path, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    import re

    with open_lib(tmp_path / "home", store_url) as lib, app_without_runner(lib) as http:
        sync = http.post("/api/feeds/sync", json={"limit": 1})
        assert sync.status_code == 202 and sync.headers["location"] == sync.json()["url"]
        rescore = http.post("/api/people/rescore")
        assert rescore.status_code == 202 and rescore.json()["kind"] == "rescore"
        first, second = sync.json(), rescore.json()
        listed = http.get("/api/jobs").json()
        assert [(j["id"], j["status"], j["position"]) for j in listed] == [
            (second["id"], "queued", 1),
            (first["id"], "queued", 0),
        ]
        assert http.get(f"/api/jobs/{first['id']}").json()["parameters"] == {"limit": 1, "retranscribe": False}

        evil = lib.jobs.upload(
            keep_upload(lib, "evil.wav"), podcast="<b>Now</b>", title="<script>alert(1)</script>", published=None
        )
        page = http.get("/jobs")
        assert page.status_code == 200 and f'id="job-{first["id"]}"' in page.text and "Sync every feed" in page.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text and "<script>alert" not in page.text
        assert "&lt;b&gt;Now&lt;/b&gt;" in page.text
        assert page.text.count('action="/jobs/') == 4  # three cancel buttons and the re-score
        assert lib.jobs.cancel(evil.id).status == "cancelled"
        token = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert token
        form = http.post(f"/jobs/{first['id']}/cancel", data={"csrf": token.group(1)})
        assert form.status_code == 303 and http.get(f"/api/jobs/{first['id']}").json()["status"] == "cancelled"
        assert "Cancelled the sync job" in http.get("/jobs").text
        assert http.post(f"/jobs/{second['id']}/cancel", data={"csrf": "x" * 43}).status_code == 403

        running = lib.jobs.claim("elsewhere:1:x")
        assert running is not None and running.id == second["id"]
        asked = http.post(f"/api/jobs/{second['id']}/cancel")
        assert asked.status_code == 200 and asked.json()["status"] == "running" and asked.json()["cancel_requested"]
        cancelled = http.get("/api/jobs", params={"status": "cancelled"}).json()
        assert [j["id"] for j in cancelled] == [evil.id, first["id"]]
        assert lib.store.jobs.finish(second["id"], "elsewhere:1:x", "cancelled")

        code, out, _ = cli_here(capsys, "jobs", "--home", lib.home, *(["--store", store_url] if store_url else []))
        assert code == 0 and first["id"] in out and second["id"] in out and "cancelled" in out
        third = lib.jobs.rescore()
        store = ["--store", store_url] if store_url else []
        code, out, _ = cli_here(capsys, "jobs", "cancel", third.id, "--home", lib.home, *store)
        assert code == 0 and "is cancelled" in out and lib.jobs.get(third.id).status == "cancelled"
        code, _, err = cli_here(capsys, "jobs", "cancel", "nope", "--home", lib.home, *store)
        assert code == 1 and "no job 'nope'" in err

        for bad, status, words in [
            (http.get("/api/jobs/nope"), 404, "no job 'nope'"),
            (http.post("/api/jobs/nope/cancel"), 404, "no job 'nope'"),
            (http.post(f"/api/jobs/{first['id']}/cancel"), 200, ""),  # cancelled already: stays so
            (http.get("/api/jobs", params={"status": "finished"}), 400, "query parameter status"),
            (http.get("/api/jobs", params={"limit": 0}), 400, "query parameter limit"),
        ]:
            assert bad.status_code == status, bad.text
            assert words in bad.text
        done = lib.jobs.rescore()
        assert getattr(lib.jobs.claim("h:1:x"), "id", None) == done.id
        assert lib.store.jobs.finish(done.id, "h:1:x", "done")
        refused = http.post(f"/api/jobs/{done.id}/cancel")
        assert refused.status_code == 409 and "nothing to cancel" in refused.json()["error"]


# -- over real audio ---------------------------------------------------------------------------------------------------


def post_upload(http: Any, source: Path, title: str) -> dict[str, Any]:
    with source.open("rb") as handle:
        response = http.post("/api/episodes", data={"podcast": "Calls", "title": title}, files={"file": handle})
    assert response.status_code == 202, response.text
    return dict(response.json())


@pytest.mark.models
@pytest.mark.slow  # three uploads processed, on each backend: a minute or more
@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_queued_and_interrupted_uploads_run_after_a_restart_and_a_running_one_cancels(
    tmp_path: Path, store_url: str
) -> None:
    home = tmp_path / "home"
    short = write_wav(tmp_path / "eight seconds.wav", load_audio(SAMPLE_WAV)[: 8 * 16000])
    with open_lib(home, store_url) as lib:
        with in_process(lib) as http:  # the first server: stopped while the first upload is being processed
            first = post_upload(http, SAMPLE_WAV, "The whole call")
            second = post_upload(http, short, "Eight seconds")
            wait_job(lambda: http.get(f"/api/jobs/{first['id']}").json(), lambda j: j["stage"] in WORKING)
        stopped = {j.id: j for j in lib.jobs.list()}
        assert stopped[second["id"]].status == "queued"  # never started
        assert stopped[first["id"]].status in ("queued", "done")  # put back in the queue (or it had just finished)
        assert len(list((home / "uploads").iterdir())) == 2

    with open_lib(home, store_url) as lib, in_process(lib) as http:  # the server started again
        for job in (first, second):
            ended = wait_job(lambda job=job: http.get(f"/api/jobs/{job['id']}").json(), finished)
            assert ended["status"] == "done" and ended["created"] is True, ended
            episode = lib.episode(ended["episode_id"])
            assert episode.status == "done" and Path(episode.source).parent == (home / "uploads").resolve()
            assert lib.transcript(episode.id).segments
        assert {e.title for e in lib.episodes()} == {"The whole call", "Eight seconds"}

        # A running upload cancelled: it stops at its next step; no episode, and its file goes.
        third = post_upload(http, write_wav(tmp_path / "other.wav", load_audio(SAMPLE_WAV)[::-1].copy()), "Third")
        wait_job(lambda: http.get(f"/api/jobs/{third['id']}").json(), lambda j: j["status"] == "running")
        asked = http.post(f"/api/jobs/{third['id']}/cancel").json()
        assert asked["status"] in ("running", "cancelled", "done")
        ended = wait_job(lambda: http.get(f"/api/jobs/{third['id']}").json(), finished)
        if ended["status"] == "cancelled":  # stopped before its episode was stored (the usual case)
            assert "Third" not in {e.title for e in lib.episodes()}
            assert len(list((home / "uploads").iterdir())) == 2
        else:  # it reached its one transaction first: then it is whole
            assert ended["status"] == "done" and lib.transcript(ended["episode_id"]).segments
        assert lib.check().ok, lib.check().findings


# -- a real server killed mid-upload -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def podscope_serve(home: Path) -> Iterator[tuple[subprocess.Popen[bytes], httpx.Client]]:
    """`podscope serve` on the home in its own process, and a client for it (the process is killed at the end)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PODSCOPE_") or k in CACHES}
    command = [sys.executable, "-m", "podscope.cli", "serve", "--port", str(port), "--home", str(home)]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None and time.monotonic() < deadline, "podscope serve did not start"
            try:
                if client.get("/api/health").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        yield proc, client
    finally:
        client.close()
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        proc.wait(30)


@pytest.mark.models
@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_a_server_killed_mid_upload_leaves_no_job_running_after_its_restart(tmp_path: Path, store_url: str) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text('asr_model = "tiny.en"\nallow_download = false\napi_rate_per_minute = 1000000\n')
    if store_url:
        use_store(home, store_url)
    short = write_wav(tmp_path / "eight seconds.wav", load_audio(SAMPLE_WAV)[: 8 * 16000])
    reversed_call = write_wav(tmp_path / "reversed.wav", load_audio(SAMPLE_WAV)[::-1].copy())

    def killed_while_running(client: httpx.Client, proc: subprocess.Popen[bytes], job: dict[str, Any]) -> None:
        read = lambda: client.get(f"/api/jobs/{job['id']}").json()  # noqa: E731
        wait_job(read, lambda j: j["status"] == "running" and j["stage"] in WORKING)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)

    with podscope_serve(home) as (proc, client):
        resumed = post_upload(client, SAMPLE_WAV, "The whole call")
        waiting = post_upload(client, short, "Eight seconds")
        killed_while_running(client, proc, resumed)
    with Library(home) as lib:  # what the kill left: the job still "running", claimed by a process that is gone
        assert lib.jobs.get(resumed["id"]).status == "running" and lib.jobs.get(waiting["id"]).status == "queued"
        assert not lib.episodes() and lib.check().ok

    with podscope_serve(home) as (proc, client):  # restarted: taken up again, then the queued one
        for job in (resumed, waiting):
            ended = wait_job(lambda job=job: client.get(f"/api/jobs/{job['id']}").json(), finished)
            assert ended["status"] == "done" and ended["created"] is True, ended
        assert client.get(f"/api/jobs/{resumed['id']}").json()["attempts"] == 2
        lost = post_upload(client, reversed_call, "Lost")  # other bytes: processed, not found in the library
        killed_while_running(client, proc, lost)
    with Library(home) as lib:  # killed again, and this time its file is gone before the restart
        held = lib.jobs.get(lost["id"])
        assert held.status == "running" and held.input_path
        Path(held.input_path).unlink()

    with podscope_serve(home) as (proc, client):
        failed = wait_job(lambda: client.get(f"/api/jobs/{lost['id']}").json(), finished, timeout=60)
        assert failed["status"] == "failed" and "is gone" in failed["error"] and "upload it again" in failed["error"]
        assert client.get("/api/jobs", params={"status": "running"}).json() == []
    with Library(home) as lib:
        assert {e.title for e in lib.episodes()} == {"The whole call", "Eight seconds"}
        assert all(lib.transcript(e.id).segments for e in lib.episodes())
        assert lib.check().ok, lib.check().findings
