"""Backups and checks: `podscope backup DEST`, `podscope restore SRC`, `podscope check [--repair]`."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from podscope.cli.shell import err, home_option, jsonable, open_library, out, print_json
from podscope.library import Library
from podscope.recordings import MEDIA_FOLDERS
from podscope.upkeep import CheckReport
from podscope.upkeep import Progress as Hook

STEPS = {"database": "Copying the database", "files": "Copying files"}


@contextmanager
def progress_bars(enabled: bool = True) -> Iterator[Hook]:
    """A hook that shows one bar per step: bytes for the files, pages for the database, one step per check."""
    progress = Progress(
        TextColumn("[bold]{task.description:<28}"),
        BarColumn(),
        TextColumn("{task.percentage:>5.0f}%"),
        TimeElapsedColumn(),
        console=err,
        disable=not (enabled and err.is_terminal),
        transient=True,
    )
    tasks: dict[str, TaskID] = {}

    def hook(step: str, done: int, total: int) -> None:
        name = step if step in STEPS else "checks"
        if name not in tasks:
            tasks[name] = progress.add_task(STEPS.get(name, "Checking"), total=max(total, 1))
        label = STEPS.get(name) or (f"Checking {step}" if step != "done" else "Checked")
        progress.update(tasks[name], completed=done, total=max(total, 1), description=label)

    with progress:
        yield hook


def _megabytes(n: int) -> str:
    return f"{n / 1e6:,.1f} MB"


@click.command("backup")
@click.argument("dest", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the report (every file with its size and sha256) as JSON.")
@home_option
def backup(dest: Path, as_json: bool, home: Path | None) -> None:
    """Back up the library into DEST, a new or empty folder, while it stays in use: a consistent copy of the
    database (SQLite's online backup), config.toml, the recordings in the home's media folders, and manifest.json
    with every file's sha256. Models and the vector index are not copied (restore rebuilds the index). On a
    PostgreSQL store the database is copied with pg_dump (printed) and the backup holds the home's files."""
    with open_library(home) as lib, progress_bars(not as_json) as hook:
        report = lib.backup(dest, hook)
    if as_json:
        print_json(report)
        return
    main = ("episodes", "segments", "people")
    counts = ", ".join(f"{n:,} {name}" for name, n in report.counts.items() if name in main)
    names = {f.path.split("/")[0] for f in report.files}
    parts = ["the database"] if report.database else []
    parts += [what for name, what in (("index", "the vector index"), ("config.toml", "config.toml")) if name in names]
    parts.append(f"{sum(1 for f in report.files if f.path.split('/')[0] in MEDIA_FOLDERS)} recordings")
    out.print(
        f"Backed up {', '.join(parts)} ({_megabytes(report.size)}; {counts}) to {escape(report.dest)} in"
        f" {report.seconds:.1f} s."
    )
    if report.skipped:
        out.print(f"Not copied: {len(report.skipped)} recordings (outside the home or gone), listed in manifest.json.")
    if report.guidance:
        err.print(f"[yellow]Note:[/yellow] {escape(report.guidance)}", soft_wrap=True)


def _print_check(report: CheckReport, as_json: bool) -> None:
    if as_json:
        print_json({"ok": report.ok, **jsonable(report)})
        return
    if report.findings:
        table = Table("check", "found", "repaired" if report.repaired else "repairable", "what", title="Findings")
        for f in report.findings:
            fixed = str(f.repaired) if report.repaired else ("yes" if f.repairable else "no")
            examples = "".join(f"\n  {escape(e)}" for e in f.examples)
            table.add_row(f.kind, str(f.count), fixed, escape(f.what) + examples)
        out.print(table)
    checked = ", ".join(report.checked)
    if report.ok:
        done = "everything found was repaired" if report.findings else "no problems found"
        out.print(f"{escape(report.location)}: {done} ({checked}; {report.seconds:.1f} s).")
        return
    left = sum(f.count - f.repaired for f in report.findings)
    hint = "" if report.repaired else " `podscope check --repair` sets right the repairable ones."
    out.print(f"{escape(report.location)}: {left} problems remain ({report.seconds:.1f} s).{hint}")


@click.command("check")
@click.option("--repair", is_flag=True, help="Set right what can be rebuilt or removed, then check again.")
@click.option(
    "--delete-unreferenced",
    is_flag=True,
    help="With --repair: also delete the recordings in the media folders that no episode names.",
)
@click.option("--deep", is_flag=True, help="Also check every text index entry against its segment (slow).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@home_option
def check(repair: bool, delete_unreferenced: bool, deep: bool, as_json: bool, home: Path | None) -> None:
    """Check the library: the database's integrity, the text and vector indexes against the segments, orphaned rows,
    voiceprints of people who are gone, episodes whose recording is gone, recordings nothing names. Exit code 1 when
    problems remain."""
    if delete_unreferenced and not repair:
        raise click.UsageError("--delete-unreferenced is a repair: give --repair too")
    with open_library(home) as lib, progress_bars(not as_json) as hook:
        report = lib.check(repair=repair, delete_unreferenced=delete_unreferenced, deep=deep, hook=hook)
    _print_check(report, as_json)
    if not report.ok:
        sys.exit(1)


@click.command("restore")
@click.argument("source", metavar="SRC", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Replace the library of a home that holds one.")
@click.option("--json", "as_json", is_flag=True, help="Print the report, with the check's, as JSON.")
@home_option
def restore(source: Path, force: bool, as_json: bool, home: Path | None) -> None:
    """Restore the backup in SRC into the home (an empty one, unless --force): every file is checked against the
    manifest's sha256 before any is put in place, then the vector index is rebuilt and the library checked. Exit
    code 1 when the check finds problems."""
    ctx = click.get_current_context()
    store_url = (ctx.obj or {}).get("store_url")
    with progress_bars(not as_json) as hook:
        report = Library.restore(
            source, home, force=force, settings={"store_url": store_url} if store_url else None, hook=hook
        )
    if as_json:
        print_json({"ok": report.check.ok, **jsonable(report)})
    else:
        out.print(
            f"Restored {report.files} files ({_megabytes(report.size)}) from {escape(report.source)} into"
            f" {escape(report.home)} in {report.seconds:.1f} s."
        )
        for note in report.notes:
            out.print(f"Note: {escape(note)}")
        _print_check(report.check, False)
    if not report.check.ok:
        sys.exit(1)
