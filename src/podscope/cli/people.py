"""People and review commands: enrol voices, match, review attributions, people pages, unknown voices, privacy."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from podscope.cli.shell import err, home_option, open_library, out, print_json
from podscope.errors import InputError
from podscope.people import Change, PersonPage, exemplar_dict, review_dict, status_line
from podscope.timefmt import duration


def _print_changes(changes: list[Change], episode: int | None = None) -> None:
    shown = [c for c in changes if episode is None or c.episode_id == episode]
    if not shown:
        out.print("No attribution changed.")
        return
    out.print(f"{len(shown)} attribution{'s' if len(shown) != 1 else ''} changed:")
    for c in shown:
        out.print(
            f"  episode {c.episode_id} {c.label}: {escape(c.before or 'unknown')} -> {escape(c.after or 'unknown')}"
        )


@click.group("people")
def people() -> None:
    """People and their voice profiles: enrol, match, name, rename, merge, forget."""


@people.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the people as JSON.")
@home_option
def people_list(as_json: bool, home: Path | None) -> None:
    """List people with their voice-profile status and episode counts."""
    with open_library(home) as lib:
        roster = lib.people.roster()
        alikes = lib.people.sound_alikes()
    if as_json:
        print_json(
            [
                {
                    "name": p.name,
                    "active": active,
                    "status": status_line(active, p),
                    "exemplars": p.exemplars,
                    "flagged_exemplars": p.flagged,
                    "episodes": p.episodes,
                    "sounds_like": [{"name": n, "score": s} for n, s in alikes.get(p.id, [])],
                }
                for p, active in roster
            ]
        )
        return
    if not roster:
        out.print("No people yet. Name a voice with: podscope people enroll NAME --episode ID --speaker LABEL")
        return
    table = Table("name", "voice profile", "exemplars", "flagged", "episodes", "note")
    for p, active in roster:
        note = ", ".join(f"sounds like {n} ({s:.2f})" for n, s in alikes.get(p.id, []))
        table.add_row(
            escape(p.name), "active" if active else "inactive", str(p.exemplars), str(p.flagged), str(p.episodes), note
        )
    out.print(table)


@people.command("show")
@click.argument("name")
@click.option("--quotes", default=5, show_default=True, help="How many quotes to show.")
@click.option("--json", "as_json", is_flag=True, help="Print the person page as JSON.")
@home_option
def people_show(name: str, quotes: int, as_json: bool, home: Path | None) -> None:
    """A person's page: voice-profile status, appearances over time and per podcast, and quotes."""
    with open_library(home) as lib:
        page = lib.people.show(name, quotes=quotes)
    if as_json:
        print_json(page.to_dict())
        return
    _print_page(page)


def _print_page(page: PersonPage) -> None:
    data = page.to_dict()
    out.print(f"[bold]{escape(page.person.name)}[/bold]")
    out.print(f"  {data['profile']['status']}")
    out.print(
        f"  {len(page.exemplars)} exemplar{'' if len(page.exemplars) == 1 else 's'},"
        f" {page.verified_seconds:.0f} s of confirmed or verified speech, {page.person.episodes} episodes"
    )
    for n, s in page.sounds_like:
        out.print(f"  [yellow]sounds like {escape(n)} ({s:.2f}): their matches are held for review[/yellow]")
    for x in page.exemplars:
        flag = f" [yellow]flagged: {escape(x.flagged)}[/yellow]" if x.flagged else ""
        out.print(f"  exemplar {x.id}: {x.origin}, {escape(x.source)}, {x.seconds:.0f} s{flag}")
    if page.monthly:
        out.print("\n[bold]Appearances over time[/bold]")
        top = max(m.seconds for m in page.monthly) or 1.0
        for m in page.monthly:
            bar = "█" * max(1, round(30 * m.seconds / top))
            out.print(f"  {m.month:>8}  {bar} {m.episodes} ep, {m.seconds:.0f} s")
    if page.appearances:
        table = Table("podcast", "episode", "date", "speaker", "tier", "score", "speaking", title="Podcast appearances")
        for a in page.appearances:
            table.add_row(
                escape(a.podcast),
                f"{a.episode_id}: {escape(a.episode)}",
                a.published or "",
                a.label,
                a.tier,
                f"{a.score:.2f}" if a.score is not None else "",
                duration(round(a.speaking_time, 1)),
            )
        out.print(table)
    if page.quotes:
        out.print("[bold]Quotes[/bold]")
        for q in page.quotes:
            at = duration(round(q.start, 2))
            out.print(f"  “{escape(q.text)}” — {escape(q.podcast)}, episode {q.episode_id} at {at}")


@people.command("enroll")
@click.argument("name")
@click.option("--episode", "episode_id", type=int, help="An episode holding the person's voice...")
@click.option("--speaker", "label", help="...and the speaker label they have in it (e.g. SPEAKER_01).")
@click.option("--audio", "audio_path", type=click.Path(path_type=Path), help="Or a clean audio sample of the voice.")
@click.option("--start", type=float, default=None, help="Start of the sample in seconds.")
@click.option("--end", type=float, default=None, help="End of the sample in seconds.")
@click.option("--unknown", "unknown_id", help="Or a recurring unknown voice (an id from `podscope people unknown`).")
@home_option
def people_enroll(
    name: str,
    episode_id: int | None,
    label: str | None,
    audio_path: Path | None,
    start: float | None,
    end: float | None,
    unknown_id: str | None,
    home: Path | None,
) -> None:
    """Name a voice: from an episode speaker, an audio sample, or a recurring unknown voice."""
    sources = sum(x is not None for x in (episode_id, audio_path, unknown_id))
    if sources != 1:
        raise InputError("give exactly one of --episode ID --speaker LABEL, --audio FILE, or --unknown ID")
    if episode_id is not None and not label:
        raise InputError("--episode needs --speaker LABEL (the labels are in `podscope transcript ID`)")
    if (start is not None or end is not None) and audio_path is None:
        raise InputError("--start and --end go with --audio FILE")
    with open_library(home) as lib:
        if episode_id is not None:
            assert label is not None
            changes = lib.people.enroll_speaker(name, episode_id, label)
            out.print(f"Enrolled {escape(name)} from episode {episode_id} {label}.")
        elif audio_path is not None:
            changes = lib.people.enroll_audio(name, audio_path, start, end)
            out.print(f"Enrolled {escape(name)} from {escape(str(audio_path))}.")
        else:
            assert unknown_id is not None
            changes = lib.people.enroll_unknown(name, unknown_id)
            out.print(f"Named unknown voice {escape(unknown_id)} {escape(name)}.")
    _print_changes(changes)


@people.command("match")
@click.option("--episode", "episode_id", type=int, default=None, help="Report only this episode's changes.")
@home_option
def people_match(episode_id: int | None, home: Path | None) -> None:
    """Match every episode speaker against every voice profile again."""
    with open_library(home) as lib:
        if episode_id is not None:
            lib.episode(episode_id)
        changes = lib.people.match()
    _print_changes(changes, episode_id)


@people.command("assign")
@click.argument("episode_id", type=int)
@click.argument("label")
@click.argument("name")
@home_option
def people_assign(episode_id: int, label: str, name: str, home: Path | None) -> None:
    """Say who an episode speaker is (a human decision the machine never overwrites)."""
    with open_library(home) as lib:
        changes = lib.people.assign(episode_id, label, name)
    out.print(f"Episode {episode_id} {label} is {escape(name)}.")
    _print_changes(changes)


@people.command("rename")
@click.argument("old")
@click.argument("new")
@home_option
def people_rename(old: str, new: str, home: Path | None) -> None:
    """Rename a person (everything attributed to them follows)."""
    with open_library(home) as lib:
        person = lib.people.rename(old, new)
    out.print(f"Renamed {escape(old)} to {escape(person.name)}.")


@people.command("merge")
@click.argument("source")
@click.argument("target")
@home_option
def people_merge(source: str, target: str, home: Path | None) -> None:
    """Merge SOURCE into TARGET: two names for one person."""
    with open_library(home) as lib:
        changes = lib.people.merge(source, target)
    out.print(f"Merged {escape(source)} into {escape(target)}.")
    _print_changes(changes)


@people.command("unknown")
@click.option("--json", "as_json", is_flag=True, help="Print the unknown voices as JSON.")
@home_option
def people_unknown(as_json: bool, home: Path | None) -> None:
    """Recurring voices that match nobody, each with its episodes and a quote, ready to be named."""
    with open_library(home) as lib:
        voices = lib.people.unknown()
    if as_json:
        print_json(voices)
        return
    if not voices:
        out.print("No recurring unknown voices.")
        return
    for v in voices:
        s = v.stretch
        out.print(
            f"[bold]{v.id}[/bold]: {len(v.episodes)} episodes ({', '.join(map(str, v.episodes))}), {v.seconds:.0f} s;"
            f" listen: episode {s.episode_id} {s.label} at {duration(s.start)}"
        )
        if s.quote:
            out.print(f"  “{escape(s.quote)}”")
        if v.suggestions:
            out.print(f"  credited in its episodes: {escape(', '.join(v.suggestions))}")
    out.print("\nName one with: podscope people enroll NAME --unknown ID")


@people.command("forget")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@home_option
def people_forget(name: str, yes: bool, home: Path | None) -> None:
    """Remove a person, their voice profile and every stored voiceprint tied to them."""
    if not yes:
        if not sys.stdin.isatty():
            raise InputError(f"forgetting {name!r} cannot be undone: pass --yes to confirm")
        click.confirm(f"Forget {name} and every voiceprint tied to them? This cannot be undone", abort=True)
    with open_library(home) as lib:
        removed = lib.people.forget(name)
    out.print(
        f"Forgot {escape(name)}: removed the person, {removed['exemplars']} exemplars, {removed['attributions']}"
        f" attributions (those speakers are anonymous again), {removed['speaker_voiceprints']} episode voiceprints,"
        f" {removed['window_voiceprints']} window voiceprints, {removed['rejections']} rejections and"
        f" {removed['history']} history entries; the database file was compacted."
    )


@people.command("export")
@click.argument("name")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="Write to a file.")
@home_option
def people_export(name: str, output: Path | None, home: Path | None) -> None:
    """Write everything held about a person as JSON, voiceprints included."""
    with open_library(home) as lib:
        data = lib.people.export(name)
    text = json.dumps(data, indent=2, ensure_ascii=False)
    if output:
        output.write_text(text + "\n", encoding="utf-8")
        err.print(f"Wrote {output}")
    else:
        click.echo(text)


@people.command("history")
@click.argument("name")
@home_option
def people_history(name: str, home: Path | None) -> None:
    """Every change of an attribution to or from a person, and why."""
    with open_library(home) as lib:
        entries = lib.people.history(name)
    table = Table("at", "speaker", "before", "after", "score", "why")
    for h in entries:
        table.add_row(
            h.at,
            str(h.speaker_id),
            escape(f"{h.person_before} ({h.tier_before})" if h.person_before else "unknown"),
            escape(f"{h.person_after} ({h.tier_after})" if h.person_after else "unknown"),
            f"{h.score:.2f}" if h.score is not None else "",
            escape(h.reason),
        )
    out.print(table)


# -- review ------------------------------------------------------------------------------------------------------


@click.group("review", invoke_without_command=True)
@click.option(
    "--tier",
    default="matched",
    show_default=True,
    type=click.Choice(["matched", "low", "verified"]),
    help="Which tier.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the queue as JSON.")
@home_option
@click.pass_context
def review(ctx: click.Context, tier: str, as_json: bool, home: Path | None) -> None:
    """Attributions waiting for a human (matched and held-back ones by default); confirm or reject them."""
    if ctx.invoked_subcommand is not None:
        return
    with open_library(home) as lib:
        items = lib.people.review(tier)
        flagged = lib.people.flagged_exemplars()
    if as_json:
        print_json(
            {
                "attributions": [review_dict(i) for i in items],
                "flagged_exemplars": [{"person": f.person, **exemplar_dict(f.exemplar)} for f in flagged],
            }
        )
        return
    if not items:
        out.print(f"Nothing to review at tier {tier}.")
    for i in items:
        d = review_dict(i)
        score = f"{d['score']:.2f}" if d["score"] is not None else "-"
        out.print(
            f"[bold]{d['id']}[/bold] {escape(d['person'])} ({d['tier']}, {score}) — {escape(d['podcast'])} /"
            f" episode {d['episode_id']} {escape(d['episode'])}, {d['speaker']};"
            f" listen {duration(d['listen']['start'])}-{duration(d['listen']['end'])}"
        )
        if d["held"]:
            out.print(f"    [yellow]held back: {escape(d['held'])}[/yellow]")
        if d["quote"]:
            out.print(f"    “{escape(d['quote'])}”")
    for f in flagged:
        out.print(
            f"[yellow]exemplar {f.exemplar.id} of {escape(f.person)} ({escape(f.exemplar.source)}) is left out:"
            f" {escape(f.exemplar.flagged or '')}[/yellow]"
        )
    if items:
        out.print("\nDecide with: podscope review confirm ID | podscope review reject ID")
    if flagged:
        out.print("Flagged exemplars: podscope review keep-exemplar ID | podscope review drop-exemplar ID")


@review.command("confirm")
@click.argument("attribution_id", type=int)
@home_option
def review_confirm(attribution_id: int, home: Path | None) -> None:
    """Confirm an attribution (the id from `podscope review`)."""
    with open_library(home) as lib:
        changes = lib.people.confirm(attribution_id)
        a = lib.people.attribution(attribution_id)
    if a is not None:
        out.print(f"Confirmed: episode {a.episode_id} {a.label} is {escape(a.person)}.")
    _print_changes(changes)


@review.command("reject")
@click.argument("attribution_id", type=int)
@home_option
def review_reject(attribution_id: int, home: Path | None) -> None:
    """Reject an attribution: that voice is never attributed to that person again."""
    with open_library(home) as lib:
        before = lib.people.attribution(attribution_id)
        changes = lib.people.reject(attribution_id)
    if before is not None:
        out.print(f"Rejected: episode {before.episode_id} {before.label} is not {escape(before.person)}.")
    _print_changes(changes)


@review.command("keep-exemplar")
@click.argument("exemplar_id", type=int)
@home_option
def review_keep_exemplar(exemplar_id: int, home: Path | None) -> None:
    """A flagged exemplar is right after all (the person in another condition): count it again, for good."""
    with open_library(home) as lib:
        changes = lib.people.keep_exemplar(exemplar_id)
    out.print(f"Exemplar {exemplar_id} is kept and counts again.")
    _print_changes(changes)


@review.command("drop-exemplar")
@click.argument("exemplar_id", type=int)
@home_option
def review_drop_exemplar(exemplar_id: int, home: Path | None) -> None:
    """Remove an exemplar from its profile (a wrong sample)."""
    with open_library(home) as lib:
        changes = lib.people.drop_exemplar(exemplar_id)
    out.print(f"Exemplar {exemplar_id} removed.")
    _print_changes(changes)
