"""The `podscope` command: a thin shell over `podscope.library.Library`.

Each command parses its options, calls the library, and prints (a table, or JSON with --json). Library errors become
one line on stderr and exit code 1 in `main()`; nothing else prints a traceback unless PODSCOPE_DEBUG is set.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from podscope import __version__, formats
from podscope.errors import PodscopeError
from podscope.library import Library
from podscope.models import Episode
from podscope.settings import SETTINGS

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
}


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: _jsonable(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    return value


def print_json(value: Any) -> None:
    click.echo(json.dumps(_jsonable(value), indent=2, ensure_ascii=False))


def home_option(func: F) -> F:
    """--home on every command (it may also be given before the command name)."""

    @click.option(
        "--home",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="The podscope home folder (default: $PODSCOPE_HOME, else the per-user data folder).",
    )
    @functools.wraps(func)
    def wrapper(*args: Any, home: Path | None, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        chosen = home or (ctx.obj or {}).get("home")
        return func(*args, home=chosen, **kwargs)

    return wrapper  # type: ignore[return-value]


@contextmanager
def open_library(home: Path | None, **settings: Any) -> Iterator[Library]:
    lib = Library(home, settings=settings or None)
    try:
        yield lib
    finally:
        lib.close()


@contextmanager
def stage_progress(enabled: bool) -> Iterator[Callable[[str, float, float], None]]:
    """A hook for the pipeline that shows one progress bar per stage."""
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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="podscope")
@click.option("--home", type=click.Path(file_okay=False, path_type=Path), default=None, help="The podscope home.")
@click.pass_context
def cli(ctx: click.Context, home: Path | None) -> None:
    """podscope: podcast transcripts with word timing and speakers, in a library you can search."""
    ctx.obj = {"home": home}


@cli.command("add-audio")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--podcast", required=True, help="The podcast the episode belongs to (created if new).")
@click.option("--title", required=True, help="The episode's title.")
@click.option("--published", default=None, metavar="YYYY-MM-DD", help="The episode's publication date.")
@click.option("--model", default=None, help="Whisper model name or folder (default: the asr_model setting).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@home_option
def add_audio(
    file: Path, podcast: str, title: str, published: str | None, model: str | None, as_json: bool, home: Path | None
) -> None:
    """Transcribe an audio or video FILE, find its speakers, and store it as an episode."""
    with open_library(home) as lib, stage_progress(enabled=not as_json) as hook:
        result = lib.add_audio(file, podcast=podcast, title=title, published=published, model=model, hook=hook)
    ep = result.episode
    if as_json:
        print_json(
            {
                "created": result.created,
                "episode": ep,
                "model": result.model,
                "stage_seconds": result.report.stage_seconds if result.report else {},
            }
        )
        return
    if not result.created:
        out.print(f"Already in the library as episode {ep.id} ({ep.podcast} / {ep.title}); nothing to do.")
        return
    out.print(
        f"Added episode {ep.id}: {ep.podcast} / {ep.title} — {_clock(ep.duration)}, {ep.speaker_count} speakers,"
        f" {ep.segment_count} segments, language {ep.language} (model {result.model})."
    )
    out.print(f"Read it with: podscope transcript {ep.id} --format txt")


@cli.command("demo")
@click.option("--model", default=None, help="Whisper model name or folder (default: the asr_model setting).")
@home_option
def demo(model: str | None, home: Path | None) -> None:
    """Build the bundled sample library (synthesised episodes + one real recording), add it, and show it."""
    with open_library(home) as lib:
        err.print(f"podscope home: {lib.home}")
        with stage_progress(enabled=True) as build_hook:
            results = lib.add_samples(
                model=model,
                build_hook=lambda done, total: build_hook("synthesise samples", done, total),
                episode_hook=lambda i, n, title: lambda stage, done, total: build_hook(f"{i}/{n}:{stage}", done, total),
            )
        added = sum(r.created for r in results)
        out.print(f"\n{added} episodes added, {len(results) - added} already in the library.\n")
        items = lib.episodes()
    _episode_table(items)
    first = results[0].episode.id
    out.print("\nTry:")
    out.print(f"  podscope transcript {first} --format txt      # who said what, when")
    out.print(f"  podscope transcript {first} --format vtt      # WebVTT with <v Speaker> voice spans")
    out.print("  podscope episodes --json                     # everything as JSON")


def _clock(seconds: float) -> str:
    s = round(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


@cli.command("episodes")
@click.option("--podcast", default=None, help="Only this podcast's episodes.")
@click.option("--json", "as_json", is_flag=True, help="Print the episodes as JSON.")
@home_option
def episodes(podcast: str | None, as_json: bool, home: Path | None) -> None:
    """List the episodes in the library."""
    with open_library(home) as lib:
        items = lib.episodes(podcast)
    if as_json:
        print_json(items)
        return
    if not items:
        out.print("The library has no episodes yet. Add one with: podscope add-audio FILE --podcast NAME --title TITLE")
        return
    _episode_table(items)


def _episode_table(items: list[Episode]) -> None:
    table = Table("id", "podcast", "title", "published", "length", "speakers", "segments", "status")
    for e in items:
        table.add_row(
            str(e.id),
            e.podcast,
            e.title,
            e.published.isoformat() if e.published else "",
            _clock(e.duration),
            str(e.speaker_count),
            str(e.segment_count),
            e.status,
        )
    out.print(table)


@cli.command("podcasts")
@click.option("--json", "as_json", is_flag=True, help="Print the podcasts as JSON.")
@home_option
def podcasts(as_json: bool, home: Path | None) -> None:
    """List the podcasts in the library."""
    with open_library(home) as lib:
        items = lib.podcasts()
    if as_json:
        print_json(items)
        return
    table = Table("id", "podcast", "episodes")
    for p in items:
        table.add_row(str(p.id), p.title, str(p.episode_count))
    out.print(table)


@cli.command("transcript")
@click.argument("episode_id", type=int)
@click.option(
    "--format",
    "fmt",
    default="txt",
    show_default=True,
    type=click.Choice(sorted(formats.FORMATS)),
    help="txt, Podcasting 2.0 JSON, SRT, WebVTT, NIST RTTM or Markdown.",
)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="Write to a file.")
@home_option
def transcript(episode_id: int, fmt: str, output: Path | None, home: Path | None) -> None:
    """Print an episode's transcript in one of the podcast ecosystem's formats."""
    with open_library(home) as lib:
        text = lib.export_transcript(episode_id, fmt)
    if output:
        output.write_text(text, encoding="utf-8")
        err.print(f"Wrote {output}")
    else:
        click.echo(text, nl=not text.endswith("\n"))


@cli.command("settings")
@click.option("--json", "as_json", is_flag=True, help="Print the settings as JSON.")
@home_option
def settings_cmd(as_json: bool, home: Path | None) -> None:
    """Show every setting: its value, default and meaning (set in HOME/config.toml or PODSCOPE_<NAME>)."""
    with open_library(home) as lib:
        values = dict(lib.settings)
    if as_json:
        print_json(values)
        return
    table = Table("setting", "value", "default", "meaning")
    for s in SETTINGS:
        table.add_row(s.name, str(values[s.name]), str(s.default), s.help)
    out.print(table)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI; turn library errors into one readable line and a non-zero exit."""
    debug = os.environ.get("PODSCOPE_DEBUG", "") not in ("", "0")
    try:
        cli.main(args=argv, prog_name="podscope", standalone_mode=False)
    except click.exceptions.Abort:
        err.print("Aborted.")
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except PodscopeError as exc:
        if debug:
            raise
        err.print(f"[red]Error:[/red] {escape(str(exc))}")
        sys.exit(1)
    except KeyboardInterrupt:
        err.print("Interrupted; nothing was half-written.")
        sys.exit(130)
    except Exception as exc:  # a bug: say so in one line, keep the traceback for debugging
        if debug:
            raise
        err.print(
            f"[red]Internal error:[/red] {type(exc).__name__}: {escape(str(exc))}"
            " (set PODSCOPE_DEBUG=1 for the traceback)"
        )
        sys.exit(2)


if __name__ == "__main__":
    main()
