"""Crash safety by fault injection: podscope commands killed (SIGKILL, nothing to clean up) at moments spread over
their run, then the home is checked and the command run again.

After every kill: the library opens; `Library.check` finds the file intact, no orphaned rows, no voiceprint of a
person who is gone and no file nothing references; no episode is half-written (every stored episode is done, with
its segments); a person is either still there or wholly forgotten. Running the same command again then completes,
after which the check finds nothing at all (an index that lagged behind the kill has caught up).

The moments are fractions of the command's own uninterrupted run, timed first on the same machine, so they land
before, during and after its writes wherever the time goes; `crash_and_rerun` takes any fractions for a longer run.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from helpers import DATA, SAMPLE_WAV
from podscope.library import Library

# Every command here loads a model (MiniLM; Whisper tiny for the base home); `make test-all` runs the harness.
pytestmark = [pytest.mark.models, pytest.mark.slow]

SETTINGS = 'asr_model = "tiny.en"\n'
SOUND = ("integrity", "orphans", "forgotten voiceprints", "unreferenced files", "text index")


@dataclass(frozen=True)
class Command:
    name: str
    args: tuple[str, ...]
    done: Callable[[Library], bool]  # whether the command's effect is in the library
    again_ok: tuple[str, ...] = ()  # what a rerun may say instead of succeeding, when the first run had finished


def _run(home: Path, args: tuple[str, ...], kill_after: float | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PODSCOPE_HOME": str(home)}
    command = [sys.executable, "-m", "podscope.cli", *args]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if kill_after is not None:
        try:
            proc.wait(kill_after)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
    out, err = proc.communicate(timeout=900)
    return subprocess.CompletedProcess(command, proc.returncode, out, err)


def assert_sound(home: Path, command: Command) -> None:
    """What must hold after any kill: the library opens, nothing is broken or half-written."""
    with Library(home) as lib:
        report = lib.check()
        broken = [f for f in report.findings if f.kind in SOUND]
        assert not broken, (command.name, broken)
        for episode in lib.episodes():
            assert episode.status == "done", (command.name, episode)
            assert lib.transcript(episode.id).segments, (command.name, episode)


def crash_and_rerun(base: Path, work: Path, command: Command, fractions: tuple[float, ...]) -> list[str]:
    """Kill `command` at each fraction of its uninterrupted run on a copy of the home `base`; check; run it again;
    check. Returns what happened at each kill point ("killed: done" / "killed: not done" / "finished")."""
    timing = work / "timing"
    shutil.copytree(base, timing)
    started = time.monotonic()
    full = _run(timing, command.args)
    seconds = time.monotonic() - started
    assert full.returncode == 0, (command.name, full.stderr)
    outcomes = []
    for n, fraction in enumerate(fractions):
        home = work / f"{command.name}-{n}"
        shutil.copytree(base, home)
        killed = _run(home, command.args, kill_after=seconds * fraction)
        with Library(home) as lib:
            was_done = command.done(lib)
        outcomes.append("finished" if killed.returncode == 0 else f"killed: {'done' if was_done else 'not done'}")
        assert_sound(home, command)
        again = _run(home, command.args)
        assert again.returncode == 0 or (was_done and any(s in again.stderr for s in command.again_ok)), (
            command.name,
            fraction,
            again.stderr,
        )
        assert_sound(home, command)
        with Library(home) as lib:
            assert command.done(lib), (command.name, fraction)
            assert lib.check().ok, (command.name, fraction, lib.check().findings)
    return outcomes


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home with a recording (its speakers kept with voiceprints, one of them named) and a transcript."""
    home = tmp_path_factory.mktemp("crash") / "home"
    home.mkdir()
    (home / "config.toml").write_text(SETTINGS)
    with Library(home) as lib:
        audio = lib.add_audio(SAMPLE_WAV, podcast="Calls", title="A call").episode
        lib.people.enroll_speaker("Ann Caller", audio.id, lib.episode_speakers(audio.id)[0].label)
        lib.import_transcript(DATA / "transcripts" / "example.srt", podcast="Tips", title="Ten tips")
    return home


def _titles(lib: Library) -> set[str]:
    return {e.title for e in lib.episodes()}


COMMANDS = {
    "import-transcript": Command(
        "import-transcript",
        ("import-transcript", str(DATA / "transcripts" / "example.json"), "--podcast", "Tips", "--title", "New"),
        lambda lib: "New" in _titles(lib),
    ),
    "delete": Command(
        "delete", ("delete", "2", "--yes"), lambda lib: "Ten tips" not in _titles(lib), ("no episode with id 2",)
    ),
    "forget": Command(
        "forget",
        ("people", "forget", "Ann Caller", "--yes"),
        lambda lib: "Ann Caller" not in {p.name for p, _ in lib.people.roster()},
        ("no person named",),
    ),
}


@pytest.mark.parametrize("name", list(COMMANDS))
def test_a_command_killed_at_any_moment_leaves_the_library_whole(base: Path, tmp_path: Path, name: str) -> None:
    outcomes = crash_and_rerun(base, tmp_path, COMMANDS[name], (0.35, 0.7, 0.9))
    assert any(o.startswith("killed") for o in outcomes), outcomes
