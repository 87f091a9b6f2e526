"""The listening quiz page (/episodes/{id}/quiz).

It is rendered whole, every question with its options, so it reads without JavaScript; static/quiz.js turns it into
one question at a time, plays each clip, and posts the answers to the API (/api/episodes/{id}/quiz/answers), which
says whether they were right. The page never shows the answers itself.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from podscope.errors import NotFound, PodscopeError
from podscope.quiz import Question
from podscope.records import QUIZ_LEVELS
from podscope.web.auth import READ
from podscope.web.pages.base import path_id
from podscope.web.pages.episodes import translation_targets
from podscope.web.state import lib_of
from podscope.web.templating import render

QUIZ_COUNT = 10
WHO_PREFIX = "Who said it?"

router = APIRouter(include_in_schema=False)


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
    lib = lib_of(request)
    episode_id = path_id(episode_ref, "episode")
    episode = lib.episode(episode_id)  # NotFound: the site's 404 page
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
        "audio_url": f"/api/episodes/{episode_id}/audio" if lib.recording(episode) else None,
        "languages": translation_targets(request, episode),
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
