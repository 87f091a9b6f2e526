"""What every store does the same way whatever its engine: whole-store operations handed to its database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Protocol


class StoreDatabase(Protocol):
    """The engine side of a store: SQLite's `Database` or PostgreSQL's `PgDatabase`."""

    def transaction(self) -> AbstractContextManager[Any]: ...

    def migrate(self) -> list[str]: ...

    def applied_migrations(self) -> list[str]: ...

    def close(self) -> None: ...


class ComposedStore:
    """A store made of repositories over one database; subclasses build the repositories."""

    db: StoreDatabase

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One write transaction across repositories: everything inside commits together or not at all; nested
        calls (on this thread) join the outer one."""
        with self.db.transaction():
            yield

    def migrate(self) -> list[str]:
        return self.db.migrate()

    def applied_migrations(self) -> list[str]:
        return self.db.applied_migrations()

    def close(self) -> None:
        self.db.close()
