"""The store's quiz tables: every answer a learner gives to a listening quiz.

Why it looks like this:
- One row per attempt, never updated: progress (per episode, per day, words missed) is a summary of the attempts, and
  answering a question again adds a row, so improvement over time stays visible.
- An attempt keeps the texts it was about (the answer and the chosen option), so progress never depends on
  regenerating the quiz: a quiz is reproducible from its seed only while the library's vocabulary stays the same.
- Attempts go with their episode (ON DELETE CASCADE): deleting an episode leaves no answers about it behind.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from podscope.records import QuizAttempt
from podscope.store.sql import SqlTables


def _attempt(row: Mapping[str, Any]) -> QuizAttempt:
    return QuizAttempt(
        id=row["id"],
        learner=row["learner"],
        episode_id=row["episode_id"],
        seed=row["seed"],
        level=row["level"],
        question_id=row["question_id"],
        kind=row["kind"],
        chosen=row["chosen"],
        chosen_text=row["chosen_text"],
        answer_text=row["answer_text"],
        correct=bool(row["correct"]),
        at=row["at"],
    )


class QuizTables(SqlTables):
    """Quiz attempts (`store.quizzes`), on either engine."""

    def add_attempt(
        self,
        *,
        learner: str,
        episode_id: int,
        seed: int,
        level: str,
        question_id: str,
        kind: str,
        chosen: int,
        chosen_text: str,
        answer_text: str,
        correct: bool,
        at: str,
    ) -> QuizAttempt:
        with self.transaction():
            rows = self._q(
                """INSERT INTO quiz_attempts (learner, episode_id, seed, level, question_id, kind, chosen, chosen_text,
                                              answer_text, correct, at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *""",
                (
                    learner,
                    episode_id,
                    seed,
                    level,
                    question_id,
                    kind,
                    chosen,
                    chosen_text,
                    answer_text,
                    int(correct),
                    at,
                ),
            )
        return _attempt(rows[0])

    def attempts(self, learner: str, episode_id: int | None = None) -> list[QuizAttempt]:
        sql = "SELECT * FROM quiz_attempts WHERE learner = ?"
        params: tuple[object, ...] = (learner,)
        if episode_id is not None:
            sql += " AND episode_id = ?"
            params = (learner, episode_id)
        return [_attempt(r) for r in self._q(sql + f" ORDER BY at{self._dialect.byte_order}, id", params)]

    def learners(self) -> list[str]:
        rows = self._q(f"SELECT DISTINCT learner{self._dialect.byte_order} AS learner FROM quiz_attempts ORDER BY 1")
        return [r["learner"] for r in rows]

    def recent_segment_texts(self, limit: int = 20000) -> list[str]:
        rows = self._q(
            """SELECT g.text FROM segments g JOIN episodes e ON e.id = g.episode_id WHERE e.status = 'done'
               ORDER BY g.id DESC LIMIT ?""",
            (limit,),
        )
        return [r["text"] for r in rows]
