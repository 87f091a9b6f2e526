"""The PostgreSQL twin of the quiz tables (`podscope.store.quizzes`): every answer a learner gives, one row each."""

from __future__ import annotations

from podscope.records import QuizAttempt
from podscope.store.postgres.db import PgTables
from podscope.store.quizzes import _attempt


class PgQuizzes(PgTables):
    """Every answer a learner gives to a listening quiz."""

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
            rows = self._query(
                """INSERT INTO quiz_attempts (learner, episode_id, seed, level, question_id, kind, chosen, chosen_text,
                                              answer_text, correct, at)
                   VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING *""",
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
        sql = "SELECT * FROM quiz_attempts WHERE learner = %s"
        params: tuple[object, ...] = (learner,)
        if episode_id is not None:
            sql += " AND episode_id = %s"
            params = (learner, episode_id)
        return [_attempt(r) for r in self._query(sql + ' ORDER BY at COLLATE "C", id', params)]

    def learners(self) -> list[str]:
        rows = self._query('SELECT DISTINCT learner COLLATE "C" AS learner FROM quiz_attempts ORDER BY 1')
        return [r["learner"] for r in rows]

    def recent_segment_texts(self, limit: int = 20000) -> list[str]:
        rows = self._query(
            """SELECT g.text FROM segments g JOIN episodes e ON e.id = g.episode_id WHERE e.status = 'done'
               ORDER BY g.id DESC LIMIT %s""",
            (limit,),
        )
        return [r["text"] for r in rows]
