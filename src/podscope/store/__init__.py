"""Storage: the only package that knows SQL. `contract` says what a backend implements; `sqlite` is the embedded
default (one file under the podscope home); `postgres` is a PostgreSQL server with pgvector (the postgres extra)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from podscope.errors import InputError
from podscope.store.contract import StoreBackend
from podscope.store.sqlite import Store
from podscope.store.upkeep import PG_DUMP

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def open_store(url: str, home: Path) -> StoreBackend:
    """The store a `store_url` names: empty for the SQLite file in the home, `postgresql://...` for a server."""
    if not url:
        return Store(home / "podscope.db")
    if url.startswith(POSTGRES_SCHEMES):
        from podscope.store.postgres.store import PostgresStore  # needs the postgres extra: says so when missing

        return PostgresStore(url)
    raise InputError(f"store_url {url!r}: expected empty (the SQLite file in the home) or postgresql://user@host/db")


def copy_store(source: StoreBackend, url: str, hook: Callable[[str, int, int], None] | None = None) -> dict[str, int]:
    """Copy a library kept in SQLite into an empty PostgreSQL store at `url`, ids kept; returns rows per table."""
    if not isinstance(source, Store):
        raise InputError(f"the library is already in {source.location}: copying works from the SQLite file")
    if not url.startswith(POSTGRES_SCHEMES):
        raise InputError(f"--to {url!r}: expected postgresql://user@host/db")
    from podscope.store.postgres.copy import copy_to

    return copy_to(source.db, url, hook)


__all__ = ["PG_DUMP", "Store", "StoreBackend", "copy_store", "open_store"]
