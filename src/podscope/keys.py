"""API keys: who may read the library over HTTP and who may change it. Only hashes are stored (see the store's
keys repository for why); the key itself is shown once, when it is created."""

from __future__ import annotations

from podscope.records import ApiKey, KeyScope
from podscope.store.contract import KeyRepository

SESSION_SECONDS = 7 * 24 * 3600  # how long a browser stays signed in


class Keys:
    """The API keys of one library."""

    def __init__(self, repo: KeyRepository):
        self._repo = repo

    def create(self, scope: KeyScope | str, name: str = "") -> tuple[ApiKey, str]:
        """A new key of a scope (`read` or `admin`): its record and the key itself, which is never shown again."""
        return self._repo.create(scope, name)

    def list(self) -> list[ApiKey]:
        """Every key, revoked ones included (so a listing still says which key was used when)."""
        return self._repo.list_keys()

    def revoke(self, key_id: int) -> ApiKey:
        return self._repo.revoke(key_id)

    def verify(self, key: str) -> ApiKey | None:
        """The active key this is, or None; marks it used."""
        return self._repo.verify(key)

    def sign_in(self, key: str, seconds: int = SESSION_SECONDS) -> tuple[ApiKey, str] | None:
        """A browser session for a valid key: the key's record and the session's secret (for a cookie), or None
        when the key is unknown or revoked."""
        found = self._repo.verify(key.strip())
        if found is None:
            return None
        return found, self._repo.open_session(found.id, seconds)

    def session(self, secret: str) -> ApiKey | None:
        """The active key a browser session stands for, or None (unknown, expired, signed out, key revoked)."""
        if not secret or len(secret) > 200:
            return None
        return self._repo.session_key(secret)

    def sign_out(self, secret: str) -> None:
        if secret and len(secret) <= 200:
            self._repo.close_session(secret)
