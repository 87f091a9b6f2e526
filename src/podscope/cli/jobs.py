"""`podscope jobs [--status S] [--json]` and `podscope jobs cancel ID`: the background jobs `podscope serve` runs
(uploads, feed syncs and re-scores started from the web), kept in the library."""

from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from podscope.cli.shell import home_option, open_library, out, print_json
from podscope.records import JOB_STATUSES, Job


def _about(job: Job) -> str:
    p = job.parameters
    if job.kind == "upload":
        return f"{p.get('podcast')}: {p.get('title')}"
    if job.kind == "sync":
        return f"feed {p['feed_id']}" if p.get("feed_id") else "every feed"
    return "every episode speaker"


def _state(job: Job) -> str:
    if job.status == "running":
        share = f" {job.progress:.0%}" if job.progress is not None else ""
        stopping = " (cancel asked)" if job.cancel_requested else ""
        return f"running: {job.stage or 'starting'}{share}{stopping}"
    if job.status == "failed":
        return f"failed: {job.error}"
    if job.status == "done" and job.episode_id is not None:
        return f"done: episode {job.episode_id}"
    return job.status


@click.group("jobs", invoke_without_command=True)
@click.option("--status", type=click.Choice(JOB_STATUSES), default=None, help="Only jobs with this status.")
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True, help="At most this many.")
@click.option("--json", "as_json", is_flag=True, help="Print the jobs as JSON.")
@home_option
@click.pass_context
def jobs(ctx: click.Context, status: str | None, limit: int, as_json: bool, home: Path | None) -> None:
    """The background jobs of `podscope serve` (uploads, syncs, re-scores), newest first; `jobs cancel ID` cancels
    one. Jobs are kept in the library: a restarted server runs what was queued."""
    if ctx.invoked_subcommand is not None:
        return
    with open_library(home) as lib:
        rows = lib.jobs.list(status, limit)
    if as_json:
        print_json(rows)
        return
    if not rows:
        out.print("No jobs." if status is None else f"No {status} jobs.")
        return
    table = Table("id", "kind", "about", "status", "queued")
    for job in rows:
        table.add_row(job.id, job.kind, escape(_about(job)), escape(_state(job)), job.queued_at)
    out.print(table)


@jobs.command("cancel")
@click.argument("job_id")
@home_option
def jobs_cancel(job_id: str, home: Path | None) -> None:
    """Cancel a job: a queued one at once; a running one stops at its next step (never inside an episode's write)."""
    with open_library(home) as lib:
        job = lib.jobs.cancel(job_id)
    if job.status == "cancelled":
        out.print(f"Job {job.id} ({job.kind}) is cancelled.")
    else:
        out.print(f"Job {job.id} ({job.kind}) is running: it stops at its next step (`podscope jobs` shows when).")
