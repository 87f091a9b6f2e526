"""Models derived from installed packages (joined, exported to ONNX) and cached on disk, each made once.

A derived model is written to a temporary file beside its target and moved into place in one step, so a crash or a
second process exporting at the same moment never leaves a half-written model where a reader would load it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path


def user_cache_dir() -> Path:
    """Where derived models that belong to no library are kept: `PODSCOPE_CACHE_DIR`, else the per-user cache folder
    (e.g. ~/.cache/podscope)."""
    import platformdirs

    return Path(os.environ.get("PODSCOPE_CACHE_DIR") or platformdirs.user_cache_dir("podscope"))


def made_once(target: Path, make: Callable[[Path], None]) -> Path:
    """`target`, made by `make(path)` into a temporary file and moved into place unless it already exists."""
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".tmp{os.getpid()}-{threading.get_ident()}")
    try:
        make(tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target
