"""What every command shares: the consoles, JSON output, --home, opening the library and progress bars."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from podscope.library import Library
from podscope.records import LabelledHook

# Piped output is not cut to 80 columns: tables stay one row per item.
out = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, highlight=False)
F = TypeVar("F", bound=Callable[..., Any])

STAGE_NAMES = {
    "decode": "Decoding audio",
    "segmentation": "Finding speech",
    "embeddings": "Voice embeddings",
    "clustering": "Grouping voices",
    "transcribe": "Transcribing",
    "align": "Aligning words",
    "store": "Saving",
    "index": "Indexing for search",
}


def jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: jsonable(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    return value


def print_json(value: Any) -> None:
    click.echo(json.dumps(jsonable(value), indent=2, ensure_ascii=False))


def home_option(func: F) -> F:
    """--home and --store on every command (they may also be given before the command name)."""

    @click.option(
        "--home",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="The podscope home folder (default: $PODSCOPE_HOME, else the per-user data folder).",
    )
    @click.option(
        "--store",
        "store_url",
        default=None,
        metavar="URL",
        help="Where the library is stored (setting store_url): postgresql://user@host/db for a PostgreSQL server.",
    )
    @functools.wraps(func)
    def wrapper(*args: Any, home: Path | None, store_url: str | None, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        given = ctx.obj or {}
        ctx.ensure_object(dict)["store_url"] = store_url or given.get("store_url")
        return func(*args, home=home or given.get("home"), **kwargs)

    return wrapper  # type: ignore[return-value]


@contextmanager
def open_library(home: Path | None, **settings: Any) -> Iterator[Library]:
    """The library in `home`, on the store --store names (if given) with these settings over its own."""
    ctx = click.get_current_context(silent=True)
    store_url = (ctx.obj or {}).get("store_url") if ctx is not None else None
    if store_url:
        settings["store_url"] = store_url
    lib = Library(home, settings=settings or None)
    try:
        yield lib
    finally:
        lib.close()


@contextmanager
def stage_progress(enabled: bool) -> Iterator[LabelledHook]:
    """A hook for the pipeline that shows one progress bar per stage (per label: "episode 2/5:decode")."""
    progress = Progress(
        TextColumn("[bold]{task.description:<24}"),
        BarColumn(),
        TextColumn("{task.percentage:>5.0f}%"),
        TimeElapsedColumn(),
        console=err,
        disable=not (enabled and err.is_terminal),
        transient=False,
    )
    tasks: dict[str, TaskID] = {}

    def hook(stage: str, completed: float, total: float) -> None:
        if stage not in tasks:
            prefix, _, name = stage.rpartition(":")
            label = f"{prefix} {STAGE_NAMES.get(name, name)}".strip()
            tasks[stage] = progress.add_task(label, total=max(float(total), 1e-9))
        progress.update(tasks[stage], completed=float(completed), total=max(float(total), 1e-9))

    with progress:
        try:
            yield hook
        except BaseException:
            for task in list(tasks.values()):  # leave only the error message on screen
                progress.remove_task(task)
            raise
