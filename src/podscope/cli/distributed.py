"""`podscope add-audio --ray` and `podscope sync --ray`: a batch on Ray, with one progress bar and one summary for
either (`on_ray`); only what each hands the library differs."""

from __future__ import annotations

import sys
from collections.abc import Callable
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from podscope.cli.shell import err, open_library, out, print_json
from podscope.distributed import AudioJob, RayReport
from podscope.library import Library
from podscope.timefmt import duration

RAY_ADDRESS_WORDS = ("local", "auto")
F = TypeVar("F", bound=Callable[..., Any])


def ray_options(what: str) -> Callable[[F], F]:
    """The --ray [ADDRESS] and --workers N options of a command that can run its `what` ("files", "episodes") on Ray."""

    def decorate(command: F) -> F:
        command = click.option(
            "--workers", type=click.IntRange(min=1), default=None, help="With --ray: workers (default: the CPUs)."
        )(command)
        return click.option(
            "--ray",
            "ray_address",
            is_flag=False,
            flag_value="local",
            default=None,
            metavar="[ADDRESS]",
            help=f"Process the {what} on Ray, stored in a PostgreSQL store (--store): Ray on this machine (local, the"
            " default), or a cluster (auto, ray://host:10001, host:6379).",
        )(command)

    return decorate


def is_ray_address(value: str) -> bool:
    """Whether `--ray VALUE` names a cluster ("local", "auto", "ray://host:10001", "host:6379") rather than being the
    first FILE (`--ray a.mp3 b.mp3`)."""
    return value in RAY_ADDRESS_WORDS or "://" in value or (":" in value and not Path(value).exists())


def add_audio_on_ray(
    files: tuple[Path, ...],
    podcast: str,
    title: str | None,
    published: str | None,
    model: str | None,
    language: str | None,
    address: str,
    workers: int | None,
    as_json: bool,
    home: Path | None,
) -> None:
    if title is not None and len(files) > 1:
        raise click.UsageError("--title names one episode: with several files each is titled by its file name")
    jobs = [AudioJob(f, podcast, title if title is not None else f.stem, published) for f in files]
    on_ray(
        lambda lib, hook: lib.add_audio_on_ray(jobs, address=address, workers=workers, hook=hook),
        home=home,
        settings={"asr_model": model, "asr_language": language},
        as_json=as_json,
        starting="starting Ray",
        interrupted="Interrupted: the workers are stopped. The episodes stored before it stay in the library; adding"
        " the same files again processes only the rest.",
    )


def sync_on_ray(
    feed_id: int | None,
    limit: int | None,
    since: str | None,
    retranscribe: bool,
    address: str,
    workers: int | None,
    as_json: bool,
    home: Path | None,
) -> None:
    on_ray(
        lambda lib, hook: lib.sync_on_ray(
            feed_id, limit=limit, since=since, retranscribe=retranscribe, address=address, workers=workers, hook=hook
        ),
        home=home,
        settings={},
        as_json=as_json,
        starting="reading the feeds, then starting Ray",
        interrupted="Interrupted: the workers are stopped and the episodes they held given back. The episodes stored"
        " before it stay in the library; `podscope sync --ray` again processes the rest.",
    )


def on_ray(
    run: Callable[[Library, Callable[[RayReport], None]], RayReport],
    *,
    home: Path | None,
    settings: dict[str, Any],
    as_json: bool,
    starting: str,
    interrupted: str,
) -> None:
    """Run a batch (`run(library, hook)`) under a progress bar of episodes done / failed / running and audio hours
    per hour, then print its summary (or the report as JSON); exit 1 when an episode failed."""
    progress = Progress(
        TextColumn("[bold]Episodes"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
        console=err,
        disable=as_json or not err.is_terminal,
    )
    task = progress.add_task("episodes", total=None, status=starting)

    def hook(report: RayReport) -> None:
        skipped = f", {len(report.skipped)} skipped" if report.skipped else ""
        status = (
            f"{len(report.done)} added, {len(report.already)} already there, {len(report.failed)} failed{skipped},"
            f" {report.running} running on {report.workers} workers, {report.speed:.1f} audio h/h"
        )
        progress.update(task, total=report.total, completed=report.finished, status=status)

    given = {k: v for k, v in settings.items() if v is not None}
    # Ray prints its workers' troubles (a lost worker, a retried task) on stdout: stderr keeps stdout for the result.
    with open_library(home, **given) as lib, progress, redirect_stdout(sys.stderr):
        try:
            report = run(lib, hook)
        except KeyboardInterrupt:
            err.print(interrupted)
            raise
    if as_json:
        print_json(report)
    else:
        _summary(report)
    if report.failed:
        raise click.exceptions.Exit(1)


def _summary(report: RayReport) -> None:
    if report.feeds is not None:
        out.print(f"Checked {report.feeds.feeds} feeds: {report.feeds.new_items} new episodes.")
        for e in report.feeds.errors:
            err.print(f"[yellow]{escape(e)}[/yellow]")
    skipped = f", {len(report.skipped)} skipped (another run holds them)" if report.skipped else ""
    out.print(
        f"{len(report.done)} episodes added, {len(report.already)} already in the library, {len(report.failed)}"
        f" failed{skipped}: {duration(report.audio_seconds)} of audio in {duration(report.wall_seconds)} on"
        f" {report.workers} workers ({report.speed:.1f} audio hours per hour)."
    )
    for outcome in report.failed:
        out.print(f"  failed: {escape(outcome.job.label)}: {escape(outcome.error or '')}")
