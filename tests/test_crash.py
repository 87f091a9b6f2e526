"""Crash safety by fault injection: podscope commands killed (SIGKILL, nothing to clean up) at moments spread over
their run, then the home is checked and the command run again.

After every kill: the library opens; `Library.check` finds the file intact, no orphaned rows, no voiceprint of a
person who is gone and no recording nothing references; no episode is half-written (a stored episode is done with its
segments, or a feed's placeholder still to process with none); no file is left in the home's media folders or its
work folder that nothing names (a partial download is named by the feed item still to process, which resumes it); a
change to people (an enrolment, a confirmation, a forgetting) is wholly there or not at all; a forgotten person's
voiceprints are not in the database's files. Running the same command again then completes, after which the check
finds nothing at all (an index that lagged behind the kill has caught up) and no leftover file of any kind remains.

A kill point is a fraction of the command's own uninterrupted run, timed first on the same machine, so kills land
before, during and after its writes wherever the time goes; or a moment seen from outside (a partial download on
disk, the write-ahead log filling during `people forget`'s VACUUM), so a kill lands in a stage however long the
stages before it took. `crash_and_rerun` takes any kill points; `bench/reliability.py` runs them all and counts.
"""

from __future__ import annotations

import datetime as dt
import http.server
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from helpers import DATA, SAMPLE_WAV, http_server, stored_bytes, write_wav
from podscope.audio import load_audio
from podscope.feeds.fetch import safe_filename
from podscope.ingest import transcript_episode
from podscope.library import Library
from podscope.recordings import MEDIA_FOLDERS
from podscope.records import EpisodeMeta, Segment

# Every command here loads a model (MiniLM; Whisper tiny for the recordings); `make test-all` runs the harness.
pytestmark = [pytest.mark.models, pytest.mark.slow]

SETTINGS = 'asr_model = "tiny.en"\nallow_private_addresses = true\nfetch_timeout = 10\n'
SOUND = ("integrity", "orphans", "forgotten voiceprints", "unreferenced files", "text index")
SPOKEN = (DATA / "transcripts" / "example.json", DATA / "transcripts" / "example.srt")

# A kill point: a fraction of the uninterrupted run, or a condition on (home, pid) polled until it holds.
Condition = Callable[[Path, int], bool]
KillPoint = float | Condition


@dataclass(frozen=True)
class Base:
    """A home to copy for each kill, and the values its commands' arguments name ({inputs}, {speaker}, ...)."""

    home: Path
    values: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Command:
    name: str
    args: tuple[str, ...]  # formatted with the base's values
    done: Callable[[Library], bool]  # whether the command's effect is in the library
    again_ok: tuple[str, ...] = ()  # what a rerun may say instead of succeeding, when the first run had finished
    base: str = "base"  # the fixture (and builder) of its home
    points: tuple[KillPoint, ...] = (0.35, 0.7, 0.9)
    whole: Callable[[Library], object] | None = None  # state a kill leaves as before or as after the command, no mix
    secrets: Callable[[Library], list[bytes]] | None = None  # bytes that must be gone once the command is done

    def argv(self, base: Base) -> tuple[str, ...]:
        return tuple(a.format(**base.values) for a in self.args)


def describe(point: KillPoint) -> str:
    return f"{point:.0%} of its run" if isinstance(point, float) else (point.__doc__ or point.__name__).strip()


def _run(home: Path, args: tuple[str, ...], kill: KillPoint | None = None, seconds: float = 0.0) -> tuple[int, str]:
    """The command on `home` in a fresh interpreter, killed at `kill`; (exit code, stderr)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PODSCOPE_")} | {"PODSCOPE_HOME": str(home)}
    command = [sys.executable, "-m", "podscope.cli", *args]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if isinstance(kill, float):
        try:
            proc.wait(seconds * kill)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
    elif kill is not None:
        while proc.poll() is None:
            if kill(home, proc.pid):
                proc.send_signal(signal.SIGKILL)
                break
            time.sleep(0.002)
    _, err = proc.communicate(timeout=900)
    return proc.returncode, err


# -- what must hold ---------------------------------------------------------------------------------------------------


def loose_files(lib: Library, *, finished: bool = False) -> list[str]:
    """Files in the home's media folders and work folder that nothing names: not an episode's recording, nor (before
    the rerun, `finished` False) the download or fetched transcript of a feed item still to process."""
    named = {Path(e.source).resolve() for e in lib.episodes() if e.source and not e.source.startswith(("http", "file"))}
    if not finished:
        for item in lib.feeds.pending():
            if item.enclosure_url:
                target = lib.home / "downloads" / str(item.feed_id) / safe_filename(item.title, item.enclosure_url)
                named |= {target.resolve(), target.with_suffix(target.suffix + ".part").resolve()}
            named |= {p.resolve() for p in lib.work_dir.glob(f"transcript-{item.id}.*")}
    folders = [lib.home / f for f in MEDIA_FOLDERS] + [lib.work_dir]
    return [str(p) for f in folders for p in f.rglob("*") if p.is_file() and p.resolve() not in named]


def assert_sound(home: Path, command: Command, *, finished: bool = False) -> None:
    """What must hold after any kill: the library opens, nothing is broken, half-written or left lying about."""
    with Library(home) as lib:
        report = lib.check()
        broken = [f for f in report.findings if f.kind in SOUND]
        assert not broken, (command.name, broken)
        placeholders = {i.episode_id for f in lib.feeds.list() for i in lib.store.feeds.items(f.id)}
        for episode in lib.episodes():
            segments = lib.transcript(episode.id).segments
            if episode.status == "done":
                assert segments, (command.name, episode)
            else:  # a feed item's episode, to be processed: nothing of it written yet
                assert episode.id in placeholders and not segments, (command.name, episode)
        assert not loose_files(lib, finished=finished), (command.name, loose_files(lib, finished=finished))


def _gone(home: Path, secrets: list[bytes]) -> bool:
    raw = stored_bytes(home)
    return not any(s in raw for s in secrets)


def kill_once(base: Base, work: Path, command: Command, point: KillPoint, seconds: float, ends: list[object]) -> str:
    """Copy the base, run the command killed at `point` (`seconds`: its uninterrupted run), check, run it again,
    check. `ends`: the `whole` state before and after an uninterrupted run. Raises AssertionError on what must not
    happen; returns "killed: done" / "killed: not done" / "finished"."""
    home = work / f"{command.name}-{len(list(work.iterdir()))}"
    shutil.copytree(base.home, home, symlinks=True)
    with Library(home) as lib:
        secrets = command.secrets(lib) if command.secrets else []
    killed, err = _run(home, command.argv(base), point, seconds)
    assert killed in (0, -signal.SIGKILL), (command.name, describe(point), err[-2000:])
    with Library(home) as lib:
        was_done = command.done(lib)
        if command.whole:
            assert command.whole(lib) in ends, (command.name, describe(point), "a change half made")
    assert_sound(home, command)
    if was_done and secrets:
        assert _gone(home, secrets), (command.name, describe(point), "a forgotten voiceprint is still on disk")
    code, err = _run(home, command.argv(base))
    assert code == 0 or (was_done and any(s in err for s in command.again_ok)), (command.name, describe(point), err)
    assert_sound(home, command, finished=True)
    with Library(home) as lib:
        assert command.done(lib), (command.name, describe(point))
        assert lib.check().ok, (command.name, describe(point), lib.check().findings)
    if secrets:
        assert _gone(home, secrets), (command.name, describe(point), "a forgotten voiceprint is still on disk")
    shutil.rmtree(home)
    return "finished" if killed == 0 else f"killed: {'done' if was_done else 'not done'}"


def timed_run(base: Base, work: Path, command: Command) -> tuple[float, list[object]]:
    """The command's uninterrupted run on a copy of the base: its seconds, and its `whole` state before and after."""
    home = work / f"{command.name}-timing"
    shutil.copytree(base.home, home, symlinks=True)
    ends: list[object] = []
    if command.whole:
        with Library(home) as lib:
            ends.append(command.whole(lib))
    started = time.monotonic()
    code, err = _run(home, command.argv(base))
    seconds = time.monotonic() - started
    assert code == 0, (command.name, err)
    if command.whole:
        with Library(home) as lib:
            ends.append(command.whole(lib))
    shutil.rmtree(home)
    return seconds, ends


def crash_and_rerun(base: Base, work: Path, command: Command, points: tuple[KillPoint, ...]) -> list[str]:
    """Kill `command` at each point on a copy of the home of `base`; check; run it again; check. Returns what
    happened at each kill point ("killed: done" / "killed: not done" / "finished")."""
    work.mkdir(parents=True, exist_ok=True)
    seconds, ends = timed_run(base, work, command)
    return [kill_once(base, work, command, point, seconds, ends) for point in points]


# -- the homes the commands run on -------------------------------------------------------------------------------------


def build_base(folder: Path) -> Base:
    """A home with a recording of a call (its speakers kept with voiceprints, one of them enrolled), a recording of
    the call's start (its caller matched by voice: a match to confirm) and a transcript; recordings to add beside it."""
    home, inputs = folder / "home", folder / "inputs"
    home.mkdir(parents=True)
    inputs.mkdir()
    (home / "config.toml").write_text(SETTINGS)
    samples = load_audio(SAMPLE_WAV)
    start = write_wav(inputs / "start.wav", samples[: 20 * 16000])
    write_wav(inputs / "second.wav", samples[8 * 16000 :])
    with Library(home) as lib:
        call = lib.add_audio(SAMPLE_WAV, podcast="Calls", title="A call").episode
        labels = [s.label for s in lib.episode_speakers(call.id)]
        lib.people.enroll_speaker("Ann Caller", call.id, labels[0])
        lib.add_audio(start, podcast="Calls", title="The call's start")
        tips = lib.import_transcript(SPOKEN[1], podcast="Tips", title="Ten tips").episode
        to_confirm = [a.speaker_id for a in lib.store.people.attributions() if a.tier != "confirmed"]
    assert to_confirm, "the call's start matched nobody: nothing to confirm"
    values = {"inputs": str(inputs), "episode": str(call.id), "other": labels[1], "tips": str(tips.id)}
    return Base(home, values | {"speaker": str(to_confirm[0])})


SLOW_CHUNK, SLOW_PAUSE = 16_000, 0.05  # bytes and seconds: a 20-second recording takes about 2 s to download


@contextmanager
def feed_server(folder: Path) -> Iterator[str]:
    """A feed of one episode whose recording is served slowly, in chunks with pauses (and from an offset, for a
    download that resumes), so a kill can land mid-download. Yields the server's base URL."""
    samples = load_audio(SAMPLE_WAV)
    folder.mkdir(parents=True, exist_ok=True)
    files = {"/call.wav": write_wav(folder / "call.wav", samples[4 * 16000 : 24 * 16000]).read_bytes()}

    class Slow(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            body = files.get(self.path)
            if body is None:
                self.send_error(404)
                return
            wanted = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range", ""))
            start = int(wanted[1]) if wanted and int(wanted[1]) < len(body) else 0
            self.send_response(206 if start else 200)
            if start:
                self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
            audio = self.path.endswith(".wav")
            self.send_header("Content-Type", "audio/wav" if audio else "application/rss+xml")
            self.send_header("Content-Length", str(len(body) - start))
            self.end_headers()
            try:
                for at in range(start, len(body), SLOW_CHUNK if audio else len(body)):
                    self.wfile.write(body[at : at + SLOW_CHUNK])
                    self.wfile.flush()
                    time.sleep(SLOW_PAUSE if audio else 0)
            except (BrokenPipeError, ConnectionResetError):  # the downloader was killed
                pass

    with http_server(Slow) as url:
        files["/feed.xml"] = (
            '<?xml version="1.0"?><rss version="2.0"><channel><title>Slow Show</title><item><guid>call-1</guid>'
            "<title>Synced call</title><pubDate>Mon, 01 Apr 2024 10:00:00 GMT</pubDate>"
            f'<enclosure url="{url}/call.wav" type="audio/wav" length="{len(files["/call.wav"])}"/></item>'
            "</channel></rss>"
        ).encode()
        yield url


def build_sync(folder: Path, base: Base, url: str) -> Base:
    """The base home following the slow feed of `feed_server` at `url`: one episode to download and process."""
    shutil.copytree(base.home, folder / "home", symlinks=True)
    with Library(folder / "home") as lib:
        lib.feeds.add(f"{url}/feed.xml")
    return Base(folder / "home", base.values)


def build_large(folder: Path, base: Base, episodes: int = 300) -> Base:
    """The base home with `episodes` more transcripts of 100 segments each (random sentence vectors, in the vector
    index), a database of about 50 MB: large enough that `people forget`'s VACUUM takes a second or more."""
    shutil.copytree(base.home, folder / "home", symlinks=True)
    words = re.findall(r"[a-z]+", SPOKEN[1].read_text().lower())
    rng = np.random.default_rng(0)
    with Library(folder / "home") as lib:
        dimension = next(lib.store.search.vector_batches())[1].shape[1]
        for n in range(episodes):
            segments = [
                Segment(k * 5.0, k * 5.0 + 4.5, f"SPEAKER_0{k % 2}", " ".join(rng.choice(words, 40)).capitalize())
                for k in range(100)
            ]
            meta = EpisodeMeta(podcast="Bulk", title=f"Bulk {n}", published=dt.date(2024, 1, 1), source="bench")
            processed = transcript_episode(meta, segments, content_hash=f"bulk-{n}", language="en", source="bulk")
            episode_id = lib.store.episodes.save(processed)
            ids = lib.store.search.episode_segment_ids(episode_id)
            vectors = rng.normal(size=(len(ids), dimension)).astype(np.float32)
            lib.store.search.save_vectors(ids, vectors / np.linalg.norm(vectors, axis=1, keepdims=True))
        lib.search.mend_index()
    return Base(folder / "home", base.values)


class Bases:
    """The homes the commands run on, each built in `folder` when first asked for; `url`: the slow feed's server."""

    def __init__(self, folder: Path, url: str):
        self.folder = folder
        self.url = url
        self._built: dict[str, Base] = {}

    def __getitem__(self, name: str) -> Base:
        if name not in self._built:
            where = self.folder / name
            if name == "base":
                self._built[name] = build_base(where)
            elif name == "sync":
                self._built[name] = build_sync(where, self["base"], self.url)
            else:
                self._built[name] = build_large(where, self["base"])
        return self._built[name]


# -- the commands and where they are killed ----------------------------------------------------------------------------


def _files(folder: Path, pattern: str) -> list[Path]:
    try:
        return [p for p in folder.rglob(pattern) if p.is_file() and p.stat().st_size > 0]
    except FileNotFoundError:  # a file went as it was looked at
        return []


def mid_download(home: Path, pid: int) -> bool:
    """mid-download (a partial download on disk)"""
    return bool(_files(home / "downloads", "*.part"))


def mid_processing(home: Path, pid: int) -> bool:
    """mid-processing (the recording downloaded)"""
    return any(p.suffix != ".part" for p in _files(home / "downloads", "*"))


def first_write(home: Path, pid: int) -> bool:
    """at its first write (the write-ahead log growing)"""
    try:
        return (home / "podscope.db-wal").stat().st_size > 0
    except FileNotFoundError:
        return False


def in_vacuum(share: float) -> Condition:
    def condition(home: Path, pid: int) -> bool:
        try:
            return (home / "podscope.db-wal").stat().st_size > share * (home / "podscope.db").stat().st_size
        except FileNotFoundError:
            return False

    condition.__doc__ = f"mid-VACUUM (the write-ahead log at {share:.0%} of the database)"
    return condition


def _done(lib: Library) -> set[str]:
    return {e.title for e in lib.episodes() if e.status == "done"}


def _has(name: str) -> Callable[[Library], bool]:
    return lambda lib: name in lib.store.people.names().values()


def people_state(lib: Library) -> object:
    """Everything a people command changes, without times: it must be as before the command or as after it."""
    names = lib.store.people.names()
    return (
        sorted(names.values()),
        sorted((a.speaker_id, a.person, a.tier) for a in lib.store.people.attributions()),
        sorted((names[x.person_id], x.speaker_id, x.origin, x.source, x.flagged) for x in lib.store.people.exemplars()),
        sorted(lib.store.people.rejections()),
        len(lib.store.people.history()),
    )


def voiceprints_of(name: str) -> Callable[[Library], list[bytes]]:
    """The bytes of every voiceprint tied to a person: their exemplars, and their speakers' episode and window ones."""

    def secrets(lib: Library) -> list[bytes]:
        person = lib.store.people.find(name)
        if person is None:
            return []
        speakers = [a.speaker_id for a in lib.store.people.attributions(person_id=person.id)]
        found = [x.embedding.tobytes() for x in lib.store.people.exemplars(person.id)]
        found += [v.embedding.tobytes() for v in lib.store.people.speaker_voices(speaker_ids=speakers)]
        return found + [w.tobytes() for s in speakers for w in lib.store.people.window_voiceprints(s)]

    return secrets


def _confirmed(lib: Library) -> bool:
    return not [a for a in lib.store.people.attributions() if a.tier != "confirmed" and a.person == "Ann Caller"]


FORGET = ("people", "forget", "Ann Caller", "--yes")
COMMANDS = {
    "add-audio": Command(
        "add-audio",
        ("add-audio", "{inputs}/second.wav", "--podcast", "Calls", "--title", "Second half"),
        lambda lib: "Second half" in _done(lib),
        points=(0.3, 0.55, 0.8, 0.95),
    ),
    "import-transcript": Command(
        "import-transcript",
        ("import-transcript", str(SPOKEN[0]), "--podcast", "Tips", "--title", "New"),
        lambda lib: "New" in _done(lib),
        points=(first_write, 0.35, 0.7, 0.9),
    ),
    "delete": Command(
        "delete",
        ("delete", "{tips}", "--yes"),
        lambda lib: "Ten tips" not in _done(lib),
        ("no episode with id",),
        points=(first_write, 0.35, 0.7, 0.9),
    ),
    "sync": Command(
        "sync",
        ("sync",),
        lambda lib: "Synced call" in _done(lib),
        base="sync",
        points=(mid_download, mid_processing, 0.8),
    ),
    "people enroll": Command(
        "people enroll",
        ("people", "enroll", "Bob Guest", "--episode", "{episode}", "--speaker", "{other}"),
        _has("Bob Guest"),
        points=(first_write, 0.35, 0.7, 0.9),
        whole=people_state,
    ),
    "review confirm": Command(
        "review confirm",
        ("review", "confirm", "{speaker}"),
        _confirmed,
        points=(first_write, 0.35, 0.7, 0.9),
        whole=people_state,
    ),
    "people forget": Command(
        "people forget",
        FORGET,
        lambda lib: not _has("Ann Caller")(lib),
        ("no person named",),
        points=(first_write, 0.35, 0.7, 0.9),
        whole=people_state,
        secrets=voiceprints_of("Ann Caller"),
    ),
    "people forget (VACUUM)": Command(
        "people forget (VACUUM)",
        FORGET,
        lambda lib: not _has("Ann Caller")(lib),
        ("no person named",),
        base="large",
        points=(in_vacuum(0.05), in_vacuum(0.6), 0.97),
        whole=people_state,
        secrets=voiceprints_of("Ann Caller"),
    ),
}


@pytest.fixture(scope="module")
def bases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bases]:
    folder = tmp_path_factory.mktemp("crash")
    with feed_server(folder / "served") as url:
        yield Bases(folder, url)


@pytest.mark.parametrize("name", list(COMMANDS))
def test_a_command_killed_at_any_moment_leaves_the_library_whole(bases: Bases, tmp_path: Path, name: str) -> None:
    command = COMMANDS[name]
    outcomes = crash_and_rerun(bases[command.base], tmp_path, command, command.points)
    assert any(o.startswith("killed") for o in outcomes), outcomes
    for point, outcome in zip(command.points, outcomes, strict=True):  # a stage seen from outside was killed in
        # (a first write can be over, the log folded back, between two looks: that kill may come too late)
        assert not describe(point).startswith("mid-") or outcome.startswith("killed"), (describe(point), outcome)
