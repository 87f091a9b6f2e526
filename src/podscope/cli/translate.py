"""`podscope translate`: an episode's segments beside their translation, or the installed language pairs."""

from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from podscope.cli.shell import home_option, open_library, out, print_json
from podscope.timefmt import duration
from podscope.translate import language_code, pair_label


@click.command("translate")
@click.argument("episode_id", type=int, required=False)
@click.option("--to", "target", metavar="LANG", help="Language to translate into (ISO 639-1, e.g. es).")
@click.option("--from", "source", metavar="LANG", help="The episode's language, if not the one recorded for it.")
@click.option("--pairs", "list_pairs", is_flag=True, help="List the installed language pairs and exit.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@home_option
def translate(
    episode_id: int | None, target: str | None, source: str | None, list_pairs: bool, as_json: bool, home: Path | None
) -> None:
    """Translate episode EPISODE_ID's transcript (segment by segment, cached) with the translate_backend setting."""
    with open_library(home) as lib:
        translations = lib.translations
        if list_pairs:
            pairs = translations.pairs()
            if as_json:
                print_json({"backend": translations.translator.name, "pairs": [list(p) for p in pairs]})
            else:
                out.print(f"{translations.translator.name}: {pair_label(pairs)}")
            return
        if episode_id is None or not target:
            raise click.UsageError("give an EPISODE_ID and --to LANG (or --pairs to list the language pairs)")
        episode = lib.episode(episode_id)
        rows = translations.translate_episode(episode_id, target, source)
        names = lib.speaker_names(episode_id)
        src = translations.source_language(source, episode.language)
        backend = translations.translator.name
    if as_json:
        print_json(
            {
                "episode": {"id": episode.id, "podcast": episode.podcast, "title": episode.title},
                "source": src,
                "target": language_code(target),
                "backend": backend,
                "segments": [
                    {
                        "start": seg.start,
                        "end": seg.end,
                        "speaker": seg.speaker,
                        "person": names.get(seg.speaker or ""),
                        "text": seg.text,
                        "translation": text,
                    }
                    for seg, text in rows
                ],
            }
        )
        return
    table = Table("time", "speaker", src, language_code(target), title=f"{episode.podcast} / {episode.title}")
    for seg, text in rows:
        speaker = names.get(seg.speaker or "", seg.speaker or "")
        table.add_row(duration(seg.start), escape(speaker), escape(seg.text), escape(text))
    out.print(table)
