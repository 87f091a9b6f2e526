"""Quiz commands: `podscope quiz` (a listening quiz with clip times, for a player or another tool) and
`podscope quiz-progress` (a learner's stored answers, summed up)."""

from __future__ import annotations

import secrets
from pathlib import Path

import click
from rich.markup import escape

from podscope.cli.shell import home_option, open_library, out, print_json
from podscope.quiz import KINDS
from podscope.records import QUIZ_LEVELS
from podscope.timefmt import duration


@click.command("quiz")
@click.argument("episode_id", type=int)
@click.option("--level", default="medium", show_default=True, type=click.Choice(QUIZ_LEVELS), help="How hard.")
@click.option("--count", default=10, show_default=True, help="Number of questions.")
@click.option("--seed", type=int, default=None, help="The same seed gives the same quiz (default: a random one).")
@click.option("--start", type=float, default=None, help="Only the episode from this second.")
@click.option("--end", type=float, default=None, help="Only the episode up to this second.")
@click.option(
    "--kind", "kinds", multiple=True, type=click.Choice(KINDS), help="Question kinds (repeatable; default: both)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the complete quiz as JSON.")
@home_option
def quiz(
    episode_id: int,
    level: str,
    count: int,
    seed: int | None,
    start: float | None,
    end: float | None,
    kinds: tuple[str, ...],
    as_json: bool,
    home: Path | None,
) -> None:
    """A listening quiz on an episode: fill the gap you hear, and who said it. Each question has the clip to play."""
    chosen_seed = seed if seed is not None else secrets.randbelow(1_000_000)
    with open_library(home) as lib:
        made = lib.quizzes.generate(
            episode_id, seed=chosen_seed, level=level, count=count, start=start, end=end, kinds=kinds or KINDS
        )
    if as_json:
        print_json(made.to_dict())
        return
    out.print(
        f"[bold]Quiz on episode {made.episode_id}[/bold] · {made.level} · seed {made.seed}"
        f" (rerun with --seed {made.seed} for the same questions)"
    )
    for n, q in enumerate(made.questions, start=1):
        out.print(
            f"\n[bold]{n}.[/bold] [dim]{q.kind} · play {duration(q.clip_start)} ({q.clip_start:.2f}-{q.clip_end:.2f} s)"
            f"[/dim]\n   {escape(q.prompt)}"
        )
        for k, option in enumerate(q.options):
            out.print(f"   {chr(ord('a') + k)}) {escape(option)}")
    out.print(
        "\n[dim]Answers: "
        + ", ".join(f"{n}{chr(ord('a') + q.answer_index)}" for n, q in enumerate(made.questions, start=1))
        + "[/dim]"
    )


@click.command("quiz-progress")
@click.argument("learner")
@click.option("--json", "as_json", is_flag=True, help="Print the complete progress as JSON.")
@home_option
def quiz_progress(learner: str, as_json: bool, home: Path | None) -> None:
    """A learner's quiz answers: per episode, per day, and the words they miss most."""
    with open_library(home) as lib:
        progress = lib.quizzes.progress(learner)
    if as_json:
        print_json(progress.to_dict())
        return
    out.print(
        f"[bold]{escape(progress.learner)}[/bold]: {progress.correct}/{progress.attempts} right"
        f" ({progress.accuracy:.0%})"
    )
    out.print("\n[bold]Episodes[/bold]")
    for e in progress.episodes:
        out.print(
            f"  {e.episode_id:>4}  {escape(e.title)}: {e.correct}/{e.attempts} ({e.accuracy:.0%}), last {e.last_at}"
        )
    out.print("\n[bold]Days[/bold]")
    for d in progress.days:
        out.print(f"  {d.day}: {d.correct}/{d.attempts}")
    if progress.missed:
        out.print("\n[bold]Words missed[/bold]")
        for m in progress.missed:
            out.print(f"  {escape(m.word)} ×{m.misses} (chose {escape(', '.join(m.confused_with))})")
