"""Store commands: `podscope store copy --to URL` (a SQLite library into an empty PostgreSQL store)."""

from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from podscope.cli.shell import err, home_option, open_library, out, print_json


@click.group("store")
def store_group() -> None:
    """Where the library is kept: the SQLite file in the home, or a PostgreSQL server (setting store_url)."""


@store_group.command("copy")
@click.option("--to", "url", required=True, metavar="URL", help="The empty PostgreSQL store: postgresql://user@host/db")
@click.option("--json", "as_json", is_flag=True, help="Print the rows copied per table as JSON.")
@home_option
def store_copy(url: str, as_json: bool, home: Path | None) -> None:
    """Copy the whole library (episodes, people, voiceprints, feeds, keys, quiz answers, translations) into an empty
    PostgreSQL store, in one transaction, and verify every table's count. Then point store_url (or --store) at it."""
    progress = Progress(
        TextColumn("[bold]{task.description:<20}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err
    )
    tasks: dict[str, TaskID] = {}

    def hook(table: str, done: int, total: int) -> None:
        if table not in tasks:
            tasks[table] = progress.add_task(table, total=max(total, 1))
        progress.update(tasks[table], completed=done if total else 1)

    with open_library(home) as lib, progress:
        counts = lib.copy_store(url, hook)
    if as_json:
        print_json(counts)
        return
    table = Table("table", "rows", title="Copied")
    for name, n in counts.items():
        table.add_row(name, str(n))
    out.print(table)
    out.print(f"Every count matches. Use it with: podscope --store {escape(url)} ... (or store_url in config.toml)")
