"""The library's quizzes: generating them over stored episodes, and recording each learner's answers and progress."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence

from podscope.errors import InputError, NotFound
from podscope.quiz.generation import KINDS, generate_quiz
from podscope.quiz.lexicon import Lexicon, build_lexicon, general_words
from podscope.quiz.records import DayProgress, EpisodeProgress, MissedWord, Progress, Quiz, QuizResult
from podscope.records import QuizAttempt
from podscope.store.contract import EpisodeRepository, PeopleRepository, QuizRepository
from podscope.timefmt import iso


class Quizzes:
    """Quizzes over a library's episodes, and each learner's answers and progress."""

    def __init__(self, attempts: QuizRepository, episodes: EpisodeRepository, people: PeopleRepository):
        self._attempts = attempts
        self._episodes = episodes
        self._people = people
        self._lexicon: Lexicon | None = None

    def lexicon(self) -> Lexicon:
        """The general lexicon extended with the library's recent words (built once per `Quizzes`)."""
        if self._lexicon is None:
            self._lexicon = build_lexicon(general_words(), self._attempts.recent_segment_texts())
        return self._lexicon

    def generate(
        self,
        episode_id: int,
        *,
        seed: int,
        level: str = "medium",
        count: int = 10,
        start: float | None = None,
        end: float | None = None,
        kinds: Sequence[str] = KINDS,
    ) -> Quiz:
        transcript = self._episodes.transcript(episode_id)  # NotFound for an unknown episode
        return generate_quiz(
            transcript,
            self._people.speaker_names(episode_id),
            seed=seed,
            level=level,
            count=count,
            start=start,
            end=end,
            kinds=kinds,
            lexicon=self.lexicon(),
        )

    def record_answer(
        self, learner: str, quiz: Quiz, question_id: str, chosen: int, *, at: dt.datetime | None = None
    ) -> QuizAttempt:
        """Store a learner's answer (the index of the option they chose) to one question of a quiz."""
        learner = learner.strip()
        if not learner:
            raise InputError("learner name is empty: expected a name such as 'ana'")
        question = quiz.question(question_id)
        if not 0 <= chosen < len(question.options):
            raise InputError(f"chosen option {chosen}: expected 0 to {len(question.options) - 1}")
        when = iso(at or dt.datetime.now(dt.UTC))
        return self._attempts.add_attempt(
            learner=learner,
            episode_id=quiz.episode_id,
            seed=quiz.seed,
            level=quiz.level,
            question_id=question.id,
            kind=question.kind,
            chosen=chosen,
            chosen_text=question.options[chosen],
            answer_text=question.answer_text,
            correct=chosen == question.answer_index,
            at=when,
        )

    def result(self, learner: str, quiz: Quiz) -> QuizResult:
        """How a learner did on a quiz, from their latest answer to each of its questions."""
        latest: dict[str, QuizAttempt] = {}
        for a in self._attempts.attempts(learner.strip(), quiz.episode_id):
            if a.seed == quiz.seed and a.level == quiz.level:
                latest[a.question_id] = a
        ids = {q.id for q in quiz.questions}
        answered = [a for qid, a in latest.items() if qid in ids]
        return QuizResult(
            learner=learner.strip(),
            episode_id=quiz.episode_id,
            seed=quiz.seed,
            level=quiz.level,
            questions=len(quiz.questions),
            answered=len(answered),
            correct=sum(a.correct for a in answered),
            missed=tuple(a.answer_text for a in answered if not a.correct),
        )

    def progress(self, learner: str) -> Progress:
        """Every answer of a learner summed up per episode and per day, with the gapped words they missed."""
        learner = learner.strip()
        attempts = self._attempts.attempts(learner)
        if not attempts:
            known = self._attempts.learners()
            hint = f" (learners: {', '.join(known)})" if known else ""
            raise NotFound(f"no quiz answers from {learner!r}{hint}")
        titles = {e.id: e.title for e in self._episodes.list_episodes()}
        per_episode: dict[int, list[QuizAttempt]] = defaultdict(list)
        per_day: dict[str, list[QuizAttempt]] = defaultdict(list)
        misses: dict[str, list[QuizAttempt]] = defaultdict(list)
        for a in attempts:
            per_episode[a.episode_id].append(a)
            per_day[a.at[:10]].append(a)
            if a.kind == "gap" and not a.correct:
                misses[a.answer_text.lower()].append(a)
        return Progress(
            learner=learner,
            attempts=len(attempts),
            correct=sum(a.correct for a in attempts),
            episodes=tuple(
                EpisodeProgress(
                    episode_id=eid,
                    title=titles.get(eid, ""),
                    attempts=len(rows),
                    correct=sum(a.correct for a in rows),
                    last_at=rows[-1].at,
                )
                for eid, rows in sorted(per_episode.items())
            ),
            days=tuple(
                DayProgress(day=day, attempts=len(rows), correct=sum(a.correct for a in rows))
                for day, rows in sorted(per_day.items())
            ),
            missed=tuple(
                MissedWord(
                    word=word,
                    misses=len(rows),
                    confused_with=tuple(dict.fromkeys(a.chosen_text for a in rows)),
                    episodes=tuple(sorted({a.episode_id for a in rows})),
                )
                for word, rows in sorted(misses.items(), key=lambda kv: (-len(kv[1]), kv[0]))
            ),
        )
