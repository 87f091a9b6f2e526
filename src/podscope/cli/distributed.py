"""`podscope add-audio --ray`: many recordings on Ray, with one progress bar for the batch."""

from __future__ import annotations

import sys
from contextlib import redirect_stdout
from pathlib import Path

import click
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from podscope.cli.shell import err, open_library, out, print_json
from podscope.distributed import AudioJob, RayReport
from podscope.timefmt import duration

RAY_ADDRESS_WORDS = ("local", "auto")


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
    progress = Progress(
        TextColumn("[bold]Episodes"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
        console=err,
        disable=as_json or not err.is_terminal,
    )
    task = progress.add_task("episodes", total=len(jobs), status="starting Ray")

    def hook(report: RayReport) -> None:
        status = (
            f"{len(report.done)} added, {len(report.already)} already there, {len(report.failed)} failed,"
            f" {report.running} running on {report.workers} workers, {report.speed:.1f} audio h/h"
        )
        progress.update(task, completed=report.finished, status=status)

    # Ray prints its workers' troubles (a lost worker, a retried task) on stdout: stderr keeps stdout for the result.
    with open_library(home, asr_model=model, asr_language=language) as lib, progress, redirect_stdout(sys.stderr):
        try:
            report = lib.add_audio_on_ray(jobs, address=address, workers=workers, hook=hook)
        except KeyboardInterrupt:
            err.print(
                "Interrupted: the workers are stopped. The episodes stored before it stay in the library; adding the"
                " same files again processes only the rest."
            )
            raise
    if as_json:
        print_json(report)
    else:
        out.print(
            f"{len(report.done)} episodes added, {len(report.already)} already in the library, {len(report.failed)}"
            f" failed: {duration(report.audio_seconds)} of audio in {duration(report.wall_seconds)} on"
            f" {report.workers} workers ({report.speed:.1f} audio hours per hour)."
        )
        for outcome in report.failed:
            out.print(f"  failed: {escape(str(outcome.job.path))}: {escape(outcome.error or '')}")
    if report.failed:
        raise click.exceptions.Exit(1)
