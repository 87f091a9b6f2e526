"""The `podscope` command: a thin shell over `podscope.library.Library`.

Each command parses its options, calls the library, and prints (a table, or JSON with --json). Library errors become
one line on stderr and exit code 1 in `main()`; nothing else prints a traceback unless PODSCOPE_DEBUG is set.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from rich.markup import escape

from podscope import __version__
from podscope.cli import (
    alerts,
    chapters,
    episodes,
    feeds,
    jobs,
    keys,
    lineage,
    mcp,
    people,
    quiz,
    search,
    serve,
    storage,
    translate,
    upkeep,
)
from podscope.cli.shell import err
from podscope.errors import PodscopeError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="podscope")
@click.option("--home", type=click.Path(file_okay=False, path_type=Path), default=None, help="The podscope home.")
@click.option("--store", "store_url", default=None, metavar="URL", help="Where the library is stored (store_url).")
@click.pass_context
def cli(ctx: click.Context, home: Path | None, store_url: str | None) -> None:
    """podscope: podcast transcripts with word timing and speakers, in a library you can search."""
    ctx.obj = {"home": home, "store_url": store_url}


for command in (
    episodes.add_audio,
    episodes.demo,
    episodes.episodes,
    episodes.podcasts,
    episodes.transcript,
    chapters.chapters,
    episodes.settings_cmd,
    episodes.import_transcript,
    people.people,
    people.review,
    search.search,
    search.index,
    search.delete,
    lineage.quote_check,
    lineage.thread,
    feeds.feeds,
    feeds.sync,
    serve.serve,
    mcp.mcp,
    keys.keys,
    jobs.jobs,
    storage.store_group,
    upkeep.backup,
    upkeep.restore,
    upkeep.check,
    quiz.quiz,
    quiz.quiz_progress,
    translate.translate,
    alerts.alerts,
):
    cli.add_command(command)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI; turn library errors into one readable line and a non-zero exit."""
    debug = os.environ.get("PODSCOPE_DEBUG", "") not in ("", "0")
    try:
        # Not standalone, click returns the code of a command's `click.exceptions.Exit` (batches with failed episodes
        # exit 1) instead of exiting with it; a command's own return value is None.
        code = cli.main(args=argv, prog_name="podscope", standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)
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
        err.print(f"[red]Error:[/red] {escape(str(exc))}", soft_wrap=True)
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
