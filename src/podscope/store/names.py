"""Names that compare without case, the same on both backends: podcast titles (`podcasts.title_key`) and people's
names (`people.name_key`).

Each is stored beside its key, folded here in Python, and is found, kept unique and ordered by that key; neither
database folds anything. They used to: SQLite's NOCASE folds only the ASCII letters, and PostgreSQL's `lower()` folds
as the server's locale says (all of Unicode under most, ASCII only under "C"), so "Élan" and "élan" were one podcast
on one backend and two on the other. Now they are one everywhere.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

# The tables whose names have a key: (table, the name's column, the key's column).
KEYED = (("podcasts", "title", "title_key"), ("people", "name", "name_key"))


def name_key(name: str) -> str:
    """What two names that are one name share: Unicode's caseless matching of the compatibility form (NFKC, then
    full case folding), so "Élan", "ÉLAN" and "élan" are one, as are "Straße" and "STRASSE", and a name typed with
    a composed "é" is the one written with "e" and a combining accent. Accents and spaces still tell names apart."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())


def keys_for(rows: Iterable[tuple[int, str]]) -> list[tuple[str, int]]:
    """(key, id) for each (id, name) a library already holds, for the migration that brings in the keys. A name
    whose key an older row (a lower id) already has keeps both rows apart, so no library fails to migrate: the names
    stay as they were, the older row is the one the name finds, and the later one's key is its own (the key, a
    control character, its id); `podscope people merge` can join two such people."""
    taken: set[str] = set()
    out = []
    for row_id, name in sorted(rows):
        key = name_key(name)
        if key in taken:
            key = f"{key}\x01{row_id}"
        taken.add(key)
        out.append((key, row_id))
    return out
