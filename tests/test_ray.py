"""Distributed ingestion on Ray (`podscope.distributed`): a real local Ray, real models, real recordings, a throwaway
PostgreSQL database per test. Feeds synced on Ray are served by a real HTTP server on loopback (a folder holding the
feed and its recordings).

Ray starts once for the module (the first batch starts it, as `podscope add-audio --ray` does) and is shut down at
the end. A worker lost mid-episode is a real process exit: the module names a file in PODSCOPE_TEST_RAY_CRASH_FILE
before Ray starts (its workers inherit the variable), and the first worker that finds the file removes it and exits.
"""

from __future__ import annotations

import functools
import http.server
import json
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from helpers import DATA, SAMPLE_WAV, cli, cli_here, http_server
from podscope.distributed import CRASH_FILE_VARIABLE, AudioJob
from podscope.errors import InputError
from podscope.library import Library

pytestmark = pytest.mark.models

ray = pytest.importorskip("ray", reason="pip install 'podscope[ray]'")

# Three short real recordings, 44 s in all: a two-speaker call, one speaker read aloud, one short utterance.
FILES = [SAMPLE_WAV, DATA / "whisper" / "jfk.flac", DATA / "speechbrain-asr" / "spk1_snt1.wav"]
SETTINGS: dict[str, Any] = {"asr_model": "tiny.en", "allow_download": False, "threads": 1}


@pytest.fixture(scope="module", autouse=True)
def crash_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The file whose presence makes one worker exit (set before Ray starts); Ray is shut down after the module."""
    marker = tmp_path_factory.mktemp("ray") / "crash-next-episode"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(CRASH_FILE_VARIABLE, str(marker))
        try:
            yield marker
        finally:
            ray.shutdown()


def jobs(files: list[Path]) -> list[AudioJob]:
    return [AudioJob(path, "Ray FM", path.stem) for path in files]


def test_a_batch_on_two_workers_is_stored_once_and_again_stores_nothing(pg_url: str, tmp_path: Path) -> None:
    with Library(tmp_path / "home", settings={**SETTINGS, "store_url": pg_url}) as lib:
        started = time.monotonic()
        report = lib.add_audio_on_ray(jobs(FILES), workers=2)
        print(f"3 recordings ({report.audio_seconds:.0f} s) on 2 workers: {time.monotonic() - started:.1f} s")
        assert not report.failed, report.errors
        assert report.workers == 2 and len(report.done) == 3 and not report.already
        assert report.audio_seconds == pytest.approx(30.0 + 11.0 + 2.87, abs=0.5)
        stored = lib.episodes()
        assert sorted(e.title for e in stored) == sorted(p.stem for p in FILES)
        assert {o.episode_id for o in report.done} == {e.id for e in stored}
        for episode in stored:
            assert episode.status == "done"
            assert lib.transcript(episode.id).segments, episode.title
        assert "ask not what your country" in lib.export_transcript(
            next(e.id for e in stored if e.title == "jfk"), "txt"
        )

        again = lib.add_audio_on_ray(jobs(FILES), workers=2)
        assert not again.failed and not again.done, again.errors
        assert sorted(o.episode_id for o in again.already) == sorted(e.id for e in stored)
        assert len(lib.episodes()) == 3


def test_a_worker_that_dies_mid_episode_is_restarted_and_the_episode_retried(
    pg_url: str, tmp_path: Path, crash_file: Path
) -> None:
    """One worker exits on its first episode: that episode is retried on the restarted worker. In the same batch a
    copy of one recording under another name is stored once (the store's content hash), and a file that is not audio
    fails alone, with podscope's message."""
    crash_file.write_text("exit on the next episode")
    copy = tmp_path / "jfk-again.flac"
    shutil.copyfile(FILES[1], copy)
    broken = tmp_path / "notes.wav"
    broken.write_text("not audio")
    files = [*FILES[1:], copy, broken]
    with Library(tmp_path / "home", settings={**SETTINGS, "store_url": pg_url}) as lib:
        report = lib.add_audio_on_ray(jobs(files), workers=2)
        assert not crash_file.exists(), "no worker took the crash"
        assert [o.job.path for o in report.failed] == [broken]
        assert "notes.wav" in (report.failed[0].error or ""), report.errors
        assert len(report.done) + len(report.already) == 3
        stored = lib.episodes()
        assert len(stored) == 2  # each recording once: jfk.flac or its copy, and spk1_snt1
        assert {e.title for e in stored} in ({"jfk", "spk1_snt1"}, {"jfk-again", "spk1_snt1"})
        assert {o.episode_id for o in report.done + report.already} == {e.id for e in stored}
        assert all(lib.transcript(e.id).segments for e in stored)


def test_a_sqlite_store_or_no_ray_is_refused(
    tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with Library(tmp_path / "home", settings=SETTINGS) as lib:
        with pytest.raises(InputError) as caught:
            lib.add_audio_on_ray(jobs(FILES))
        assert str(caught.value) == "distributed ingestion needs a PostgreSQL store: --store postgresql://..."
        with pytest.raises(InputError, match=r"^distributed ingestion needs a PostgreSQL store"):
            lib.sync_on_ray()
    code, _, err = cli_here(capsys, "sync", "--ray", "--home", tmp_path / "home")
    assert code == 1 and "distributed ingestion needs a PostgreSQL store" in err and "Traceback" not in err
    with Library(tmp_path / "pg", settings={**SETTINGS, "store_url": pg_url}) as lib:
        monkeypatch.setitem(sys.modules, "ray", None)  # as without the ray extra: `import ray` fails
        with pytest.raises(InputError, match=r"^distributed ingestion needs Ray: pip install 'podscope\[ray\]'$"):
            lib.sync_on_ray()
    result = cli(tmp_path / "home", "add-audio", "--ray", "local", *FILES, "--podcast", "Ray FM")
    assert result.returncode == 1
    assert "distributed ingestion needs a PostgreSQL store" in result.stderr


class _Folder(http.server.SimpleHTTPRequestHandler):
    extensions_map: ClassVar[dict[str, str]] = {
        ".xml": "application/rss+xml",
        ".flac": "audio/flac",
        ".wav": "audio/wav",
    }

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def feed(tmp_path: Path) -> Iterator[str]:
    """A feed served over HTTP: one item per recording in FILES[1:] (spk1_snt1 the newest, then jfk) and an older one
    whose enclosure is gone (404); yields its URL."""
    folder = tmp_path / "site"
    folder.mkdir()
    with http_server(functools.partial(_Folder, directory=str(folder))) as base:
        items = [(p.stem, f"{base}/{p.name}", f"0{n} Apr 2024") for n, p in enumerate(FILES[1:], start=1)]
        items.append(("gone", f"{base}/gone.wav", "01 Mar 2024"))
        for path in FILES[1:]:
            shutil.copyfile(path, folder / path.name)
        body = "".join(
            f"<item><guid>{title}</guid><title>{title}</title><pubDate>{date} 10:00:00 GMT</pubDate>"
            f'<enclosure url="{url}" type="audio/wav" length="1"/></item>'
            for title, url, date in items
        )
        rss = f'<?xml version="1.0"?><rss version="2.0"><channel><title>Ray FM</title>{body}</channel></rss>'
        (folder / "feed.xml").write_text(rss)
        yield f"{base}/feed.xml"


def _statuses(lib: Library) -> dict[str, tuple[str, int]]:
    """Each feed item's title -> (status, attempts)."""
    return {i.title: (i.status, i.attempts) for f in lib.feeds.list() for i in lib.store.feeds.items(f.id)}


@pytest.mark.slow  # a feed synced on Ray (18 s); a batch on Ray and a worker killed mid-episode stay in the default run
def test_a_feed_synced_on_ray_lands_each_episode_once_and_leaves_what_another_run_holds(
    pg_url: str, tmp_path: Path, feed: str
) -> None:
    """On two workers: a recording is stored into its item's episode, the item whose enclosure is gone fails with its
    error, and the newest item, claimed by a run on another machine (another home), is left to it. Syncing again
    stores nothing: the held item is skipped again and the failed one tried again."""
    settings = {**SETTINGS, "store_url": pg_url, "allow_private_addresses": True}
    with Library(tmp_path / "home", settings=settings) as lib, Library(tmp_path / "other", settings=settings) as other:
        lib.feeds.add(feed)
        held = next(i for i in lib.feeds.pending() if i.title == "spk1_snt1")
        assert other.feeds.claim(held.id) is not None
        started = time.monotonic()
        report = lib.sync_on_ray(workers=2)
        print(f"a feed of 3 items (1 held elsewhere) on 2 workers: {time.monotonic() - started:.1f} s")
        assert report.feeds is not None and (report.feeds.feeds, report.feeds.new_items) == (1, 0)
        assert [o.job.label for o in report.done] == ["jfk"] and not report.already, report.errors
        assert [o.job.label for o in report.failed] == ["gone"]
        assert "the server answered 404" in (report.failed[0].error or "")
        assert [o.job.label for o in report.skipped] == ["spk1_snt1"]
        assert report.audio_seconds == pytest.approx(11.0, abs=0.5) and report.workers == 2
        assert _statuses(lib) == {"jfk": ("done", 1), "gone": ("failed", 1), "spk1_snt1": ("pending", 0)}
        episodes = {e.title: e for e in lib.episodes()}
        assert {t: e.status for t, e in episodes.items()} == {"jfk": "done", "gone": "failed", "spk1_snt1": "pending"}
        assert report.done[0].episode_id == episodes["jfk"].id  # the item's own episode, filled in place
        assert "ask not what your country" in lib.export_transcript(episodes["jfk"].id, "txt")
        assert not [p for p in (lib.home / "downloads").rglob("*") if p.is_file()]  # removed once processed

        again = lib.sync_on_ray(workers=2)
        assert not again.done and not again.already and [o.job.label for o in again.skipped] == ["spk1_snt1"]
        assert [o.job.label for o in again.failed] == ["gone"]
        assert _statuses(lib) == {"jfk": ("done", 1), "gone": ("failed", 2), "spk1_snt1": ("pending", 0)}
        assert len(lib.episodes()) == 3


@pytest.mark.slow  # the retry that test_a_worker_that_dies_mid_episode_... checks, through a feed
def test_a_worker_killed_mid_item_is_retried_and_the_item_stored_once(
    pg_url: str, tmp_path: Path, feed: str, crash_file: Path
) -> None:
    """The worker exits on its item's first progress report (claimed, downloading): the item is retried on the
    restarted worker and stored once, with one attempt, and its claim is cleared."""
    crash_file.write_text("exit mid-item")
    settings = {**SETTINGS, "store_url": pg_url, "allow_private_addresses": True}
    with Library(tmp_path / "home", settings=settings) as lib:
        lib.feeds.add(feed)
        report = lib.sync_on_ray(limit=1, workers=1)  # the newest: spk1_snt1
        assert not crash_file.exists(), "no worker took the crash"
        assert [o.job.label for o in report.done] == ["spk1_snt1"] and not report.failed, report.errors
        assert _statuses(lib) == {"spk1_snt1": ("done", 1), "jfk": ("pending", 0), "gone": ("pending", 0)}
        stored = [e for e in lib.episodes() if e.status == "done"]
        assert [e.title for e in stored] == ["spk1_snt1"] and lib.transcript(stored[0].id).segments
        assert lib.feeds.release_claims() == 0  # nothing left held


def test_the_sync_command_on_ray(pg_url: str, tmp_path: Path, feed: str, capsys: pytest.CaptureFixture[str]) -> None:
    """`podscope sync --ray` in this process (its workers on this module's Ray): the recordings are held by another
    run, so the one item left fails; the summary says so and the command exits 1. --workers needs --ray."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text('allow_private_addresses = true\nallow_download = false\nasr_model = "tiny.en"\n')
    store = ["--store", pg_url]
    assert cli_here(capsys, *store, "feeds", "add", feed, "--home", home)[0] == 0
    with Library(tmp_path / "other", settings={"store_url": pg_url}) as other:
        for item in other.feeds.pending():
            if item.title != "gone":
                assert other.feeds.claim(item.id) is not None
    code, out, err = cli_here(capsys, *store, "sync", "--ray", "--workers", "1", "--home", home)
    assert code == 1, err
    assert "Checked 1 feeds: 0 new episodes." in out
    assert "0 episodes added, 0 already in the library, 1 failed, 2 skipped (another run holds them)" in out
    assert "failed: gone: cannot fetch" in out
    code, _, err = cli_here(capsys, *store, "sync", "--workers", "2", "--home", home)
    assert code == 2 and "--workers goes with --ray" in err


@pytest.mark.slow  # the command's own run on Ray (30 s); the library's batches on Ray are in the default run
def test_the_command_adds_files_on_ray(pg_url: str, tmp_path: Path) -> None:
    """`podscope add-audio --ray FILE...` in a fresh interpreter, which starts its own local Ray (this module's is
    stopped first, so one runs at a time on the test machine)."""
    ray.shutdown()
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text("allow_download = false\nthreads = 1\n")
    files = FILES[1:]
    args = ["--store", pg_url, "add-audio", "--ray", *files, "--podcast", "Ray FM", "--model", "tiny.en"]
    result = cli(home, *args, "--workers", "1", "--json")  # `--ray FILE`: the first file, not an address
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["workers"] == 1 and len(report["done"]) == 2 and not report["failed"]
    with Library(home, settings={"store_url": pg_url}) as lib:
        assert sorted(e.title for e in lib.episodes()) == sorted(p.stem for p in files)

    again = cli(home, *args)
    assert again.returncode == 0, again.stderr
    assert "0 episodes added, 2 already in the library, 0 failed" in again.stdout
