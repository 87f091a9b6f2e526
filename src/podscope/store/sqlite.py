"""The embedded store: one SQLite file under the podscope home, made of one repository per kind of record.

Each repository is a small class over the one shared `Database` (connection, lock, transactions, migrations):
`store.episodes`, `store.people`, `store.search`, `store.feeds`, `store.keys`, `store.jobs`, `store.quizzes`,
`store.translations`, `store.maintenance`. A library operation that spans repositories groups their writes with
`store.transaction()`.
"""

from __future__ import annotations

from pathlib import Path

from podscope.store.composed import ComposedStore
from podscope.store.db import Database
from podscope.store.episodes import EpisodeTables
from podscope.store.jobs import JobTables
from podscope.store.maintenance import MaintenanceTables
from podscope.store.search import SearchTables


class Store(ComposedStore):
    """A podscope library in one SQLite file."""

    def __init__(self, path: Path | str):
        self.db: Database = Database(path)
        self.path = self.db.path
        self.location = str(self.path)
        self._compose(self.db)
        self.episodes = EpisodeTables(self.db)
        self.search = SearchTables(self.db)
        self.jobs = JobTables(self.db)
        self.maintenance = MaintenanceTables(self.db)
