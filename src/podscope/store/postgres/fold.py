"""Text folded for the PostgreSQL full-text index: lower case without accents (the server may have no `unaccent`)."""

from __future__ import annotations

import unicodedata


def fold(text: str) -> str:
    """NFKD-normalised, combining marks dropped, lower case: "Café" -> "cafe"."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
