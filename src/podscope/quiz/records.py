"""The quiz records: a quiz and its questions, how a learner did on one, and their progress over all of them."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from podscope.errors import NotFound
from podscope.records import QuestionKind, QuizLevel


@dataclass(frozen=True)
class Question:
    """One question: what to show, what to play, the options and which one is right.

    For a gap question `word_start`/`word_end` are the timestamps of the gapped word(s) (inside the clip); for a
    "who said it?" question they are the quote's."""

    id: str  # "gap-<word index>" or "who-<segment index>": stable for one episode
    kind: QuestionKind
    prompt: str
    options: tuple[str, ...]
    answer_index: int
    clip_start: float
    clip_end: float
    answer_text: str
    segment_start: float
    word_start: float = 0.0
    word_end: float = 0.0

    @property
    def answer(self) -> str:
        return self.options[self.answer_index]


@dataclass(frozen=True)
class Quiz:
    """A generated quiz for one episode."""

    episode_id: int
    seed: int
    level: QuizLevel
    questions: tuple[Question, ...]

    def question(self, question_id: str) -> Question:
        for q in self.questions:
            if q.id == question_id:
                return q
        raise NotFound(f"quiz of episode {self.episode_id} (seed {self.seed}) has no question {question_id!r}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "episode_id": self.episode_id,
            "seed": self.seed,
            "level": self.level,
            "questions": [{**asdict(q), "options": list(q.options)} for q in self.questions],
        }


@dataclass(frozen=True)
class QuizResult:
    """How a learner did on one quiz: their latest answer to each question they answered."""

    learner: str
    episode_id: int
    seed: int
    level: QuizLevel
    questions: int
    answered: int
    correct: int
    missed: tuple[str, ...]  # answers of the questions they got wrong

    @property
    def score(self) -> float:
        return self.correct / self.answered if self.answered else 0.0


@dataclass(frozen=True)
class EpisodeProgress:
    episode_id: int
    title: str
    attempts: int
    correct: int
    last_at: str

    @property
    def accuracy(self) -> float:
        return self.correct / self.attempts if self.attempts else 0.0


@dataclass(frozen=True)
class DayProgress:
    day: str  # YYYY-MM-DD (UTC)
    attempts: int
    correct: int


@dataclass(frozen=True)
class MissedWord:
    """A gapped word a learner chose wrongly, and how often."""

    word: str
    misses: int
    confused_with: tuple[str, ...]  # the options they chose instead
    episodes: tuple[int, ...]


@dataclass(frozen=True)
class Progress:
    """A learner's record over every quiz: per episode, per day, and the words they miss."""

    learner: str
    attempts: int
    correct: int
    episodes: tuple[EpisodeProgress, ...]
    days: tuple[DayProgress, ...]
    missed: tuple[MissedWord, ...]

    @property
    def accuracy(self) -> float:
        return self.correct / self.attempts if self.attempts else 0.0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["accuracy"] = round(self.accuracy, 3)
        for entry, e in zip(data["episodes"], self.episodes, strict=True):
            entry["accuracy"] = round(e.accuracy, 3)
        return data
