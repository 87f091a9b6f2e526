"""Listening quizzes from an episode (the same for a seed), learners' answers and their progress."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from podscope.library import Library
from podscope.quiz import Quiz
from podscope.web.api.base import Route, RowId
from podscope.web.auth import READ
from podscope.web.state import lib_of

router = APIRouter(route_class=Route)


class AnswerIn(BaseModel):
    """An answer to one question of a quiz; the quiz is named by how it was generated (it is deterministic)."""

    learner: str = Field(min_length=1, max_length=80)
    question_id: str
    chosen: int
    seed: int
    level: str = "medium"
    count: int = 10
    start: float | None = None
    end: float | None = None


def _quiz(
    lib: Library, episode_id: RowId, seed: int, level: str, count: int, start: float | None, end: float | None
) -> Quiz:
    return lib.quizzes.generate(episode_id, seed=seed, level=level, count=count, start=start, end=end)


@router.get("/episodes/{episode_id}/quiz", dependencies=READ, tags=["quizzes"])
def episode_quiz(
    request: Request,
    episode_id: RowId,
    seed: int = 1,
    level: str = "medium",
    count: Annotated[int, Query(ge=1, le=50)] = 10,
    start: float | None = None,
    end: float | None = None,
) -> dict[str, Any]:
    """A listening quiz from the episode (gap and "who said it?" questions with clip times), the same for a seed."""
    return _quiz(lib_of(request), episode_id, seed, level, count, start, end).to_dict()


@router.post("/episodes/{episode_id}/quiz/answers", dependencies=READ, tags=["quizzes"])
def answer_quiz(request: Request, episode_id: RowId, body: AnswerIn) -> dict[str, Any]:
    """Record a learner's answer; returns whether it was right, the right option and the learner's running result."""
    lib = lib_of(request)
    quiz = _quiz(lib, episode_id, body.seed, body.level, body.count, body.start, body.end)
    lib.quizzes.record_answer(body.learner, quiz, body.question_id, body.chosen)
    question = quiz.question(body.question_id)
    result = lib.quizzes.result(body.learner, quiz)
    return {
        "correct": body.chosen == question.answer_index,
        "answer_index": question.answer_index,
        "answer": question.answer,
        "result": asdict(result),
    }


@router.get("/learners/{learner}/progress", dependencies=READ, tags=["quizzes"])
def learner_progress(request: Request, learner: str) -> dict[str, Any]:
    """A learner's answers over time: per episode, per day, and the words they missed."""
    return lib_of(request).quizzes.progress(learner).to_dict()
