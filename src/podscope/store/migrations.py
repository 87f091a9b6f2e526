"""Named, ordered schema migrations. Each runs in its own transaction and is recorded in `migrations`.

Never edit a migration that has shipped: add a new one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from podscope.store.names import KEYED, keys_for

MIGRATIONS: list[tuple[str, str]] = [
    (
        "0001_episodes",
        """
        CREATE TABLE podcasts (
            id INTEGER PRIMARY KEY,
            title TEXT NOT NULL UNIQUE COLLATE NOCASE,
            created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
        );
        CREATE TABLE episodes (
            id INTEGER PRIMARY KEY,
            podcast_id INTEGER NOT NULL REFERENCES podcasts(id) ON DELETE CASCADE,
            title TEXT NOT NULL,
            published TEXT,
            duration REAL NOT NULL DEFAULT 0 CHECK (duration >= 0),
            source TEXT NOT NULL DEFAULT '',
            content_hash TEXT UNIQUE,
            status TEXT NOT NULL DEFAULT 'done' CHECK (status IN ('pending', 'done', 'failed')),
            language TEXT,
            asr_model TEXT,
            asr_source TEXT,
            processing_seconds REAL,
            created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
        );
        CREATE INDEX episodes_podcast ON episodes(podcast_id, published);
        CREATE TABLE episode_speakers (
            id INTEGER PRIMARY KEY,
            episode_id INTEGER NOT NULL REFERENCES episodes(id) ON DELETE CASCADE,
            label TEXT NOT NULL,
            speaking_time REAL NOT NULL DEFAULT 0 CHECK (speaking_time >= 0),
            embedding BLOB,
            UNIQUE (episode_id, label)
        );
        CREATE TABLE speaker_embeddings (
            id INTEGER PRIMARY KEY,
            speaker_id INTEGER NOT NULL REFERENCES episode_speakers(id) ON DELETE CASCADE,
            embedding BLOB NOT NULL
        );
        CREATE INDEX speaker_embeddings_speaker ON speaker_embeddings(speaker_id);
        CREATE TABLE turns (
            id INTEGER PRIMARY KEY,
            episode_id INTEGER NOT NULL REFERENCES episodes(id) ON DELETE CASCADE,
            speaker_id INTEGER NOT NULL REFERENCES episode_speakers(id) ON DELETE CASCADE,
            start REAL NOT NULL CHECK (start >= 0),
            end REAL NOT NULL CHECK (end >= start)
        );
        CREATE INDEX turns_episode ON turns(episode_id, start);
        CREATE TABLE segments (
            id INTEGER PRIMARY KEY,
            episode_id INTEGER NOT NULL REFERENCES episodes(id) ON DELETE CASCADE,
            speaker_id INTEGER REFERENCES episode_speakers(id) ON DELETE SET NULL,
            start REAL NOT NULL CHECK (start >= 0),
            end REAL NOT NULL CHECK (end >= start),
            text TEXT NOT NULL,
            words TEXT NOT NULL DEFAULT '[]'
        );
        CREATE INDEX segments_episode ON segments(episode_id, start);
        CREATE INDEX segments_speaker ON segments(speaker_id);
        """,
    ),
    (
        "0002_people",
        """
        CREATE TABLE people (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE COLLATE NOCASE,
            created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
        );
        CREATE TABLE exemplars (
            id INTEGER PRIMARY KEY,
            person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
            embedding BLOB NOT NULL,
            origin TEXT NOT NULL CHECK (origin IN ('enrolled', 'confirmed', 'assigned', 'named', 'verified')),
            speaker_id INTEGER REFERENCES episode_speakers(id) ON DELETE SET NULL,
            source TEXT NOT NULL DEFAULT '',
            seconds REAL NOT NULL DEFAULT 0,
            flagged TEXT,
            created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
        );
        CREATE INDEX exemplars_person ON exemplars(person_id);
        CREATE TABLE attributions (
            speaker_id INTEGER PRIMARY KEY REFERENCES episode_speakers(id) ON DELETE CASCADE,
            person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
            score REAL,
            tier TEXT NOT NULL CHECK (tier IN ('confirmed', 'verified', 'matched', 'low')),
            held TEXT,
            updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
        );
        CREATE INDEX attributions_person ON attributions(person_id, tier);
        CREATE TABLE rejections (
            speaker_id INTEGER NOT NULL REFERENCES episode_speakers(id) ON DELETE CASCADE,
            person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
            PRIMARY KEY (speaker_id, person_id)
        );
        CREATE TABLE attribution_log (
            id INTEGER PRIMARY KEY,
            speaker_id INTEGER NOT NULL REFERENCES episode_speakers(id) ON DELETE CASCADE,
            person_before INTEGER REFERENCES people(id) ON DELETE CASCADE,
            tier_before TEXT,
            person_after INTEGER REFERENCES people(id) ON DELETE CASCADE,
            tier_after TEXT,
            score REAL,
            reason TEXT NOT NULL,
            at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
        );
        CREATE INDEX attribution_log_speaker ON attribution_log(speaker_id);
        """,
    ),
    (
        "0003_exemplar_kept",
        """
        ALTER TABLE exemplars ADD COLUMN kept INTEGER NOT NULL DEFAULT 0 CHECK (kept IN (0, 1))
        """,
    ),
    (
        "0004_search",
        """
        CREATE VIRTUAL TABLE segments_fts USING fts5(
            text, content='segments', content_rowid='id', tokenize='unicode61 remove_diacritics 2',
            prefix='2 3 4'
        );
        CREATE TRIGGER segments_fts_insert AFTER INSERT ON segments BEGIN
            INSERT INTO segments_fts (rowid, text) VALUES (new.id, new.text);
        END;
        CREATE TRIGGER segments_fts_delete AFTER DELETE ON segments BEGIN
            INSERT INTO segments_fts (segments_fts, rowid, text) VALUES ('delete', old.id, old.text);
        END;
        CREATE TRIGGER segments_fts_update AFTER UPDATE OF text ON segments BEGIN
            INSERT INTO segments_fts (segments_fts, rowid, text) VALUES ('delete', old.id, old.text);
            INSERT INTO segments_fts (rowid, text) VALUES (new.id, new.text);
        END;
        INSERT INTO segments_fts (segments_fts) VALUES ('rebuild');
        CREATE VIRTUAL TABLE segments_fts_vocab USING fts5vocab(segments_fts, 'row');
        CREATE TABLE segment_vectors (
            segment_id INTEGER PRIMARY KEY REFERENCES segments(id) ON DELETE CASCADE,
            vector BLOB NOT NULL
        );
        CREATE TABLE search_state (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
        INSERT INTO search_state (key, value) VALUES ('vectors', 0);
        CREATE TRIGGER segment_vectors_count_insert AFTER INSERT ON segment_vectors BEGIN
            UPDATE search_state SET value = value + 1 WHERE key = 'vectors';
        END;
        CREATE TRIGGER segment_vectors_count_delete AFTER DELETE ON segment_vectors BEGIN
            UPDATE search_state SET value = value - 1 WHERE key = 'vectors';
        END;
        CREATE INDEX episodes_published ON episodes(published);
        CREATE INDEX segments_lookup ON segments(id, episode_id, speaker_id);
        """,
    ),
    (
        "0005_feeds",
        """
        CREATE TABLE feeds (
            id INTEGER PRIMARY KEY,
            url TEXT NOT NULL UNIQUE,
            podcast_id INTEGER REFERENCES podcasts(id) ON DELETE SET NULL,
            title TEXT NOT NULL DEFAULT '',
            podcast_guid TEXT,
            etag TEXT,
            last_modified TEXT,
            blocked INTEGER NOT NULL DEFAULT 0,
            checked_at TEXT,
            error TEXT,
            created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
        );
        CREATE TABLE feed_items (
            id INTEGER PRIMARY KEY,
            feed_id INTEGER NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,
            key TEXT NOT NULL,
            episode_id INTEGER REFERENCES episodes(id) ON DELETE SET NULL,
            title TEXT NOT NULL DEFAULT '',
            published TEXT,
            enclosure_url TEXT,
            enclosure_type TEXT,
            transcripts TEXT NOT NULL DEFAULT '[]',
            persons TEXT NOT NULL DEFAULT '[]',
            status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'failed', 'skipped')),
            attempts INTEGER NOT NULL DEFAULT 0,
            error TEXT,
            UNIQUE (feed_id, key)
        );
        CREATE INDEX feed_items_status ON feed_items(status, feed_id);
        CREATE TABLE credits (
            episode_id INTEGER NOT NULL REFERENCES episodes(id) ON DELETE CASCADE,
            person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
            role TEXT NOT NULL DEFAULT 'host',
            grp TEXT NOT NULL DEFAULT 'cast',
            PRIMARY KEY (episode_id, person_id, role)
        );
        """,
    ),
    (
        "0006_api_keys",
        """
        CREATE TABLE api_keys (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL DEFAULT '',
            scope TEXT NOT NULL CHECK (scope IN ('read', 'admin')),
            hash TEXT NOT NULL UNIQUE,
            prefix TEXT NOT NULL,
            created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
            last_used_at TEXT,
            revoked_at TEXT
        );
        """,
    ),
    (
        "0007_quizzes",
        """
        CREATE TABLE quiz_attempts (
            id INTEGER PRIMARY KEY,
            learner TEXT NOT NULL,
            episode_id INTEGER NOT NULL REFERENCES episodes(id) ON DELETE CASCADE,
            seed INTEGER NOT NULL,
            level TEXT NOT NULL,
            question_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            chosen INTEGER NOT NULL,
            chosen_text TEXT NOT NULL,
            answer_text TEXT NOT NULL,
            correct INTEGER NOT NULL CHECK (correct IN (0, 1)),
            at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
        );
        CREATE INDEX quiz_attempts_learner ON quiz_attempts(learner, at);
        """,
    ),
    (
        "0008_translations",
        """
        CREATE TABLE translations (
            segment_id INTEGER NOT NULL REFERENCES segments(id) ON DELETE CASCADE,
            source TEXT NOT NULL,
            language TEXT NOT NULL,
            backend TEXT NOT NULL,
            text TEXT NOT NULL,
            created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
            PRIMARY KEY (segment_id, language, backend, source)
        ) WITHOUT ROWID;
        CREATE TRIGGER translations_stale AFTER UPDATE OF text ON segments BEGIN
            DELETE FROM translations WHERE segment_id = new.id;
        END;
        """,
    ),
    (
        "0009_feed_language",
        """
        ALTER TABLE feeds ADD COLUMN language TEXT;  -- the channel's <language> as declared ("en-us"), or NULL
        """,
    ),
    (
        "0010_feed_language_set",
        """
        ALTER TABLE feeds ADD COLUMN language_set TEXT;  -- the one the user set (Whisper's code, "de"), or NULL
        """,
    ),
    (
        "0011_feed_item_claims",
        """
        ALTER TABLE feed_items ADD COLUMN claimed_by TEXT;  -- the run processing the item (its host and home), or NULL
        ALTER TABLE feed_items ADD COLUMN claimed_at TEXT;  -- when it was claimed: an old claim is stale
        """,
    ),
    (
        # Titles and names are found, kept unique and ordered by a key podscope folds (podscope.store.names), as on
        # PostgreSQL, no longer by NOCASE (ASCII letters only). The keys of the rows already here are filled in by
        # `fill_name_keys`, right after this, in the same transaction.
        "0012_name_keys",
        """
        ALTER TABLE podcasts ADD COLUMN title_key TEXT;
        ALTER TABLE people ADD COLUMN name_key TEXT;
        CREATE UNIQUE INDEX podcasts_title_key ON podcasts(title_key);
        CREATE UNIQUE INDEX people_name_key ON people(name_key);
        """,
    ),
    (
        # Background jobs (uploads, feed syncs, re-scores) kept in the store, so a restarted server resumes them
        # (podscope.jobs). `seq` orders them; `id` is what the API shows. No foreign key on episode_id: deleting the
        # episode later leaves the job's record of what it made.
        "0013_jobs",
        """
        CREATE TABLE jobs (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            kind TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'queued'
                CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled')),
            parameters TEXT NOT NULL DEFAULT '{}',
            input_path TEXT,
            node TEXT,
            stage TEXT,
            progress REAL,
            episode_id INTEGER,
            created INTEGER,
            error TEXT,
            result TEXT NOT NULL DEFAULT '{}',
            cancel_requested_at TEXT,
            attempts INTEGER NOT NULL DEFAULT 0,
            claimed_by TEXT,
            heartbeat_at TEXT,
            queued_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
            started_at TEXT,
            finished_at TEXT
        );
        CREATE INDEX jobs_status ON jobs(status, seq);
        """,
    ),
    (
        # A browser's signed-in session (POST /login with a key): the cookie's value is kept as its SHA-256 only.
        "0014_browser_sessions",
        """
        CREATE TABLE browser_sessions (
            id INTEGER PRIMARY KEY,
            key_id INTEGER NOT NULL REFERENCES api_keys(id) ON DELETE CASCADE,
            hash TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL
        );
        CREATE INDEX browser_sessions_key ON browser_sessions(key_id);
        """,
    ),
    (
        # A publisher's chapters of an episode (a feed's `podcast:chapters` file, or Podlove chapters in the feed),
        # and the chapters files a feed item links to, fetched when the item is processed.
        "0015_chapters",
        """
        CREATE TABLE publisher_chapters (
            episode_id INTEGER NOT NULL REFERENCES episodes(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            start REAL NOT NULL CHECK (start >= 0),
            end_time REAL,
            title TEXT NOT NULL DEFAULT '',
            url TEXT,
            img TEXT,
            toc INTEGER NOT NULL DEFAULT 1 CHECK (toc IN (0, 1)),
            PRIMARY KEY (episode_id, position)
        );
        ALTER TABLE feed_items ADD COLUMN chapters TEXT NOT NULL DEFAULT '[]';  -- [{"url", "type"}]
        """,
    ),
    (
        # Saved searches run against each episode as it is stored (podscope.alerts): the alerts, the episodes waiting
        # to be searched, the hits already reported (so a hit fires once), the events, and the webhook outbox with its
        # log of attempts. Events keep no foreign key on episodes: deleting an episode leaves what was sent.
        "0016_alerts",
        """
        CREATE TABLE alerts (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL DEFAULT '',
            query TEXT NOT NULL,
            speaker TEXT,
            podcast TEXT,
            mode TEXT NOT NULL DEFAULT 'text' CHECK (mode IN ('text', 'semantic', 'hybrid')),
            webhook_url TEXT,
            secret TEXT,
            failures INTEGER NOT NULL DEFAULT 0,
            disabled_at TEXT,
            disabled_reason TEXT,
            created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
        );
        CREATE TABLE alert_queue (
            episode_id INTEGER PRIMARY KEY,
            queued_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
        );
        CREATE TABLE alert_state (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
        CREATE TABLE alert_hits (
            alert_id INTEGER NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
            segment_id INTEGER NOT NULL,
            PRIMARY KEY (alert_id, segment_id)
        );
        CREATE TABLE alert_events (
            id INTEGER PRIMARY KEY,
            alert_id INTEGER NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
            episode_id INTEGER,
            reason TEXT NOT NULL,
            hits INTEGER NOT NULL,
            payload TEXT NOT NULL,
            created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
        );
        CREATE INDEX alert_events_alert ON alert_events(alert_id, id);
        CREATE TABLE alert_deliveries (
            id INTEGER PRIMARY KEY,
            event_id INTEGER NOT NULL REFERENCES alert_events(id) ON DELETE CASCADE,
            alert_id INTEGER NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
            message_id TEXT NOT NULL UNIQUE,
            status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
            attempts INTEGER NOT NULL DEFAULT 0,
            due REAL NOT NULL,
            expires REAL NOT NULL,
            claimed_until REAL,
            last_error TEXT,
            delivered_at TEXT,
            created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
        );
        CREATE INDEX alert_deliveries_due ON alert_deliveries(status, due);
        CREATE TABLE alert_attempts (
            id INTEGER PRIMARY KEY,
            delivery_id INTEGER NOT NULL REFERENCES alert_deliveries(id) ON DELETE CASCADE,
            status_code INTEGER,
            error TEXT,
            seconds REAL NOT NULL,
            at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
        );
        CREATE INDEX alert_attempts_delivery ON alert_attempts(delivery_id);
        """,
    ),
    (
        "0017_segment_terms",
        # PostgreSQL's postings table for words and prefixes; FTS5 keeps its own postings (segments_fts): nothing
        # to do here.
        "",
    ),
    (
        "0018_alert_hits_of_deleted_segments",
        # Deleting an episode left the alerts' record of its segments; a later segment could take a freed id (on
        # SQLite) and never fire. Deleting an episode now deletes them; this removes those left before.
        """
        DELETE FROM alert_hits WHERE NOT EXISTS (SELECT 1 FROM segments s WHERE s.id = alert_hits.segment_id);
        """,
    ),
]


def fill_name_keys(conn: sqlite3.Connection) -> None:
    """The keys of the titles and names a library held before 0012_name_keys."""
    for table, column, key in KEYED:
        rows = [(r[0], r[1]) for r in conn.execute(f"SELECT id, {column} FROM {table}")]
        conn.executemany(f"UPDATE {table} SET {key} = ? WHERE id = ?", keys_for(rows))


# What a migration does after its SQL, in Python, in the same transaction: work no SQL of SQLite's (or PostgreSQL's)
# can do the same way on both backends.
THEN: dict[str, Callable[[sqlite3.Connection], None]] = {"0012_name_keys": fill_name_keys}
