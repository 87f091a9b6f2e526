"""The PostgreSQL twin of the API keys table (`podscope.store.keys`): the same hashing, checks and records."""

from __future__ import annotations

import datetime as dt
import hmac
import secrets

from podscope.errors import InputError, NotFound
from podscope.records import KEY_SCOPES, ApiKey
from podscope.store.keys import KEY_PREFIX, SHOWN_CHARS, TOUCH_SECONDS, _key, key_hash
from podscope.store.postgres.db import PgTables
from podscope.timefmt import iso, now_iso


class PgKeys(PgTables):
    """API keys, kept as hashes."""

    def create(self, scope: str, name: str = "") -> tuple[ApiKey, str]:
        if scope not in KEY_SCOPES:
            raise InputError(f"key scope {scope!r}: expected read or admin")
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        with self.transaction():
            rows = self._query(
                "INSERT INTO api_keys (name, scope, hash, prefix) VALUES (%s, %s, %s, %s) RETURNING id",
                (name.strip(), scope, key_hash(key), key[: len(KEY_PREFIX) + SHOWN_CHARS]),
            )
        return self.get(int(rows[0]["id"])), key

    def get(self, key_id: int) -> ApiKey:
        rows = self._query("SELECT * FROM api_keys WHERE id = %s", (key_id,))
        if not rows:
            raise NotFound(f"no API key with id {key_id}; `podscope keys list` shows them")
        return _key(rows[0])

    def list_keys(self) -> list[ApiKey]:
        return [_key(r) for r in self._query("SELECT * FROM api_keys ORDER BY id")]

    def revoke(self, key_id: int) -> ApiKey:
        self.get(key_id)
        with self.transaction():
            self._query("UPDATE api_keys SET revoked_at = %s WHERE id = %s AND revoked_at IS NULL", (now_iso(), key_id))
        return self.get(key_id)

    def verify(self, key: str) -> ApiKey | None:
        digest = key_hash(key)
        rows = self._query("SELECT * FROM api_keys WHERE hash = %s AND revoked_at IS NULL", (digest,))
        if not rows or not hmac.compare_digest(str(rows[0]["hash"]), digest):
            return None
        found = _key(rows[0])
        cutoff = iso(dt.datetime.now(dt.UTC) - dt.timedelta(seconds=TOUCH_SECONDS))
        if found.last_used_at is None or found.last_used_at < cutoff:
            with self.transaction():
                self._query("UPDATE api_keys SET last_used_at = %s WHERE id = %s", (now_iso(), found.id))
        return found

    def open_session(self, key_id: int, seconds: int) -> str:
        secret = secrets.token_urlsafe(32)
        now = dt.datetime.now(dt.UTC)
        with self.transaction():
            self._query("DELETE FROM browser_sessions WHERE expires_at <= %s", (iso(now),))
            self._query(
                "INSERT INTO browser_sessions (key_id, hash, created_at, expires_at) VALUES (%s, %s, %s, %s)",
                (key_id, key_hash(secret), iso(now), iso(now + dt.timedelta(seconds=seconds))),
            )
        return secret

    def session_key(self, secret: str) -> ApiKey | None:
        rows = self._query(
            "SELECT k.* FROM browser_sessions s JOIN api_keys k ON k.id = s.key_id"
            " WHERE s.hash = %s AND s.expires_at > %s AND k.revoked_at IS NULL",
            (key_hash(secret), now_iso()),
        )
        return _key(rows[0]) if rows else None

    def close_session(self, secret: str) -> None:
        with self.transaction():
            self._query("DELETE FROM browser_sessions WHERE hash = %s", (key_hash(secret),))
