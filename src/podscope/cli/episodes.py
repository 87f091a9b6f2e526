"""Episode commands: add audio, the demo library, listing, transcripts and settings."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from podscope import formats
from podscope.cli.distributed import add_audio_on_ray, is_ray_address, ray_options
from podscope.cli.shell import err, home_option, open_library, out, print_json, stage_progress
from podscope.records import Episode
from podscope.settings import SETTINGS
from podscope.timefmt import duration


@click.command("add-audio")
@click.argument("files", nargs=-1, type=click.Path(path_type=Path), metavar="FILE...")
@click.option("--podcast", required=True, help="The podcast the episode belongs to (created if new).")
@click.option("--title", default=None, help="The episode's title (with --ray: default each file's name).")
@click.option("--published", default=None, metavar="YYYY-MM-DD", help="The episode's publication date.")
@click.option("--model", default=None, help="Whisper model name or folder (default: the asr_model setting).")
@click.option(
    "--language",
    default=None,
    metavar="CODE",
    help="The episode's language (en, de, pt-BR, ...; default: the asr_language setting, else detected).",
)
@ray_options("files")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@home_option
def add_audio(
    files: tuple[Path, ...],
    podcast: str,
    title: str | None,
    published: str | None,
    model: str | None,
    language: str | None,
    ray_address: str | None,
    workers: int | None,
    as_json: bool,
    home: Path | None,
) -> None:
    """Transcribe an audio or video FILE, find its speakers, and store it as an episode; with --ray, many FILEs at
    once on a Ray cluster."""
    if ray_address is not None and not is_ray_address(ray_address):  # `--ray a.mp3 b.mp3`: a file, not an address
        files, ray_address = (Path(ray_address), *files), "local"
    if not files:
        raise click.UsageError("Missing argument 'FILE...'.")
    if ray_address is not None:
        add_audio_on_ray(files, podcast, title, published, model, language, ray_address, workers, as_json, home)
        return
    if len(files) > 1:
        raise click.UsageError("several files need --ray (or add them one at a time)")
    if title is None:
        raise click.UsageError("Missing option '--title'.")
    if workers is not None:
        raise click.UsageError("--workers goes with --ray")
    file = files[0]
    with open_library(home) as lib, stage_progress(enabled=not as_json) as hook:
        result = lib.add_audio(
            file, podcast=podcast, title=title, published=published, model=model, hook=hook, language=language
        )
    ep = result.episode
    chosen = result.report.language if result.report else None
    if as_json:
        print_json(
            {
                "created": result.created,
                "episode": ep,
                "model": result.model,
                "language_source": chosen.source if chosen else None,
                "stage_seconds": result.report.stage_seconds if result.report else {},
            }
        )
        return
    if not result.created:
        out.print(f"Already in the library as episode {ep.id} ({ep.podcast} / {ep.title}); nothing to do.")
        return
    out.print(
        f"Added episode {ep.id}: {ep.podcast} / {ep.title} — {duration(ep.duration)}, {ep.speaker_count} speakers,"
        f" {ep.segment_count} segments, language {ep.language}{f', {chosen.source}' if chosen else ''}"
        f" (model {result.model})."
    )
    out.print(f"Read it with: podscope transcript {ep.id} --format txt")


@click.command("demo")
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
        roster = [(p.name, p.episodes) for p, _active in lib.people.roster()]
        unknown = len(lib.people.unknown())
    _episode_table(items)
    if roster:
        named = ", ".join(f"{name} (recognised in {n} episodes)" for name, n in roster)
        out.print(f"\nVoices named once, from one episode each: {named}.")
        if unknown:
            out.print(f"{unknown} recurring voice{'s' if unknown != 1 else ''} nobody has named yet.")
    first = results[0].episode.id
    out.print("\nTry:")
    for command, what in [
        (f"podscope transcript {first} --format txt", "who said what, when"),
        (f"podscope transcript {first} --format vtt", "WebVTT with <v Speaker> voice spans"),
        ('podscope search "sourdough starter"', "who said what, when: words and meaning"),
        ('podscope search "radio" --speaker "Daniel Brooks"', "only what one person said"),
        ('podscope people show "Callum Reid"', "a person page: appearances over time, quotes"),
        ("podscope people unknown", "recurring voices nobody has named yet"),
        ("podscope episodes --json", "everything as JSON"),
        ("podscope serve", "the same in a browser: http://127.0.0.1:8765/"),
    ]:
        out.print(f"  {command:<50} # {what}", markup=False)


@click.command("episodes")
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
            duration(e.duration),
            str(e.speaker_count),
            str(e.segment_count),
            e.status,
        )
    out.print(table)


@click.command("podcasts")
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


@click.command("transcript")
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


@click.command("settings")
@click.option("--json", "as_json", is_flag=True, help="Print the settings as JSON.")
@home_option
def settings_cmd(as_json: bool, home: Path | None) -> None:
    """Show every setting: its value, default and meaning (set in HOME/config.toml or PODSCOPE_<NAME>)."""
    with open_library(home) as lib:
        values = lib.settings.as_dict()
    if as_json:
        print_json(values)
        return
    table = Table("setting", "value", "default", "meaning")
    for s in SETTINGS:
        table.add_row(s.name, str(values[s.name]), str(s.default), s.help)
    out.print(table)


@click.command("import-transcript")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--podcast", required=True, help="The podcast the episode belongs to (created if new).")
@click.option("--title", required=True, help="The episode's title.")
@click.option("--published", default=None, metavar="YYYY-MM-DD", help="The episode's publication date.")
@click.option("--language", default="en", show_default=True, help="The transcript's language code.")
@click.option(
    "--format", "fmt", default=None, type=click.Choice(["json", "vtt", "srt"]), help="Default: from the extension."
)
@click.option(
    "--audio", "audio_path", type=click.Path(path_type=Path), help="The episode's audio: find its voices too."
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@home_option
def import_transcript(
    file: Path,
    podcast: str,
    title: str,
    published: str | None,
    language: str,
    fmt: str | None,
    audio_path: Path | None,
    as_json: bool,
    home: Path | None,
) -> None:
    """Store an episode from a transcript: Podcasting 2.0 JSON, WebVTT (<v Name> spans) or SRT ("Name:" prefixes)."""
    with open_library(home) as lib, stage_progress(enabled=not as_json) as hook:
        result = lib.import_transcript(
            file,
            podcast=podcast,
            title=title,
            published=published,
            language=language,
            fmt=fmt,
            audio_path=audio_path,
            hook=hook,
        )
    ep = result.episode
    if as_json:
        print_json({"created": result.created, "episode": ep})
    elif not result.created:
        out.print(f"Already in the library as episode {ep.id} ({ep.podcast} / {ep.title}); nothing to do.")
    else:
        out.print(f"Imported episode {ep.id}: {ep.podcast} / {ep.title} — {ep.segment_count} segments.")
