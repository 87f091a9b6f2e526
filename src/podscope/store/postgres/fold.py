"""Text folded for PostgreSQL's full-text search: lower case without accents.

The server may have no `unaccent` extension, so podscope folds a segment's text itself when writing it (the
`segments.folded` column, under the generated `tsv`) and folds a query the same way when searching.
"""

from __future__ import annotations

import unicodedata


def fold(text: str) -> str:
    """`text` in lower case with its accents removed (compatibility decomposition, combining marks dropped)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
