"""What the page modules share: how a page reads an id from its path."""

from __future__ import annotations

from podscope.errors import NotFound


def path_id(value: str, what: str) -> int:
    """A numeric id from the path; anything else is a page that does not exist (not a validation error)."""
    if not value.isdigit() or len(value) > 12:
        raise NotFound(f"no {what} with id {value!r}")
    return int(value)
