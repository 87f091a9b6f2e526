"""Storage: the only package that knows SQL. SQLite by default (one file under the podscope home)."""

from podscope.store.sqlite import Store

__all__ = ["Store"]
