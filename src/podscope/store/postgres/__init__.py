"""The PostgreSQL store (with pgvector): the same repositories as the embedded SQLite store, for a catalogue shared
by many ingest workers and web replicas. Needs the postgres extra (`pip install 'podscope[postgres]'`)."""
