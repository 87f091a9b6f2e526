"""The PostgreSQL store: the same repositories as the SQLite store, over one pooled `PgDatabase`."""

from __future__ import annotations

from podscope.store.composed import ComposedStore
from podscope.store.jobs import JobTables
from podscope.store.postgres.db import PgDatabase, redact
from podscope.store.postgres.episodes import PgEpisodes
from podscope.store.postgres.maintenance import PgMaintenance
from podscope.store.postgres.search import PgSearchTables


class PostgresStore(ComposedStore):
    """A podscope library in a PostgreSQL database (with pgvector), shared by every process that opens its URL."""

    def __init__(self, url: str):
        self.db: PgDatabase = PgDatabase(url)
        self.url = url
        self.location = redact(url)  # never the password
        self._compose(self.db)
        self.episodes = PgEpisodes(self.db)
        self.search = PgSearchTables(self.db)
        self.jobs = JobTables(self.db)
        self.maintenance = PgMaintenance(self.db)
