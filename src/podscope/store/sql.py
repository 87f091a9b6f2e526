"""SQL written once for both engines: the base of every repository whose statements mean the same on SQLite and
PostgreSQL.

A repository built on `SqlTables` writes its statements with `?` placeholders and standard SQL both engines read the
same way (RETURNING, ON CONFLICT, TRUE, quoted "end"); the few places the engines differ are asked of the database's
`dialect`:

    rows = self._q("SELECT id FROM people WHERE name_key = ?", (key,))      # rows as mappings, on either engine
    where, param = self._in("s.id", ids)                                     # a list of values as one parameter
    order = f"s.label{self._dialect.byte_order}"                              # byte-wise, as SQLite's BINARY

Why it looks like this: the two stores held the same repositories twice, differing only in placeholders and a few
words of dialect, so every change had to be made twice and could drift. Repositories that need an engine's own
features (FTS5 and faiss, tsvector and pgvector; the engines' maintenance) keep an engine-specific class.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

Row = Mapping[str, Any]


@dataclass(frozen=True)
class Dialect:
    """What differs between the engines, for the statements written once."""

    name: str  # sqlite | postgres
    byte_order: str  # appended to a text column to order it byte-wise, as SQLite's BINARY collation does
    for_update: str  # appended to a SELECT to lock its rows for the transaction (SQLite's writer holds the file)
    unique_violation: type[Exception]  # what the driver raises when a UNIQUE constraint refuses a row
    now: str  # the current UTC time, as stored text (`YYYY-MM-DDTHH:MM:SSZ`), by the database's clock
    error: type[Exception]  # the driver's base error

    def in_list(self, column: str, values: Iterable[Any]) -> tuple[str, Any]:
        """`column` is one of `values`, as SQL and its one parameter (a JSON array on SQLite, an array on
        PostgreSQL): one statement whatever the number of values."""
        items = list(values)
        if self.name == "postgres":
            return f"{column} = ANY(?)", items
        return f"{column} IN (SELECT value FROM json_each(?))", json.dumps(items)

    def in_set(self, column: str, subquery: str) -> str:
        """`column` is one of the values `subquery` selects, the set computed once: on PostgreSQL an array (an
        InitPlan), which the planner cannot turn into a join run once per row of the outer query."""
        if self.name == "postgres":
            return f"{column} = ANY(ARRAY({subquery}))"
        return f"{column} IN ({subquery})"

    def seconds_ago(self, seconds: float) -> tuple[str, Any]:
        """The time `seconds` before now, as stored text, by the database's clock (one clock for every machine
        that shares the store): SQL and its one parameter."""
        if self.name == "postgres":
            return """to_char((now() - make_interval(secs => ?)) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')""", (
                float(seconds)
            )
        return "strftime('%Y-%m-%dT%H:%M:%SZ', 'now', ?)", f"-{float(seconds)} seconds"


class SqlDatabase(Protocol):
    """The engine side a repository of `SqlTables` runs on: SQLite's `Database` or PostgreSQL's `PgDatabase`."""

    dialect: Dialect

    def transaction(self) -> AbstractContextManager[Any]: ...

    def portable(self, sql: str, params: Sequence[Any]) -> Sequence[Row]: ...

    def portable_count(self, sql: str, params: Sequence[Any]) -> int: ...

    def portable_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...

    def compact(self) -> None: ...


class SqlTables:
    """The base of a repository written once for both engines (see the module's notes)."""

    def __init__(self, db: SqlDatabase):
        self._db = db
        self._dialect = db.dialect

    def transaction(self) -> AbstractContextManager[Any]:
        """One write transaction; the statements run inside it (on this thread) join it."""
        return self._db.transaction()

    def _q(self, sql: str, params: Sequence[Any] = ()) -> Sequence[Row]:
        """The rows of one statement (`?` placeholders), inside this thread's transaction if one is open."""
        return self._db.portable(sql, params)

    def _one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        rows = self._q(sql, params)
        return rows[0] if rows else None

    def _count(self, sql: str, params: Sequence[Any] = ()) -> int:
        """How many rows one INSERT, UPDATE or DELETE touched."""
        return self._db.portable_count(sql, params)

    def _many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """One statement run for each row of parameters."""
        if rows:
            self._db.portable_many(sql, rows)

    def _in(self, column: str, values: Iterable[Any]) -> tuple[str, Any]:
        return self._dialect.in_list(column, values)
