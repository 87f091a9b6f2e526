"""The episode page: the transcript with who speaks, a player that follows it, chapters and key moments that seek it,
exports, quiz and translation links."""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from podscope.errors import NotFound, PodscopeError
from podscope.formats import FORMATS
from podscope.library import Library
from podscope.records import QUIZ_LEVELS, Attribution, Episode
from podscope.web.auth import READ
from podscope.web.pages.base import path_id
from podscope.web.state import lib_of
from podscope.web.templating import render

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

router = APIRouter(include_in_schema=False)


def _who(lib: Library, episode_id: int) -> dict[str, Attribution]:
    """Episode speaker label -> its shown attribution."""
    return {a.label: a for a in lib.people.attributions(episode_id=episode_id)}


def playable(lib: Library, episode_ids: Iterable[int]) -> set[int]:
    """The episodes among these that have a recording to play."""
    out = set()
    for episode_id in set(episode_ids):
        try:
            if lib.recording(lib.episode(episode_id)):
                out.add(episode_id)
        except NotFound:
            continue
    return out


def translation_targets(request: Request, episode: Episode) -> list[tuple[str, str]]:
    """(code, name) of the languages the episode can be translated into, Spanish first; the backend's pairs are read
    once per server. With no backend installed Spanish is still offered: the page then says why it failed."""
    lib = lib_of(request)
    pairs: list[tuple[str, str]] | None = request.app.state.translation_pairs
    if pairs is None:
        try:
            pairs = lib.translations.pairs()
        except PodscopeError:
            pairs = []
        request.app.state.translation_pairs = pairs
    source = (episode.language or lib.settings.asr_language or "en")[:2].lower()
    targets = sorted({t for s, t in pairs if s == source and t != source}, key=lambda t: (t != "es", t)) or ["es"]
    return [(t, LANGUAGE_NAMES.get(t, t.upper())) for t in targets]


@router.get("/episodes/{episode_ref}", response_class=HTMLResponse, dependencies=READ)
def episode_page(request: Request, episode_ref: str) -> HTMLResponse:
    lib = lib_of(request)
    episode_id = path_id(episode_ref, "episode")
    transcript = lib.transcript(episode_id)
    who = _who(lib, episode_id)
    labels = sorted({s.label for s in transcript.speakers} | {s.speaker for s in transcript.segments if s.speaker})
    colour = {label: i % 6 for i, label in enumerate(labels)}
    speakers = sorted(transcript.speakers, key=lambda s: -s.speaking_time)
    try:
        chapters = lib.chapters.episode(episode_id) if transcript.segments else None
    except PodscopeError:  # the sentence model cannot load: the page goes on without chapters
        chapters = None
    return render(
        request,
        "episode.html",
        episode=transcript.episode,
        segments=transcript.segments,
        speakers=speakers,
        who=who,
        colour=colour,
        credits=lib.credits(episode_id),
        chapters=chapters,
        formats=list(FORMATS),
        audio_url=f"/api/episodes/{episode_id}/audio" if lib.recording(transcript.episode) else None,
        levels=QUIZ_LEVELS,
        languages=translation_targets(request, transcript.episode) if transcript.segments else [],
    )
