"""The embedded store: one SQLite file under the podscope home, made of one repository per kind of record.

Each repository is a small class over the one shared `Database` (connection, lock, transactions, migrations):
`store.episodes`, `store.people`, `store.search`, `store.feeds`, `store.keys`, `store.jobs`, `store.quizzes`,
`store.translations`, `store.maintenance`. A library operation that spans repositories groups their writes with
`store.transaction()`.
"""

from __future__ import annotations

from pathlib import Path

from podscope.store.composed import ComposedStore
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
from podscope.store.db import Database
from podscope.store.episodes import EpisodeTables
from podscope.store.feeds import FeedTables
from podscope.store.jobs import JobTables
from podscope.store.keys import KeyTables
from podscope.store.maintenance import MaintenanceTables
from podscope.store.people import PeopleTables
from podscope.store.quizzes import QuizTables
from podscope.store.search import SearchTables
from podscope.store.translations import TranslationTables


class Store(ComposedStore):
    """A podscope library in one SQLite file."""

    def __init__(self, path: Path | str):
        self.db: Database = Database(path)
        self.path = self.db.path
        self.location = str(self.path)
        self.episodes: EpisodeRepository = EpisodeTables(self.db)
        self.people: PeopleRepository = PeopleTables(self.db)
        self.search: SearchRepository = SearchTables(self.db)
        self.feeds: FeedRepository = FeedTables(self.db)
        self.keys: KeyRepository = KeyTables(self.db)
        self.jobs: JobRepository = JobTables(self.db)
        self.quizzes: QuizRepository = QuizTables(self.db)
        self.translations: TranslationRepository = TranslationTables(self.db)
        self.maintenance: MaintenanceRepository = MaintenanceTables(self.db)
