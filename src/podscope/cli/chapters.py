"""`podscope chapters`: an episode's chapters and key moments, as a table, JSON, or a Podcasting 2.0 chapters file."""

from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from podscope.cli.shell import err, home_option, open_library, out, print_json
from podscope.timefmt import duration

FORMATS = ("table", "chapters-json")


@click.command("chapters")
@click.argument("episode_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print it all (chapters, key moments, podscope's own) as JSON.")
@click.option(
    "--format",
    "fmt",
    default="table",
    show_default=True,
    type=click.Choice(FORMATS),
    help="chapters-json: the Podcasting 2.0 chapters file (version 1.2.0) that <podcast:chapters> links to.",
)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="Write to a file.")
@click.option(
    "--import",
    "import_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Keep this Podcasting 2.0 chapters file as the episode's publisher chapters (shown over podscope's).",
)
@click.option("--clear", is_flag=True, help="Forget the episode's publisher chapters (podscope's are shown again).")
@home_option
def chapters(
    episode_id: int,
    as_json: bool,
    fmt: str,
    output: Path | None,
    import_file: Path | None,
    clear: bool,
    home: Path | None,
) -> None:
    """Chapters of episode EPISODE_ID (the publisher's when its feed gives them, else found where the topic shifts)
    and its key moments: the most central statement of each chapter, with who said it and when."""
    with open_library(home) as lib:
        if import_file is not None and clear:
            raise click.UsageError("give --import FILE or --clear, not both")
        if import_file is not None:
            kept = lib.chapters.import_file(episode_id, import_file)
            err.print(f"Kept {len(kept)} publisher chapters for episode {episode_id}")
        elif clear:
            lib.chapters.set_publisher(episode_id, [])
            err.print(f"Episode {episode_id} has no publisher chapters now")
        if fmt == "chapters-json":
            text = lib.chapters.export(episode_id)
            if output:
                output.write_text(text, encoding="utf-8")
                err.print(f"Wrote {output}")
            else:
                click.echo(text, nl=False)
            return
        found = lib.chapters.episode(episode_id)
    if as_json:
        print_json(found)
        return
    whose = "the publisher's" if found.source == "publisher" else "found where the topic shifts"
    table = Table("start", "chapter", title=f"{escape(found.podcast)} / {escape(found.title)}: chapters, {whose}")
    for chapter in found.chapters:
        table.add_row(duration(chapter.start), escape(chapter.title or "(untitled)"))
    out.print(table)
    if not found.chapters:
        out.print("No chapters: the episode has no transcript yet.")
        return
    moments = Table("time", "speaker", "key moment", title="Key moments (the most central statement of a chapter)")
    for moment in found.moments:
        moments.add_row(duration(moment.start), escape(moment.name or ""), escape(moment.text))
    out.print(moments)
