"""What every store does the same way whatever its engine: whole-store operations handed to its database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Protocol

from podscope.store.alerts import AlertTables
from podscope.store.contract import (
    EpisodeRepository,
    FeedRepository,
    JobRepository,
    KeyRepository,
    MaintenanceRepository,
    PeopleRepository,
    QuizRepository,
    SearchRepository,
    TranslationRepository,
)
from podscope.store.feeds import FeedTables
from podscope.store.keys import KeyTables
from podscope.store.people import PeopleTables
from podscope.store.quizzes import QuizTables
from podscope.store.sql import SqlDatabase
from podscope.store.translations import TranslationTables


class StoreDatabase(Protocol):
    """The engine side of a store: SQLite's `Database` or PostgreSQL's `PgDatabase`."""

    def transaction(self) -> AbstractContextManager[Any]: ...

    def migrate(self) -> list[str]: ...

    def applied_migrations(self) -> list[str]: ...

    def close(self) -> None: ...


class ComposedStore:
    """A store made of repositories over one database. The repositories written once for both engines
    (`podscope.store.sql`) are built here; each engine's store adds its own episodes, search and maintenance."""

    db: StoreDatabase
    episodes: EpisodeRepository
    jobs: JobRepository
    search: SearchRepository
    maintenance: MaintenanceRepository

    def _compose(self, db: SqlDatabase) -> None:
        self.people: PeopleRepository = PeopleTables(db)
        self.feeds: FeedRepository = FeedTables(db)
        self.keys: KeyRepository = KeyTables(db)
        self.quizzes: QuizRepository = QuizTables(db)
        self.translations: TranslationRepository = TranslationTables(db)
        self.alerts = AlertTables(db)

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
