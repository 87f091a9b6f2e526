"""Distributed ingestion on Ray (`podscope.distributed`): a real local Ray, real models, real recordings, a throwaway
PostgreSQL database per test.

Ray starts once for the module (the first batch starts it, as `podscope add-audio --ray` does) and is shut down at
the end. A worker lost mid-episode is a real process exit: the module names a file in PODSCOPE_TEST_RAY_CRASH_FILE
before Ray starts (its workers inherit the variable), and the first worker that finds the file removes it and exits.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from helpers import DATA, SAMPLE_WAV, cli
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


def test_a_sqlite_store_is_refused(tmp_path: Path) -> None:
    with Library(tmp_path / "home", settings=SETTINGS) as lib, pytest.raises(InputError) as caught:
        lib.add_audio_on_ray(jobs(FILES))
    assert str(caught.value) == "distributed ingestion needs a PostgreSQL store: --store postgresql://..."
    result = cli(tmp_path / "home", "add-audio", "--ray", "local", *FILES, "--podcast", "Ray FM")
    assert result.returncode == 1
    assert "distributed ingestion needs a PostgreSQL store" in result.stderr


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
