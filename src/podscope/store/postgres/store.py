"""The PostgreSQL store: the same repositories as the SQLite store, over one pooled `PgDatabase`."""

from __future__ import annotations

from podscope.store.composed import ComposedStore
from podscope.store.contract import (
    EpisodeRepository,
    FeedRepository,
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
from podscope.store.postgres.db import PgDatabase, redact
from podscope.store.postgres.episodes import PgEpisodes
from podscope.store.postgres.maintenance import PgMaintenance
from podscope.store.postgres.search import PgSearchTables
from podscope.store.quizzes import QuizTables
from podscope.store.translations import TranslationTables


class PostgresStore(ComposedStore):
    """A podscope library in a PostgreSQL database (with pgvector), shared by every process that opens its URL."""

    def __init__(self, url: str):
        self.db: PgDatabase = PgDatabase(url)
        self.url = url
        self.location = redact(url)  # never the password
        self.episodes: EpisodeRepository = PgEpisodes(self.db)
        self.people: PeopleRepository = PeopleTables(self.db)
        self.search: SearchRepository = PgSearchTables(self.db)
        self.feeds: FeedRepository = FeedTables(self.db)
        self.keys: KeyRepository = KeyTables(self.db)
        self.quizzes: QuizRepository = QuizTables(self.db)
        self.translations: TranslationRepository = TranslationTables(self.db)
        self.maintenance: MaintenanceRepository = PgMaintenance(self.db)
