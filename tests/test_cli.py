"""The `podscope` command end to end, in a subprocess, on real recordings and a real SQLite file."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from helpers import SAMPLE_WAV, cli_here, write_wav

PODSCOPE = [sys.executable, "-m", "podscope.cli"]


def run(
    *args: str | Path, home: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "PODSCOPE_ASR_MODEL": "tiny.en", "PODSCOPE_ALLOW_DOWNLOAD": "0", **(env or {})}
    full_env.pop("PODSCOPE_HOME", None)
    if env and "PODSCOPE_HOME" in env:
        full_env["PODSCOPE_HOME"] = env["PODSCOPE_HOME"]
    cmd = [*PODSCOPE, *map(str, args)]
    if home is not None:
        cmd += ["--home", str(home)]
    return subprocess.run(cmd, capture_output=True, text=True, env=full_env, timeout=600, check=False)


def episode_rows(home: Path) -> int:
    db = home / "podscope.db"
    if not db.exists():
        return 0
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM episodes").fetchone()[0])


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """A home with the real two-speaker sample added once."""
    home = tmp_path_factory.mktemp("home")
    proc = run(
        "add-audio",
        SAMPLE_WAV,
        "--podcast",
        "Phone Line",
        "--title",
        "Diane and Sheila",
        "--published",
        "2024-05-01",
        "--json",
        home=home,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    # Every stage is timed; diarization and recognition run side by side, within their wall time.
    seconds = result["stage_seconds"]
    assert set(seconds) == {"decode", "diarize", "transcribe", "diarize+transcribe", "align", "store", "index"}
    assert all(s > 0 for s in seconds.values())
    assert seconds["diarize+transcribe"] >= max(seconds["diarize"], seconds["transcribe"])
    return home, int(result["episode"]["id"])


@pytest.mark.models
def test_add_audio_stores_a_two_speaker_episode(library: tuple[Path, int]) -> None:
    home, episode_id = library
    proc = run("episodes", "--json", home=home)
    [episode] = json.loads(proc.stdout)
    assert episode["id"] == episode_id
    assert (episode["podcast"], episode["title"], episode["published"]) == (
        "Phone Line",
        "Diane and Sheila",
        "2024-05-01",
    )
    assert episode["speaker_count"] == 2
    assert episode["language"] == "en" and episode["asr_model"] == "tiny.en"
    assert abs(episode["duration"] - 30.0) < 0.1


@pytest.mark.models
def test_adding_the_same_audio_again_is_a_no_op(library: tuple[Path, int], tmp_path: Path) -> None:
    home, episode_id = library
    copy = tmp_path / "same-bytes.wav"
    copy.write_bytes(SAMPLE_WAV.read_bytes())
    proc = run("add-audio", copy, "--podcast", "Other", "--title", "Again", home=home)
    assert proc.returncode == 0
    assert f"Already in the library as episode {episode_id}" in proc.stdout
    assert episode_rows(home) == 1


@pytest.mark.models
def test_transcript_formats(library: tuple[Path, int]) -> None:
    home, episode_id = library
    txt = run("transcript", str(episode_id), home=home)
    assert txt.returncode == 0 and "Chicago" in txt.stdout and "SPEAKER_0" in txt.stdout
    vtt = run("transcript", str(episode_id), "--format", "vtt", home=home).stdout
    assert vtt.startswith("WEBVTT") and "<v SPEAKER_00>" in vtt and "<v SPEAKER_01>" in vtt
    doc = json.loads(run("transcript", str(episode_id), "--format", "json", home=home).stdout)
    assert doc["version"] == "1.0.0" and {s["speaker"] for s in doc["segments"]} == {"SPEAKER_00", "SPEAKER_01"}
    rttm = run("transcript", str(episode_id), "--format", "rttm", home=home).stdout
    assert all(line.startswith("SPEAKER ") and len(line.split()) == 10 for line in rttm.splitlines())
    bad = run("transcript", str(episode_id), "--format", "docx", home=home)
    assert bad.returncode != 0 and "docx" in bad.stderr


@pytest.mark.models
def test_home_from_environment(library: tuple[Path, int]) -> None:
    home, _ = library
    proc = run("episodes", "--json", env={"PODSCOPE_HOME": str(home)})
    assert len(json.loads(proc.stdout)) == 1


def run_here(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str | Path, home: Path
) -> subprocess.CompletedProcess[str]:
    """The same entry point in this process (no model loads on these paths, so no need for a fresh interpreter)."""
    monkeypatch.setenv("PODSCOPE_ASR_MODEL", "tiny.en")
    monkeypatch.setenv("PODSCOPE_ALLOW_DOWNLOAD", "0")
    argv = [*map(str, args), "--home", str(home)]
    code, out, err = cli_here(capsys, *argv)
    return subprocess.CompletedProcess(argv, code, out, err)


def _fails_cleanly(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    message = " ".join(proc.stderr.split())
    assert message.startswith("Error:"), message
    for needle in needles:
        assert needle in message, message


def _bad_inputs(tmp: Path) -> dict[str, tuple[Path, str]]:
    (tmp / "empty.mp3").write_bytes(b"")
    (tmp / "notes.mp3").write_text("show notes, not audio\n" * 40)
    data = SAMPLE_WAV.read_bytes()
    (tmp / "cut.wav").write_bytes(data[: len(data) // 3])
    (tmp / "garbage.m4a").write_bytes(np.random.default_rng(1).bytes(40_000))
    write_wav(tmp / "zero.wav", np.zeros(0, np.float32))
    write_wav(tmp / "silent.wav", np.zeros(16000 * 5, np.float32))
    return {
        "missing": (tmp / "missing.mp3", "no such file"),
        "empty": (tmp / "empty.mp3", "empty"),
        "not audio": (tmp / "notes.mp3", "cannot be read as audio"),
        "truncated": (tmp / "cut.wav", "truncated"),
        "corrupt": (tmp / "garbage.m4a", "cannot be read as audio"),
        "zero length": (tmp / "zero.wav", "no audio samples"),
        "silent": (tmp / "silent.wav", "silent"),
    }


@pytest.mark.models
def test_bad_input_is_one_clear_sentence_and_leaves_the_store_unchanged(
    library: tuple[Path, int], tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    home, _ = library
    before = (home / "podscope.db").read_bytes()
    for name, (path, needle) in _bad_inputs(tmp_path).items():
        proc = run_here(capsys, monkeypatch, "add-audio", path, "--podcast", "P", "--title", name, home=home)
        _fails_cleanly(proc, needle)
    assert episode_rows(home) == 1
    assert [e["title"] for e in json.loads(run("episodes", "--json", home=home).stdout)] == ["Diane and Sheila"]
    assert len((home / "podscope.db").read_bytes()) == len(before)


@pytest.mark.models
def test_bad_date_and_unknown_episode(
    library: tuple[Path, int], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    home, _ = library
    args = ("add-audio", SAMPLE_WAV, "--podcast", "P", "--title", "T", "--published", "26/09/2025")
    _fails_cleanly(run_here(capsys, monkeypatch, *args, home=home), "YYYY-MM-DD")
    args = ("add-audio", SAMPLE_WAV, "--podcast", "P", "--title", "T", "--language", "klingon")
    _fails_cleanly(run_here(capsys, monkeypatch, *args, home=home), "'klingon' is not one Whisper knows")
    _fails_cleanly(run_here(capsys, monkeypatch, "transcript", "999", home=home), "no episode with id 999")


def test_unwritable_home(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    _fails_cleanly(run("episodes", home=blocker / "home"), "cannot use", "--home")  # a real process, a real exit


def test_missing_offline_model_says_how_to_get_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    args = ("add-audio", SAMPLE_WAV, "--podcast", "P", "--title", "T", "--model", "large-v3")
    _fails_cleanly(run_here(capsys, monkeypatch, *args, home=tmp_path), "large-v3", "downloads are off")
