"""`podscope quote-check` (was this said, and how?) and `podscope thread` (a topic's history across the library)."""

from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape
from rich.text import Text

from podscope.cli.shell import home_option, open_library, out, print_json
from podscope.lineage.records import QuoteCheck, QuoteMatch, Statement, Thread
from podscope.search.engine import options_from
from podscope.timefmt import duration

STYLE = {"verbatim": "bold green", "close": "bold yellow", "paraphrase": "bold cyan", "not found": "bold red"}


@click.command("quote-check")
@click.argument("quote")
@click.option("--speaker", default=None, help="Only what this person said.")
@click.option("--podcast", default=None, help="Only this podcast.")
@click.option("--json", "as_json", is_flag=True, help="Print the complete answer as JSON.")
@home_option
def quote_check(quote: str, speaker: str | None, podcast: str | None, as_json: bool, home: Path | None) -> None:
    """Find where QUOTE was said and whether it is verbatim, close (changed words shown), a paraphrase, or not in the
    library. Fillers ("um", "you know"), ellipses and an article's punctuation are allowed for."""
    with open_library(home) as lib:
        check = lib.lineage.quote_check(quote, speaker=speaker, podcast=podcast)
    if as_json:
        print_json(check)
        return
    _print_check(check)


def _where(m: QuoteMatch | Statement) -> str:
    date = m.published.isoformat() if m.published else "undated"
    return (
        f"[bold]{escape(m.speaker)}[/bold] · [cyan]{escape(m.podcast)}[/cyan] · {escape(m.episode)} · {date} · "
        f"{duration(m.start)}  [dim](episode {m.episode_id}, {m.link})[/dim]"
    )


def _print_check(check: QuoteCheck) -> None:
    out.print(Text(check.verdict.upper(), style=STYLE[check.verdict]))
    best = check.best
    if best is None:
        out.print("Nothing in the library says this, in these words or in others.")
        return
    out.print(_where(best))
    out.print(Text(f"  said: {best.said}"))
    out.print(f"  [dim]word agreement {best.agreement:.2f} · meaning {best.similarity:.2f}[/dim]")
    for d in check.changed:
        if d.kind == "replace":
            out.print(Text(f"  quoted {d.quoted!r}, said {d.said!r}"))
        elif d.kind == "delete":
            out.print(Text(f"  quoted {d.quoted!r}, not said"))
        else:
            out.print(Text(f"  said {d.said!r}, left out of the quote"))
    for other in check.others:
        out.print(f"  also ({other.verdict}): " + _where(other))


@click.command("thread")
@click.argument("topic", required=False)
@click.option("--segment", type=int, default=None, help="Follow this segment's idea instead of a query.")
@click.option("--speaker", default=None, help="Only what this person said.")
@click.option("--podcast", default=None, help="Only this podcast.")
@click.option("--since", default=None, metavar="YYYY-MM-DD", help="Only episodes published on or after this date.")
@click.option("--until", default=None, metavar="YYYY-MM-DD", help="Only episodes published on or before this date.")
@click.option("--json", "as_json", is_flag=True, help="Print the whole thread as JSON.")
@home_option
def thread(topic: str | None, segment: int | None, as_json: bool, home: Path | None, **filters: str | None) -> None:
    """A topic's history: every statement on it in date order, who said it first, who echoed whom, and how each
    person's view moved. TOPIC is a query in the search language (or give --segment ID)."""
    o = options_from(dict(filters))
    with open_library(home) as lib:
        found = lib.lineage.thread(
            topic, segment=segment, speaker=o.speaker, podcast=o.podcast, since=o.since, until=o.until
        )
    if as_json:
        print_json(found)
        return
    _print_thread(found)


def _print_thread(t: Thread) -> None:
    if not t.statements:
        out.print(f"Nothing in the library speaks to {escape(t.topic)}.")
        return
    out.print(f"[bold]{len(t.statements)} statements[/bold] on {escape(t.topic)}")
    for s in t.statements:
        out.print("  " + _where(s))
        out.print(Text(f"    {s.text[:200]}", style="dim"))
    f = t.firsts
    if f.earliest:
        out.print("\n[bold]First[/bold]: " + _where(f.earliest))
    for first in f.by_person:
        out.print(f"  first from {escape(first.name)}: {_date(first.statement)}, {first.statement.link}")
    for first in f.by_show:
        out.print(f"  first on {escape(first.name)}: {_date(first.statement)}, {first.statement.link}")
    if t.echoes:
        out.print("\n[bold]Echoes[/bold]")
    for e in t.echoes:
        out.print(
            f"  {escape(e.source.speaker)} ({_date(e.source)}) -> {escape(e.echo.speaker)} ({_date(e.echo)})"
            f"  [dim]meaning {e.similarity:.2f}, shared words {e.overlap:.2f}[/dim]"
        )
        out.print(Text(f"    {e.source.text[:120]}\n    -> {e.echo.text[:120]}", style="dim"))
    if t.people:
        out.print("\n[bold]How each person's view moved[/bold]")
    for p in t.people:
        out.print(f"  {escape(p.person)}: {p.count} statements, first to last {p.distance:.2f} apart in meaning")
        if p.count > 1:
            out.print(Text(f"    {_date(p.earliest)}: {p.earliest.text[:120]}", style="dim"))
            out.print(Text(f"    {_date(p.latest)}: {p.latest.text[:120]}", style="dim"))


def _date(s: Statement) -> str:
    return s.published.isoformat() if s.published else "undated"
