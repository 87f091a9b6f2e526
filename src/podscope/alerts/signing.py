"""Standard Webhooks (standardwebhooks.com): a per-endpoint secret in the `whsec_<base64>` form, and the three headers
every delivery carries: `webhook-id` (the same on every attempt, so a receiver drops duplicates), `webhook-timestamp`
(seconds since 1970, so a receiver refuses replays) and `webhook-signature` ("v1," and the base64 HMAC-SHA256 of
`id.timestamp.body` under the secret's bytes)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

PREFIX = "whsec_"


def new_secret() -> str:
    """A fresh signing secret: 24 random bytes, base64, after `whsec_`."""
    return PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def new_message_id() -> str:
    return "msg_" + secrets.token_hex(12)


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix(PREFIX))
    mac = hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def headers(secret: str, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The headers of one delivery attempt."""
    return {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(secret, message_id, timestamp, body),
    }
