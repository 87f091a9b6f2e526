"""What `create_app` builds once and keeps in `app.state`, read back by the routes with its type."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import Request

if TYPE_CHECKING:
    from podscope.library import Library


def _lib(request: Request) -> Library:
    """The library the app serves (named `_lib` so the routes read as they always did)."""
    lib: Library = request.app.state.lib
    return lib
