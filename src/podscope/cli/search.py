"""Search commands: `podscope search` and `podscope index`."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.markup import escape
from rich.text import Text

from podscope.cli.shell import err, home_option, open_library, out, print_json, stage_progress
from podscope.errors import InputError
from podscope.records import TIERS
from podscope.search.engine import MODES, SearchResult, options_from
from podscope.timefmt import duration


@click.command("search")
@click.argument("query")
@click.option("--speaker", default=None, help="Only what this person said ('any': any named person).")
@click.option("--podcast", default=None, help="Only this podcast.")
@click.option("--since", default=None, metavar="YYYY-MM-DD", help="Only episodes published on or after this date.")
@click.option("--until", default=None, metavar="YYYY-MM-DD", help="Only episodes published on or before this date.")
@click.option("--mode", default="hybrid", show_default=True, type=click.Choice(MODES), help="How to match.")
@click.option(
    "--min-tier",
    default="matched",
    show_default=True,
    type=click.Choice(TIERS),
    help="Least certain voice attribution to show and filter on (low ones are hidden by default).",
)
@click.option("--language", default=None, help="Only episodes in this language (e.g. en).")
@click.option("--sort", default="relevance", show_default=True, type=click.Choice(["relevance", "date"]))
@click.option("--limit", default=10, show_default=True, help="Results per page.")
@click.option("--offset", default=0, show_default=True, help="Skip this many results (paging).")
@click.option("--context", default=0, show_default=True, help="Segments of context before and after each result.")
@click.option("--json", "as_json", is_flag=True, help="Print the complete result as JSON.")
@home_option
def search(query: str, as_json: bool, home: Path | None, **options: object) -> None:
    """Find who said what, when. QUERY: words, "exact phrase", AND / OR / NOT, -exclude, prefix*, (groups)."""
    with open_library(home) as lib:
        result = lib.search.search(query, options_from(dict(options)))
    if as_json:
        print_json(result)
        return
    _print(result)


def _print(result: SearchResult) -> None:
    if result.notice:
        err.print(f"[yellow]Note:[/yellow] {escape(result.notice)}", soft_wrap=True)
    if not result.hits:
        out.print(f"No results for {escape(result.query)} ({result.mode}).")
        return
    for n, hit in enumerate(result.hits, start=1):
        date = hit.published.isoformat() if hit.published else "undated"
        who = hit.speaker + (f" ({hit.tier})" if hit.tier and hit.tier != "confirmed" else "")
        out.print(
            f"[bold]{n}.[/bold] [cyan]{escape(hit.podcast)}[/cyan] · {escape(hit.episode)} · {date} · "
            f"[bold]{escape(who)}[/bold] at {duration(hit.start)}"
            f"  [dim](episode {hit.episode_id}, {hit.start:.1f} s)[/dim]"
        )
        for line in hit.before:
            out.print(Text(f"     {line.speaker}: {line.text}", style="dim"))
        snippet = Text("     ")
        offset = len(snippet)
        snippet.append(hit.text)
        for start, end in hit.highlights:
            snippet.stylize("bold yellow", offset + start, offset + end)
        out.print(snippet)
        for line in hit.after:
            out.print(Text(f"     {line.speaker}: {line.text}", style="dim"))
    out.print(f"\n{result.offset + 1}-{result.offset + len(result.hits)} of {result.total} ({result.mode})")
    if result.estimated:
        out.print("[dim](counts below are estimated from a sample of the matches)[/dim]")
    for name, counts in result.facets.items():
        top = ", ".join(f"{escape(k)} {v}" for k, v in list(counts.items())[:6])
        out.print(f"[dim]by {name}: {top}[/dim]")


@click.command("index")
@home_option
def index(home: Path | None) -> None:
    """Embed every segment not yet in the semantic index (done automatically on ingest and on first search)."""
    with open_library(home) as lib, stage_progress(enabled=True) as hook:
        done = lib.search.index_pending(hook=lambda n, total: hook("index", n, max(total, n)))
    out.print(f"Indexed {done} segments.")


@click.command("delete")
@click.argument("episode_id", type=int)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@home_option
def delete(episode_id: int, yes: bool, home: Path | None) -> None:
    """Remove an episode and everything derived from it (transcript, speakers, voiceprints, search entries)."""
    with open_library(home) as lib:
        episode = lib.episode(episode_id)
        if not yes:
            if not sys.stdin.isatty():
                raise InputError(f"deleting episode {episode_id} cannot be undone: pass --yes to confirm")
            click.confirm(f"Delete episode {episode_id} ({episode.podcast} / {episode.title})?", abort=True, err=True)
        lib.delete_episode(episode_id)
    err.print(f"Deleted episode {episode_id} ({escape(episode.podcast)} / {escape(episode.title)}).")
