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


def test_writers_and_readers_share_one_home(tmp_path: Path) -> None:
    files: dict[str, bytes] = {}

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
        answers: list[tuple[str, int]] = []
        stop = threading.Event()

        with served(lib) as url:

            def read() -> None:
                with httpx.Client(base_url=url, timeout=60) as client:
                    while not stop.is_set():
                        for path in (*READS, f"/episodes/{first.episode.id}"):
                            answers.append((path, client.get(path).status_code))

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
            assert w.returncode == 0, (w.args, out, err)
            assert "locked" not in (out + err).lower() and "Traceback" not in err
        assert answers and all(status == 200 for _, status in answers), [a for a in answers if a[1] != 200][:5]
        titles = sorted(e.title for e in lib.episodes())
        assert titles == ["A", "Already there", "B", "Synced 1", "Synced 2"]
        segments = sum(len(lib.transcript(e.id).segments) for e in lib.episodes())
        assert lib.search.search("podcast", SearchOptions(mode="text", limit=1)).total > 0
        assert lib.search.vectors.size == segments

    with closing(sqlite3.connect(home / "podscope.db")) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        conn.execute("INSERT INTO segments_fts (segments_fts) VALUES ('integrity-check')")
        assert conn.execute("SELECT COUNT(*) FROM segments_fts").fetchone()[0] == segments
