"""Feed commands: `podscope feeds add|list|set-language|remove` and `podscope sync` (on Ray with `--ray`)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from podscope.cli.distributed import ray_options, sync_on_ray
from podscope.cli.shell import err, home_option, open_library, out, print_json, stage_progress
from podscope.errors import InputError


@click.group("feeds")
def feeds() -> None:
    """Podcast feeds to follow: every episode is recorded at once, and `podscope sync` processes them."""


@feeds.command("add")
@click.argument("source")
@click.option(
    "--language",
    default=None,
    metavar="CODE",
    help="The podcast's language (en, de, pt-BR, ...), over the one the feed declares.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@home_option
def feeds_add(source: str, language: str | None, as_json: bool, home: Path | None) -> None:
    """Follow a feed: SOURCE is an http(s) URL or a local RSS/Atom file."""
    with open_library(home) as lib:
        added = lib.feeds.add(source, language=language)
    if as_json:
        print_json(added)
        return
    if added.blocked:
        out.print(f"Feed {added.id} ({escape(added.podcast)}) asks not to be processed (podcast:block); recorded only.")
        return
    out.print(f"Following feed {added.id}: {escape(added.podcast)} — {added.items} episodes recorded as pending.")
    out.print("Fetch and process them with: podscope sync   (or --limit N for the newest N)")


@feeds.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the feeds as JSON.")
@home_option
def feeds_list(as_json: bool, home: Path | None) -> None:
    """The feeds followed, with their episodes' sync status."""
    with open_library(home) as lib:
        rows = lib.feeds.list()
    if as_json:
        print_json([r.to_dict() for r in rows])
        return
    if not rows:
        out.print("No feeds yet. Follow one with: podscope feeds add URL")
        return
    table = Table("id", "podcast", "language", "episodes", "pending", "done", "failed", "checked", "note")
    for r in rows:
        note = "blocked by the publisher" if r.blocked else (r.error or "")
        table.add_row(
            str(r.id),
            escape(r.podcast or r.url),
            escape(_language(r.language_set, r.language)),
            str(r.items),
            str(r.pending),
            str(r.done),
            str(r.failed),
            r.checked_at or "",
            escape(note),
        )
    out.print(table)


def _language(chosen: str | None, declared: str | None) -> str:
    """The language column: "es (set; feed says en-us)", "de-DE (declared)" or "" (detected)."""
    if chosen:
        return f"{chosen} (set; feed says {declared})" if declared else f"{chosen} (set)"
    return f"{declared} (declared)" if declared else ""


@feeds.command("set-language")
@click.argument("feed_id", type=int)
@click.argument("code", required=False)
@click.option("--clear", is_flag=True, help="Go back to the language the feed declares.")
@click.option("--json", "as_json", is_flag=True, help="Print the feed's languages as JSON.")
@home_option
def feeds_set_language(feed_id: int, code: str | None, clear: bool, as_json: bool, home: Path | None) -> None:
    """Set the language of a feed's podcast (CODE: en, de, pt-BR, ...), used for its episodes over the one the feed
    declares; --clear (or "") goes back to the declared one."""
    if clear and code:
        raise InputError("give a language CODE or --clear, not both")
    if code is None and not clear:
        raise InputError("expected a language CODE (en, de, pt-BR, ...), or --clear to use the one the feed declares")
    with open_library(home) as lib:
        languages = lib.feeds.set_language(feed_id, None if clear else code)
    if as_json:
        print_json(languages)
        return
    declared = escape(languages.language_declared or "")
    if languages.language_set:
        said = f" (the feed declares {declared})" if declared else ""
        what = f"its episodes are transcribed in {languages.language_set}{said}"
    elif languages.language:
        what = f"back to the language the feed declares, {declared}"
    else:
        what = "nothing set, and the feed declares no language Whisper knows (detected per episode)"
    out.print(f"Feed {feed_id} ({escape(languages.podcast)}): {what}.")


@feeds.command("remove")
@click.argument("feed_id", type=int)
@home_option
def feeds_remove(feed_id: int, home: Path | None) -> None:
    """Stop following a feed (its processed episodes stay in the library)."""
    with open_library(home) as lib:
        gone = lib.feeds.remove(feed_id)
    out.print(f"Feed {feed_id} removed; {gone} pending episodes dropped, processed ones kept.")


@click.command("sync")
@click.option("--feed", "feed_id", type=int, default=None, help="Only this feed.")
@click.option("--limit", type=int, default=None, help="Process at most this many episodes (newest first).")
@click.option("--since", default=None, metavar="YYYY-MM-DD", help="Only episodes published on or after this date.")
@click.option("--retranscribe", is_flag=True, help="Transcribe even when the publisher provides a transcript.")
@ray_options("episodes")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@home_option
def sync(
    feed_id: int | None,
    limit: int | None,
    since: str | None,
    retranscribe: bool,
    ray_address: str | None,
    workers: int | None,
    as_json: bool,
    home: Path | None,
) -> None:
    """Check the feeds for new episodes, then fetch and process pending ones (safe to run from cron); with --ray, on
    a Ray cluster."""
    if limit is not None and limit < 0:
        raise InputError("--limit must be 0 or more")
    if ray_address is not None:
        sync_on_ray(feed_id, limit, since, retranscribe, ray_address, workers, as_json, home)
        return
    if workers is not None:
        raise click.UsageError("--workers goes with --ray")
    with open_library(home) as lib, stage_progress(enabled=not as_json and sys.stderr.isatty()) as hook:
        report = lib.feeds.sync(feed_id, limit=limit, since=since, retranscribe=retranscribe, hook=hook)
    if as_json:
        print_json(report)
        return
    skipped = f", skipped {report.skipped} (another run holds them)" if report.skipped else ""
    out.print(
        f"Checked {report.feeds} feeds: {report.new_items} new episodes; processed {report.processed},"
        f" failed {report.failed}{skipped}."
    )
    for e in report.errors:
        err.print(f"[yellow]{escape(e)}[/yellow]")
