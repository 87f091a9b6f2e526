"""Plain helpers shared by the test modules: test data paths, the backends' params, writing audio, the `podscope`
command, a home's store on either backend (pointing a home at a store, copying a library, SQL and bytes straight from
the store), and servers on loopback. Fixtures live in conftest.py; this module holds no fixtures, so test modules
import from here.

    from helpers import DATA, SAMPLE_WAV, served, write_wav

The web app is spoken to in this process (`in_process`: no server, no socket) unless a test needs what only a real
server does: a browser, Range and HEAD requests over HTTP, the peer address and X-Forwarded-For as uvicorn sets them
(`served`).
"""

from __future__ import annotations

import http.server
import os
import socket
import subprocess
import sys
import threading
import time
import wave
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import av
import numpy as np
import pytest

if TYPE_CHECKING:
    from starlette.testclient import TestClient

    from podscope.library import Library

DATA = Path(__file__).parent / "data"
SAMPLE_WAV = DATA / "pyannote-sample" / "sample.wav"
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parent.parent / "bench" / "out" / "screenshots"
# The storage backends a test runs on, as the params of conftest's `backend` fixture (ids "sqlite" and "postgres"); the
# postgres one is marked, so `-m 'not postgres'` runs without a server.
BACKENDS = [pytest.param("sqlite", id="sqlite"), pytest.param("postgres", marks=pytest.mark.postgres, id="postgres")]
# For the tests whose every run costs half a minute or more (a whole session of `podscope` commands, each in a fresh
# interpreter loading its models): their postgres run is also `slow`, so it is in `make test-all` but not in the
# default run, where the same store code is exercised by the module's library tests.
HEAVY_ON_POSTGRES = pytest.mark.parametrize(
    "backend",
    [BACKENDS[0], pytest.param("postgres", marks=[pytest.mark.postgres, pytest.mark.slow], id="postgres")],
    indirect=True,
)
# A test of a module on both backends that checks what no store decides (HTTP rules, limits, a document the app
# renders) runs on the default backend only; a test of what only a shared server can do, on PostgreSQL only.
ON_SQLITE_ONLY = pytest.mark.parametrize("backend", [BACKENDS[0]], indirect=True)
ON_POSTGRES_ONLY = pytest.mark.parametrize("backend", [BACKENDS[1]], indirect=True)

# -- audio -----------------------------------------------------------------------------------------------------------


def write_wav(path: Path, samples: np.ndarray, rate: int = 16000) -> Path:
    """16-bit PCM WAV with the standard library."""
    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
    return path


def encode(path: Path, samples: np.ndarray, codec: str, rate: int = 16000, video: bool = False) -> Path:
    """Encode mono 16 kHz float samples with PyAV (FFmpeg's encoders), optionally with a video track."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=rate)
        stream.layout = "mono"
        if video:
            vstream = out.add_stream("mpeg4", rate=10)
            vstream.width, vstream.height, vstream.pix_fmt = 64, 48, "yuv420p"
            for _ in range(int(len(samples) / 16000 * 10)):
                frame = av.VideoFrame.from_ndarray(np.zeros((48, 64, 3), np.uint8), format="rgb24")
                for packet in vstream.encode(frame):
                    out.mux(packet)
        pcm = (np.clip(samples, -1, 1) * 32767).astype(np.int16)
        for i in range(0, len(pcm), 1024):
            frame = av.AudioFrame.from_ndarray(pcm[None, i : i + 1024], format="s16", layout="mono")
            frame.sample_rate = 16000
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
        if video:
            for packet in vstream.encode(None):
                out.mux(packet)
    return path


# -- the podscope command --------------------------------------------------------------------------------------------

# Not settings: where derived models and synthesized speech are cached, kept so a developer's caches are reused.
_CACHE_VARIABLES = {"PODSCOPE_CACHE_DIR", "PODSCOPE_SYNTH_CACHE"}


def cli(home: Path, *args: object, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """`podscope ARGS --home HOME` in a fresh interpreter. The caller's PODSCOPE_* variables (a home, settings, debug)
    are left out, so only the home's own settings apply."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PODSCOPE_") or k in _CACHE_VARIABLES}
    return subprocess.run(
        [sys.executable, "-m", "podscope.cli", *map(str, args), "--home", str(home)],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )


def cli_here(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    """`podscope ARGS` in this process (for paths that load no model): exit code, stdout and stderr."""
    from podscope.cli import main

    capsys.readouterr()
    code = 0
    try:
        main(list(map(str, args)))
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# -- the store under a home, on either backend ------------------------------------------------------------------------


def store_url_of(where: Library | Path) -> str:
    """The `store_url` a library uses, or the one a home's settings name ("" for the SQLite file in the home)."""
    if isinstance(where, Path):
        from podscope.settings import load_settings

        return load_settings(where).store_url
    return where.settings.store_url


def use_store(home: Path, url: str, models_of: Path | None = None) -> Path:
    """Make `home` a home on the store at `url` (its config.toml says `store_url`), so every Library and `podscope`
    command opened on it uses that store; `models_of`: a home whose exported models it shares. Returns `home`."""
    home.mkdir(parents=True, exist_ok=True)
    config = home / "config.toml"
    kept = (
        [line for line in config.read_text().splitlines() if not line.startswith("store_url")]
        if config.exists()
        else []
    )
    config.write_text("\n".join([*kept, f"store_url = {url!r}", ""]))
    if models_of is not None:
        (home / "models").symlink_to(models_of / "models", target_is_directory=True)
    return home


def copy_library(home: Path, url: str) -> str:
    """The library in `home`'s SQLite file copied into the (empty) PostgreSQL store at `url`, ids kept; returns url."""
    from podscope.library import Library

    with Library(home, settings={"store_url": ""}) as lib:
        lib.copy_store(url)
    return url


def query(where: Library | Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """SQL straight on the store of a library or a home (its SQLite file, or its PostgreSQL database), with `?`
    placeholders on both; a change is committed. The rows, if the statement returns any."""
    url = store_url_of(where)
    home = where if isinstance(where, Path) else where.home
    if not url:
        import sqlite3
        from contextlib import closing

        with closing(sqlite3.connect(home / "podscope.db")) as conn, conn:
            return [tuple(r) for r in conn.execute(sql, params)]
    import psycopg

    with psycopg.connect(url) as conn:
        cursor = conn.execute(sql.replace("?", "%s"), params)  # type: ignore[arg-type]
        return [tuple(r) for r in cursor.fetchall()] if cursor.description else []


def stored_bytes(where: Library | Path) -> bytes:
    """What the store holds on disk, to show a secret is not in it: the SQLite file with its write-ahead log; on
    PostgreSQL the files of its database in the server's data directory (dead rows included), after a checkpoint, or
    where the server's files cannot be read (a server elsewhere, PODSCOPE_TEST_PG_URL) the text of every row."""
    url = store_url_of(where)
    home = where if isinstance(where, Path) else where.home
    if not url:
        return b"".join(p.read_bytes() for p in sorted(home.glob("podscope.db*")))
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        folder = conn.execute(  # no row for a role that may not see the server's settings
            "SELECT s.setting || '/base/' || d.oid FROM pg_settings s, pg_database d"
            " WHERE s.name = 'data_directory' AND d.datname = current_database()"
        ).fetchone()
        if folder is not None and os.access(folder[0], os.R_OK):
            conn.execute("CHECKPOINT")  # every change written to the files
            return b"".join(p.read_bytes() for p in sorted(Path(folder[0]).iterdir()) if p.is_file())
        tables = [r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
        out = []
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{table}"'):  # type: ignore[arg-type]
                out += [v if isinstance(v, bytes) else str(v).encode() for v in row]
        return b"\0".join(out)


# -- servers on loopback and the web app in this process -------------------------------------------------------------


@contextmanager
def http_server(handler: type[http.server.BaseHTTPRequestHandler]) -> Iterator[str]:
    """A standard-library HTTP server with `handler` on 127.0.0.1 (a free port) in a thread; yields its base URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


FILE_TYPES = {".xml": "application/rss+xml", ".srt": "application/srt", ".vtt": "text/vtt", ".json": "application/json"}


@contextmanager
def files_server(files: dict[str, bytes]) -> Iterator[str]:
    """`http_server` answering GET with the bytes `files` maps a path to (404 otherwise), typed by the extension; the
    dict may change while it serves. Yields its base URL."""

    class Files(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            body = files.get(self.path)
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", FILE_TYPES.get(Path(self.path).suffix, "application/octet-stream"))
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    with http_server(Files) as base:
        yield base


LOCAL = ("127.0.0.1", 50000)  # the peer of in-process requests: this machine, as for a browser on it


@contextmanager
def in_process(lib_or_app: Any) -> Iterator[TestClient]:
    """The web app over a library (or an app already made, to share its state) in this process: a client with
    httpx.Client's API that calls the ASGI app directly, after the app's startup (and its shutdown on exit). Requests
    come from 127.0.0.1 for the Host 127.0.0.1, as from this machine to `podscope serve`; redirects are not followed,
    as with a plain httpx.Client."""
    from starlette.applications import Starlette
    from starlette.testclient import TestClient

    from podscope.web.app import create_app

    app = lib_or_app if isinstance(lib_or_app, Starlette) else create_app(lib_or_app)
    with TestClient(app, base_url="http://127.0.0.1", client=LOCAL, follow_redirects=False) as client:
        yield client


@contextmanager
def served(lib: Any) -> Iterator[str]:
    """`podscope serve` over `lib`: a real uvicorn on 127.0.0.1 (a free port) in a thread; yields its base URL."""
    import uvicorn

    from podscope.web.app import create_app

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))  # bound here, so no other process can take the port before uvicorn listens
    server = uvicorn.Server(uvicorn.Config(create_app(lib), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
