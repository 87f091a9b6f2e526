"""The PostgreSQL store: the same repositories as the SQLite store, over one pooled `PgDatabase`."""

from __future__ import annotations

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
from podscope.store.postgres.db import PgDatabase, redact
from podscope.store.postgres.episodes import PgEpisodes
from podscope.store.postgres.feeds import PgFeeds
from podscope.store.postgres.jobs import PgJobs
from podscope.store.postgres.keys import PgKeys
from podscope.store.postgres.maintenance import PgMaintenance
from podscope.store.postgres.people import PgPeople
from podscope.store.postgres.quizzes import PgQuizzes
from podscope.store.postgres.search import PgSearchTables
from podscope.store.postgres.translations import PgTranslations


class PostgresStore(ComposedStore):
    """A podscope library in a PostgreSQL database (with pgvector), shared by every process that opens its URL."""

    def __init__(self, url: str):
        self.db: PgDatabase = PgDatabase(url)
        self.url = url
        self.location = redact(url)  # never the password
        self.episodes: EpisodeRepository = PgEpisodes(self.db)
        self.people: PeopleRepository = PgPeople(self.db)
        self.search: SearchRepository = PgSearchTables(self.db)
        self.feeds: FeedRepository = PgFeeds(self.db)
        self.keys: KeyRepository = PgKeys(self.db)
        self.jobs: JobRepository = PgJobs(self.db)
        self.quizzes: QuizRepository = PgQuizzes(self.db)
        self.translations: TranslationRepository = PgTranslations(self.db)
        self.maintenance: MaintenanceRepository = PgMaintenance(self.db)
