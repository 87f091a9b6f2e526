"""Storage: the only package that knows SQL. `contract` says what a backend implements; `sqlite` is the embedded
default (one file under the podscope home)."""

from podscope.store.contract import StoreBackend
from podscope.store.sqlite import Store

__all__ = ["Store", "StoreBackend"]
