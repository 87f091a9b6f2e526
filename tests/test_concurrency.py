"""One home used by several processes at once, as a user leaves it: `podscope serve` answering searches and pages
while two imports and a feed sync write from the command line. Nothing may fail, "database is locked" must never
reach anyone, and the library ends whole (every episode once, the file's integrity check ok, the search index and
the vector index holding every segment)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from helpers import DATA, files_server, served
from podscope.library import Library
from podscope.search.engine import SearchOptions

# Imports embed their segments with MiniLM; three commands and a server take a minute, so `make test-all` runs it.
pytestmark = [pytest.mark.models, pytest.mark.slow]

TRANSCRIPTS = DATA / "transcripts"
PC = "https://podcastindex.org/namespace/1.0"
READS = ("/api/search?q=podcast&mode=text", "/", "/api/episodes", "/search?q=mistakes")


def _feed(base: str) -> bytes:
    items = "".join(
        f"<item><guid>t-{n}</guid><title>Synced {n}</title><pubDate>Mon, 0{n} Apr 2024 10:00:00 GMT</pubDate>"
        f'<podcast:transcript url="{base}/t/{n}.vtt" type="text/vtt"/></item>'
        for n in (1, 2)
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0" xmlns:podcast="{PC}"><channel><title>Synced Show</title>{items}'
        "</channel></rss>"
    ).encode()


def _podscope(home: Path, *args: object) -> subprocess.Popen[str]:
    env = {**os.environ, "PODSCOPE_HOME": str(home)}
    command = [sys.executable, "-m", "podscope.cli", *map(str, args)]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@dataclass
class SharedHome:
    """What happened when several processes used one home at once: each command's arguments, exit code and output,
    each page and search answered meanwhile, and the library afterwards."""

    commands: list[tuple[list[str], int, str]] = field(default_factory=list)  # (args, exit code, stdout + stderr)
    answers: list[tuple[str, int]] = field(default_factory=list)  # (path, status)
    titles: list[str] = field(default_factory=list)
    segments: int = 0
    vectors: int = 0
    text_hits: int = 0
    integrity: str = ""
    text_index: int = 0

    def failed(self) -> list[str]:
        """The commands and requests that failed, or said "locked", or showed a traceback."""
        bad = [
            " ".join(args[-6:])
            for args, code, output in self.commands
            if code != 0 or "locked" in output.lower() or "Traceback" in output
        ]
        return bad + [f"GET {path}: {status}" for path, status in self.answers if status != 200]


def share_one_home(tmp_path: Path) -> SharedHome:
    """`podscope serve` answering two readers' searches and pages while two imports and a feed sync write from the
    command line, all on one home in `tmp_path`."""
    files: dict[str, bytes] = {}
    shared = SharedHome()
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text("allow_private_addresses = true\n")
    vtt = TRANSCRIPTS / "example.vtt"
    with files_server(files) as base, Library(home) as lib:
        # Two feed items with different transcripts (the same bytes would be one episode).
        files["/t/1.vtt"] = vtt.read_bytes()
        files["/t/2.vtt"] = vtt.read_bytes() + b"\n"
        files["/feed.xml"] = _feed(base)
        first = lib.import_transcript(TRANSCRIPTS / "example.srt", podcast="Served", title="Already there")
        lib.feeds.add(f"{base}/feed.xml")
        stop = threading.Event()

        with served(lib) as url:

            def read() -> None:
                with httpx.Client(base_url=url, timeout=60) as client:
                    while not stop.is_set():
                        for path in (*READS, f"/episodes/{first.episode.id}"):
                            shared.answers.append((path, client.get(path).status_code))

            readers = [threading.Thread(target=read) for _ in range(2)]
            for r in readers:
                r.start()
            writers = [
                _podscope(home, "import-transcript", TRANSCRIPTS / "example.json", "--podcast", "Cli", "--title", "A"),
                _podscope(home, "import-transcript", vtt, "--podcast", "Cli", "--title", "B"),
                _podscope(home, "sync"),
            ]
            outputs = [w.communicate(timeout=600) for w in writers]
            time.sleep(0.5)  # a last round of reads after the writes
            stop.set()
            for r in readers:
                r.join(60)

        for w, (out, err) in zip(writers, outputs, strict=True):
            shared.commands.append(([str(a) for a in w.args], w.returncode, out + err))
        shared.titles = sorted(e.title for e in lib.episodes())
        shared.segments = sum(len(lib.transcript(e.id).segments) for e in lib.episodes())
        shared.text_hits = lib.search.search("podcast", SearchOptions(mode="text", limit=1)).total
        shared.vectors = lib.search.vectors.size

    with closing(sqlite3.connect(home / "podscope.db")) as conn:
        shared.integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
        conn.execute("INSERT INTO segments_fts (segments_fts) VALUES ('integrity-check')")
        shared.text_index = conn.execute("SELECT COUNT(*) FROM segments_fts").fetchone()[0]
    return shared


def test_writers_and_readers_share_one_home(tmp_path: Path) -> None:
    shared = share_one_home(tmp_path)
    assert not shared.failed(), (shared.failed()[:5], [c[2][-2000:] for c in shared.commands if c[1]])
    assert shared.answers and len(shared.commands) == 3
    assert shared.titles == ["A", "Already there", "B", "Synced 1", "Synced 2"]
    assert shared.text_hits > 0
    assert shared.vectors == shared.segments == shared.text_index
    assert shared.integrity == "ok"
