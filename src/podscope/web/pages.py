"""Server-rendered pages: search, episodes with a synced player, people, podcasts, review, feeds.

Why it looks like this:
- Every page is a template rendered by `podscope.web.templating` (autoescaped); forms are checked and answered by
  `podscope.web.forms` (CSRF token, redirect with a one-time message).
- Pages read the library directly and work without JavaScript; a small script (static/app.js) adds the inline
  players, the transcript that follows playback, and seeking.
- Static files are served by a route of this router (no mount needed in app.py), from a fixed list of files.
- The listening quiz (/episodes/{id}/quiz) is rendered whole, every question with its options, so it reads without
  JavaScript; static/quiz.js turns it into one question at a time, plays each clip, and posts the answers to the API
  (/api/episodes/{id}/quiz/answers), which says whether they were right. The page never shows the answers itself.
"""

from __future__ import annotations

import datetime as dt
import math
import mimetypes
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse

from podscope.errors import InputError, NotFound, PodscopeError
from podscope.formats import FORMATS
from podscope.library import Library
from podscope.quiz import Question
from podscope.records import QUIZ_LEVELS, SHOWN_TIERS, TIERS, Attribution, Episode
from podscope.search.engine import MODES, SORTS, options_from
from podscope.web.auth import require_admin, require_read
from podscope.web.forms import run_form
from podscope.web.state import _lib
from podscope.web.templating import STATIC, render

router = APIRouter(include_in_schema=False)
# The pages follow the API's rules (podscope.web.auth): reading them is open unless `api_read_requires_key`, and a form
# that changes the library is accepted from this machine (or not at all: a browser form cannot send an API key).
READ = [Depends(require_read)]
ADMIN = [Depends(require_admin)]

STATIC_TYPES = {".css": "text/css", ".js": "text/javascript", ".svg": "image/svg+xml", ".png": "image/png"}
PAGE_SIZE = 10
AUDIO_SUFFIXES = {".mp3", ".m4a", ".m4b", ".aac", ".ogg", ".oga", ".opus", ".flac", ".wav", ".aif", ".aiff", ".mp4"}
SEARCH_MODES = {"hybrid": "Words + meaning", "text": "Exact words", "semantic": "Meaning"}
LANGUAGE_NAMES = {
    "ca": "Catalan",
    "de": "German",
    "en": "English",
    "es": "Spanish",
    "fr": "French",
    "gl": "Galician",
    "it": "Italian",
    "nl": "Dutch",
    "pt": "Portuguese",
}
QUIZ_COUNT = 10
WHO_PREFIX = "Who said it?"


def _changed(changes: list[Any]) -> str:
    n = len(changes)
    return f" {n} other attribution{'s' if n != 1 else ''} updated." if n else ""


# -- search -----------------------------------------------------------------------------------------------------------


def _people_names(lib: Library) -> list[str]:
    return sorted((p.name for p, _active in lib.people.roster()), key=str.lower)


@router.get("/", response_class=HTMLResponse, dependencies=READ)
@router.get("/search", response_class=HTMLResponse, dependencies=READ)
def search_page(request: Request) -> HTMLResponse:
    lib = _lib(request)
    q = request.query_params
    params = {k: q.get(k, "").strip() for k in ("q", "speaker", "podcast", "since", "until", "mode", "sort", "page")}
    if params["mode"] not in MODES:
        params["mode"] = ""
    if params["sort"] not in SORTS:
        params["sort"] = ""
    try:
        page = max(1, min(100, int(params["page"] or 1)))
    except ValueError:
        page = 1
    context: dict[str, Any] = {
        "params": params,
        "people": _people_names(lib),
        "podcasts": lib.podcasts(),
        "modes": SEARCH_MODES,
        "result": None,
        "playable": set(),
        "error": None,
        "page": page,
        "page_size": PAGE_SIZE,
        "search_q": params["q"],
    }
    status = 200
    if params["q"]:
        try:
            context["result"] = lib.search.search(
                params["q"],
                options_from(
                    {
                        "mode": params["mode"] or None,
                        "sort": params["sort"] or None,
                        "speaker": params["speaker"] or None,
                        "podcast": params["podcast"] or None,
                        "since": params["since"] or None,
                        "until": params["until"] or None,
                        "limit": PAGE_SIZE,
                        "offset": (page - 1) * PAGE_SIZE,
                    }
                ),
            )
            context["playable"] = _playable(lib, (h.episode_id for h in context["result"].hits))
        except (InputError, NotFound) as exc:  # a malformed query, or a filter naming nobody: said on the page
            context["error"] = str(exc)
            status = 404 if isinstance(exc, NotFound) else 400
    else:
        episodes = [e for e in lib.episodes() if e.status == "done"]
        episodes.sort(key=lambda e: (e.published or dt.date.min, e.created_at), reverse=True)
        context["recent"] = episodes[:6]
        context["counts"] = lib.store.counts()
    return render(request, "search.html", status, **context)


# -- episodes ---------------------------------------------------------------------------------------------------------


def _who(lib: Library, episode_id: int) -> dict[str, Attribution]:
    """Episode speaker label -> its shown attribution."""
    return {a.label: a for a in lib.store.attributions(episode_id=episode_id, tiers=SHOWN_TIERS)}


def has_recording(episode: Episode) -> bool:
    """Whether the episode was made from a recording (the player's source, /api/episodes/{id}/audio) rather than
    imported from a transcript alone or still pending."""
    if episode.status != "done" or not episode.source:
        return False
    kind = mimetypes.guess_type(episode.source)[0] or ""
    return kind.split("/")[0] in ("audio", "video") or Path(episode.source).suffix.lower() in AUDIO_SUFFIXES


def _playable(lib: Library, episode_ids: Iterable[int]) -> set[int]:
    """The episodes among these that have a recording to play."""
    out = set()
    for episode_id in set(episode_ids):
        try:
            if has_recording(lib.store.get_episode(episode_id)):
                out.add(episode_id)
        except NotFound:
            continue
    return out


def _id(value: str, what: str) -> int:
    """A numeric id from the path; anything else is a page that does not exist (not a validation error)."""
    if not value.isdigit() or len(value) > 12:
        raise NotFound(f"no {what} with id {value!r}")
    return int(value)


def _translation_targets(request: Request, episode: Episode) -> list[tuple[str, str]]:
    """(code, name) of the languages the episode can be translated into, Spanish first; the backend's pairs are read
    once per server. With no backend installed Spanish is still offered: the page then says why it failed."""
    lib = _lib(request)
    pairs: list[tuple[str, str]] | None = getattr(request.app.state, "translation_pairs", None)
    if pairs is None:
        try:
            pairs = lib.translations.pairs()
        except PodscopeError:
            pairs = []
        request.app.state.translation_pairs = pairs
    source = (episode.language or lib.settings.get("asr_language") or "en")[:2].lower()
    targets = sorted({t for s, t in pairs if s == source and t != source}, key=lambda t: (t != "es", t)) or ["es"]
    return [(t, LANGUAGE_NAMES.get(t, t.upper())) for t in targets]


@router.get("/episodes/{episode_ref}", response_class=HTMLResponse, dependencies=READ)
def episode_page(request: Request, episode_ref: str) -> HTMLResponse:
    lib = _lib(request)
    episode_id = _id(episode_ref, "episode")
    transcript = lib.transcript(episode_id)
    who = _who(lib, episode_id)
    labels = sorted({s.label for s in transcript.speakers} | {s.speaker for s in transcript.segments if s.speaker})
    colour = {label: i % 6 for i, label in enumerate(labels)}
    speakers = sorted(transcript.speakers, key=lambda s: -s.speaking_time)
    return render(
        request,
        "episode.html",
        episode=transcript.episode,
        segments=transcript.segments,
        speakers=speakers,
        who=who,
        colour=colour,
        credits=lib.store.credits(episode_id),
        formats=list(FORMATS),
        audio_url=f"/api/episodes/{episode_id}/audio" if has_recording(transcript.episode) else None,
        levels=QUIZ_LEVELS,
        languages=_translation_targets(request, transcript.episode) if transcript.segments else [],
    )


def _number(value: str | None, default: int, low: int, high: int) -> int:
    try:
        return max(low, min(high, int(value or default)))
    except ValueError:
        return default


def _question_view(q: Question) -> dict[str, Any]:
    """A question as the page shows it: a gap prompt split around its blank, a "who said it?" prompt as its quote."""
    if q.kind == "who":
        quote = q.prompt.removeprefix(WHO_PREFIX).strip().removeprefix("“").removesuffix("”")
        parts, label = [quote], WHO_PREFIX
    else:
        parts, label = q.prompt.split("____"), "Fill the gap"
    return {"q": q, "parts": parts, "label": label}


@router.get("/episodes/{episode_ref}/quiz", response_class=HTMLResponse, dependencies=READ)
def quiz_page(request: Request, episode_ref: str) -> HTMLResponse:
    lib = _lib(request)
    episode_id = _id(episode_ref, "episode")
    episode = lib.store.get_episode(episode_id)  # NotFound: the site's 404 page
    q = request.query_params
    level = q.get("level") or "medium"
    seed = _number(q.get("seed"), 1, 0, 2**31 - 1)
    count = _number(q.get("count"), QUIZ_COUNT, 1, 50)
    context: dict[str, Any] = {
        "episode": episode,
        "level": level,
        "levels": QUIZ_LEVELS,
        "seed": seed,
        "count": count,
        "questions": [],
        "error": None,
        "audio_url": f"/api/episodes/{episode_id}/audio" if has_recording(episode) else None,
        "languages": _translation_targets(request, episode),
    }
    status = 200
    try:
        quiz = lib.quizzes.generate(episode_id, seed=seed, level=level, count=count)
        context["questions"] = [_question_view(question) for question in quiz.questions]
    except NotFound:
        raise
    except PodscopeError as exc:  # a bad level, or an episode without word timings: said on the page
        context["error"] = str(exc)
        status = 400
    return render(request, "quiz.html", status, **context)


# -- people -----------------------------------------------------------------------------------------------------------


@router.get("/people", response_class=HTMLResponse, dependencies=READ)
def people_page(request: Request) -> HTMLResponse:
    lib = _lib(request)
    roster = sorted(lib.people.roster(), key=lambda pa: (-pa[0].episodes, pa[0].name.lower()))
    return render(request, "people.html", roster=roster, enabled=lib.people.enabled)


def _months(monthly: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Monthly appearances with the months in between filled in (undated last), for the chart."""
    rows = [dict(m) for m in monthly]
    dated = [m for m in rows if m["month"] != "undated"]
    undated = [m for m in rows if m["month"] == "undated"]
    if not dated:
        return undated
    by_month = {m["month"]: m for m in dated}
    year, month = map(int, dated[0]["month"].split("-"))
    last = tuple(map(int, dated[-1]["month"].split("-")))
    out: list[dict[str, Any]] = []
    while (year, month) <= last and len(out) < 240:
        key = f"{year:04d}-{month:02d}"
        out.append(by_month.get(key, {"month": key, "episodes": 0, "seconds": 0.0}))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out + undated


TICK_STEPS = (5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 18000, 36000, 72000)


def _tick(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.0f} h"


def chart(monthly: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Bar geometry for the appearances-over-time chart: speaking time per month, on a scale with 2-4 gridlines."""
    months = _months(monthly)
    width, height, top, bottom, left = 720, 190, 18, 28, 48
    n = max(1, len(months))
    slot = (width - left) / n
    bar = min(44.0, slot * 0.66)
    peak = max([m["seconds"] for m in months] + [1.0])
    step = next((s for s in TICK_STEPS if peak / s <= 4), TICK_STEPS[-1])
    scale = step * math.ceil(peak / step)
    plot = height - top - bottom
    base = height - bottom
    ticks = [{"y": round(base - plot * k * step / scale, 1), "label": _tick(k * step)} for k in range(1, 5)]
    bars = []
    for i, m in enumerate(months):
        h = 0.0 if not m["seconds"] else max(3.0, plot * m["seconds"] / scale)
        label = "undated" if m["month"] == "undated" else dt.date.fromisoformat(m["month"] + "-01").strftime("%b %y")
        bars.append(
            {
                "x": round(left + i * slot + (slot - bar) / 2, 1),
                "y": round(base - h, 1),
                "w": round(bar, 1),
                "h": round(h, 1),
                "cx": round(left + i * slot + slot / 2, 1),
                "label": label,
                "show_label": n <= 12 or i % math.ceil(n / 12) == 0,
                "episodes": m["episodes"],
                "seconds": m["seconds"],
            }
        )
    return {
        "width": width,
        "height": height,
        "left": left,
        "base": base,
        "bars": bars,
        "ticks": [t for t in ticks if t["y"] >= top - 1],
    }


@router.get("/people/{name:path}", response_class=HTMLResponse, dependencies=READ)
def person_page(request: Request, name: str) -> HTMLResponse:
    lib = _lib(request)
    page = lib.people.show(name, quotes=6)
    data = page.to_dict()
    return render(
        request,
        "person.html",
        person=page.person,
        data=data,
        chart=chart(data["appearances_by_month"]),
        playable=_playable(lib, (q["episode_id"] for q in data["quotes"])),
        podcasts=sorted({a["podcast"] for a in data["appearances"]}),
    )


# -- podcasts ---------------------------------------------------------------------------------------------------------


@router.get("/podcasts", response_class=HTMLResponse, dependencies=READ)
def podcasts_page(request: Request) -> HTMLResponse:
    lib = _lib(request)
    episodes = lib.episodes()
    latest: dict[int, dt.date] = {}
    hours: dict[int, float] = {}
    for e in episodes:
        if e.published and (e.podcast_id not in latest or e.published > latest[e.podcast_id]):
            latest[e.podcast_id] = e.published
        hours[e.podcast_id] = hours.get(e.podcast_id, 0.0) + (e.duration or 0.0)
    return render(request, "podcasts.html", podcasts=lib.podcasts(), latest=latest, hours=hours)


def _cast_entry(name: str, tier: str | None) -> dict[str, Any]:
    return {"name": name, "episodes": 0, "seconds": 0.0, "tier": tier, "roles": set()}


@router.get("/podcasts/{podcast_ref}", response_class=HTMLResponse, dependencies=READ)
def podcast_page(request: Request, podcast_ref: str) -> HTMLResponse:
    lib = _lib(request)
    podcast_id = _id(podcast_ref, "podcast")
    podcast = next((p for p in lib.podcasts() if p.id == podcast_id), None)
    if podcast is None:
        raise NotFound(f"no podcast with id {podcast_id}")
    episodes = sorted(lib.episodes(podcast.title), key=lambda e: (e.published or dt.date.min, e.id), reverse=True)
    people: dict[str, dict[str, Any]] = {}
    order = {t: i for i, t in enumerate(TIERS)}
    for e in episodes:
        for a in lib.store.attributions(episode_id=e.id, tiers=SHOWN_TIERS):
            entry = people.setdefault(a.person, _cast_entry(a.person, a.tier))
            entry["episodes"] += 1
            entry["seconds"] += a.speaking_time
            if order[a.tier] < order[entry["tier"]]:
                entry["tier"] = a.tier
        for c in lib.store.credits(e.id):
            people.setdefault(c["name"], _cast_entry(c["name"], None))["roles"].add(c["role"])
    cast = sorted(people.values(), key=lambda p: (-p["seconds"], -p["episodes"], p["name"].lower()))
    return render(request, "podcast.html", podcast=podcast, episodes=episodes, cast=cast)


# -- review -----------------------------------------------------------------------------------------------------------


@router.get("/review", response_class=HTMLResponse, dependencies=READ)
def review_page(request: Request) -> HTMLResponse:
    lib = _lib(request)
    tier = request.query_params.get("tier", "matched")
    if tier not in ("matched", "low", "verified"):
        tier = "matched"
    enabled = lib.people.enabled
    items = lib.people.review(tier) if enabled else []
    unknown = lib.people.unknown() if enabled else []
    return render(
        request,
        "review.html",
        enabled=enabled,
        tier=tier,
        items=items,
        unknown=unknown,
        people=_people_names(lib),
        next_url=str(request.url.path) + (f"?tier={tier}" if tier != "matched" else ""),
    )


@router.post("/review/{speaker_ref}/confirm", dependencies=ADMIN)
async def review_confirm(request: Request, speaker_ref: str) -> RedirectResponse:
    lib = _lib(request)
    speaker_id = _id(speaker_ref, "attribution")

    def act(form: dict[str, str]) -> str:
        a = lib.store.attribution(speaker_id)
        changes = lib.people.confirm(speaker_id)
        who = f"{a.person} in “{lib.store.get_episode(a.episode_id).title}”" if a else "the attribution"
        return f"Confirmed {who}.{_changed(changes)}"

    return await run_form(request, "/review", act)


@router.post("/review/{speaker_ref}/reject", dependencies=ADMIN)
async def review_reject(request: Request, speaker_ref: str) -> RedirectResponse:
    lib = _lib(request)
    speaker_id = _id(speaker_ref, "attribution")

    def act(form: dict[str, str]) -> str:
        a = lib.store.attribution(speaker_id)
        changes = lib.people.reject(speaker_id)
        who = f"{a.label} is not {a.person}" if a else "rejected"
        return f"Noted: {who}; this voice will not be matched to them again.{_changed(changes)}"

    return await run_form(request, "/review", act)


@router.post("/review/{speaker_ref}/assign", dependencies=ADMIN)
async def review_assign(request: Request, speaker_ref: str) -> RedirectResponse:
    lib = _lib(request)
    speaker_id = _id(speaker_ref, "attribution")

    def act(form: dict[str, str]) -> str:
        name = " ".join(form.get("name", "").split())
        if not name:
            raise InputError("type the name of the person who speaks here")
        a = lib.store.attribution(speaker_id)
        if a is None:
            raise NotFound(f"no attribution {speaker_id}: it may have changed; reload the review page")
        changes = lib.people.assign(a.episode_id, a.label, name)
        return f"{a.label} in episode {a.episode_id} is now {name}.{_changed(changes)}"

    return await run_form(request, "/review", act)


@router.post("/review/unknown/{unknown_id}/name", dependencies=ADMIN)
async def review_name_unknown(request: Request, unknown_id: str) -> RedirectResponse:
    lib = _lib(request)

    def act(form: dict[str, str]) -> str:
        name = " ".join(form.get("name", "").split())
        if not name:
            raise InputError("type the name of the person with this voice")
        changes = lib.people.enroll_unknown(name, unknown_id)
        return f"Named the voice {name}: they are recognised from now on.{_changed(changes)}"

    return await run_form(request, "/review", act)


# -- feeds ------------------------------------------------------------------------------------------------------------


@router.get("/feeds", response_class=HTMLResponse, dependencies=READ)
def feeds_page(request: Request) -> HTMLResponse:
    lib = _lib(request)
    return render(request, "feeds.html", feeds=lib.feeds.list())


@router.post("/feeds", dependencies=ADMIN)
async def feeds_add(request: Request) -> RedirectResponse:
    lib = _lib(request)

    def act(form: dict[str, str]) -> str:
        url = form.get("url", "").strip()
        if urlsplit(url).scheme not in ("http", "https"):
            raise InputError("expected the feed's http:// or https:// address")
        added = lib.feeds.add(url)
        if added.blocked:
            return f"Following {added.podcast}, but its publisher blocks aggregators: nothing will be fetched."
        return f"Following {added.podcast}: {added.items} episodes recorded; `podscope sync` processes them."

    return await run_form(request, "/feeds", act)


# -- static files -----------------------------------------------------------------------------------------------------

_STATIC_FILES = {p.name: p for p in STATIC.iterdir() if p.is_file() and p.suffix in STATIC_TYPES}


@router.get("/static/{name}")
def static_file(name: str) -> FileResponse:
    path = _STATIC_FILES.get(name)
    if path is None:
        raise NotFound(f"no static file {name!r}")
    return FileResponse(path, media_type=STATIC_TYPES[path.suffix], headers={"Cache-Control": "public, max-age=86400"})
