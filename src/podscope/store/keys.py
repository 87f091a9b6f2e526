"""The store's API keys: who may read the library over HTTP, and who may change it.

Why it looks like this:
- A key is 32 random bytes (`secrets.token_urlsafe`), so a single SHA-256 of it is enough to store: there is nothing
  to brute-force that a slow password hash would protect. Only the hash is kept; the key is shown once, at creation.
- A key is looked up by its hash and the hash is then compared with `hmac.compare_digest`: timing the lookup can
  reveal something about a hash of a 256-bit secret, never about the secret itself.
- Revoking keeps the row (with `revoked_at`), so `podscope keys list` still says which key was used when.
- `last_used_at` is written at most once a minute per key, so reading the API does not turn into a write per request.
- A browser signs in with a key once (the pages cannot send an Authorization header, and `<audio>` never does) and
  gets a session: another 32 random bytes, kept as their SHA-256 like keys, tied to the key (revoking it ends its
  sessions) and expiring; signing out deletes it, so a copied cookie stops working too.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from typing import Any

from podscope.errors import InputError, NotFound
from podscope.records import KEY_SCOPES, ApiKey
from podscope.store.sql import SqlTables
from podscope.timefmt import iso, now_iso

KEY_PREFIX = "psk_"
SHOWN_CHARS = 8  # of the key, after the prefix, kept to tell keys apart in listings
TOUCH_SECONDS = 60


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def _key(row: Mapping[str, Any]) -> ApiKey:
    return ApiKey(
        id=row["id"],
        name=row["name"],
        scope=row["scope"],
        prefix=row["prefix"],
        created_at=row["created_at"],
        last_used_at=row["last_used_at"],
        revoked_at=row["revoked_at"],
    )


class KeyTables(SqlTables):
    """API keys (`store.keys`), on either engine."""

    def create(self, scope: str, name: str = "") -> tuple[ApiKey, str]:
        if scope not in KEY_SCOPES:
            raise InputError(f"key scope {scope!r}: expected read or admin")
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        with self.transaction():
            rows = self._q(
                "INSERT INTO api_keys (name, scope, hash, prefix) VALUES (?, ?, ?, ?) RETURNING id",
                (name.strip(), scope, key_hash(key), key[: len(KEY_PREFIX) + SHOWN_CHARS]),
            )
        return self.get(int(rows[0]["id"])), key

    def get(self, key_id: int) -> ApiKey:
        row = self._one("SELECT * FROM api_keys WHERE id = ?", (key_id,))
        if row is None:
            raise NotFound(f"no API key with id {key_id}; `podscope keys list` shows them")
        return _key(row)

    def list_keys(self) -> list[ApiKey]:
        return [_key(r) for r in self._q("SELECT * FROM api_keys ORDER BY id")]

    def revoke(self, key_id: int) -> ApiKey:
        self.get(key_id)
        with self.transaction():
            self._q("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", (now_iso(), key_id))
        return self.get(key_id)

    def verify(self, key: str) -> ApiKey | None:
        digest = key_hash(key)
        rows = self._q("SELECT * FROM api_keys WHERE hash = ? AND revoked_at IS NULL", (digest,))
        if not rows or not hmac.compare_digest(str(rows[0]["hash"]), digest):
            return None
        found = _key(rows[0])
        cutoff = iso(dt.datetime.now(dt.UTC) - dt.timedelta(seconds=TOUCH_SECONDS))
        if found.last_used_at is None or found.last_used_at < cutoff:
            with self.transaction():
                self._q("UPDATE api_keys SET last_used_at = ? WHERE id = ?", (now_iso(), found.id))
        return found

    def open_session(self, key_id: int, seconds: int) -> str:
        secret = secrets.token_urlsafe(32)
        now = dt.datetime.now(dt.UTC)
        with self.transaction():
            self._q("DELETE FROM browser_sessions WHERE expires_at <= ?", (iso(now),))
            self._q(
                "INSERT INTO browser_sessions (key_id, hash, created_at, expires_at) VALUES (?, ?, ?, ?)",
                (key_id, key_hash(secret), iso(now), iso(now + dt.timedelta(seconds=seconds))),
            )
        return secret

    def session_key(self, secret: str) -> ApiKey | None:
        rows = self._q(
            "SELECT k.* FROM browser_sessions s JOIN api_keys k ON k.id = s.key_id"
            " WHERE s.hash = ? AND s.expires_at > ? AND k.revoked_at IS NULL",
            (key_hash(secret), now_iso()),
        )
        return _key(rows[0]) if rows else None

    def close_session(self, secret: str) -> None:
        with self.transaction():
            self._q("DELETE FROM browser_sessions WHERE hash = ?", (key_hash(secret),))
