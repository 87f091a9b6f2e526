"""The PostgreSQL twin of the jobs table (`podscope.store.jobs`): the same records, claims and conditions.

Only the dialect differs: the claim picks its row with `FOR UPDATE SKIP LOCKED` (two replicas claiming at once take
different jobs rather than wait for each other), and times are the server's (`podscope_now()`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from podscope.records import Job, JobHold
from podscope.store.jobs import ACTIVE, FINISHED, KEEP, encode, hold_of, job_of, new_job_id, not_found
from podscope.store.postgres.db import PgTables

NOW = "podscope_now()"


class PgJobs(PgTables):
    """Background jobs (`store.jobs`) on PostgreSQL."""

    def create(
        self, kind: str, parameters: Mapping[str, Any], *, input_path: str | None = None, node: str | None = None
    ) -> Job:
        job_id = new_job_id()
        with self.transaction():
            self._query(
                "INSERT INTO jobs (id, kind, parameters, input_path, node) VALUES (%s, %s, %s, %s, %s)",
                (job_id, kind, encode(parameters), input_path, node),
            )
            self._query(
                f"""DELETE FROM jobs WHERE status IN {FINISHED}
                    AND seq <= (SELECT seq FROM jobs ORDER BY seq DESC LIMIT 1 OFFSET %s)""",
                (KEEP,),
            )
        return self.get(job_id)

    def get(self, job_id: str) -> Job:
        rows = self._query("SELECT * FROM jobs WHERE id = %s", (job_id,))
        if not rows:
            raise not_found(job_id)
        return job_of(rows[0])

    def list_jobs(self, status: str | None = None, limit: int = 50) -> list[Job]:
        if status is None:
            rows = self._query("SELECT * FROM jobs ORDER BY seq DESC LIMIT %s", (limit,))
        else:
            rows = self._query("SELECT * FROM jobs WHERE status = %s ORDER BY seq DESC LIMIT %s", (status, limit))
        return [job_of(r) for r in rows]

    def active_ids(self) -> list[str]:
        rows = self._query(f"SELECT id FROM jobs WHERE status IN {ACTIVE} ORDER BY status = 'queued', seq")
        return [str(r["id"]) for r in rows]

    def claim_next(self, claimer: str, node: str) -> Job | None:
        # The row is locked by the subquery and re-checked by the UPDATE's own WHERE (READ COMMITTED): a job another
        # claimer took meanwhile is skipped, never taken twice.
        with self.transaction():
            rows = self._query(
                f"""UPDATE jobs SET status = 'running', claimed_by = %s, heartbeat_at = {NOW}, started_at = {NOW},
                                    attempts = attempts + 1, stage = NULL, progress = NULL
                    WHERE status = 'queued' AND seq = (
                        SELECT seq FROM jobs WHERE status = 'queued' AND (node IS NULL OR node = %s)
                        ORDER BY seq LIMIT 1 FOR UPDATE SKIP LOCKED)
                    RETURNING *""",
                (claimer, node),
            )
        return job_of(rows[0]) if rows else None

    def touch(self, job_id: str, claimer: str, stage: str | None = None, progress: float | None = None) -> JobHold:
        sets = f"heartbeat_at = {NOW}" + (", stage = %s, progress = %s" if stage is not None else "")
        params: tuple[Any, ...] = (stage, progress) if stage is not None else ()
        with self.transaction():
            rows = self._query(
                f"""UPDATE jobs SET {sets} WHERE id = %s AND status = 'running' AND claimed_by = %s
                    RETURNING cancel_requested_at""",
                (*params, job_id, claimer),
            )
        return hold_of(rows)

    def finish(
        self,
        job_id: str,
        claimer: str,
        status: str,
        *,
        error: str | None = None,
        result: Mapping[str, Any] | None = None,
        episode_id: int | None = None,
        created: bool | None = None,
    ) -> bool:
        with self.transaction():
            rows = self._query(
                f"""UPDATE jobs SET status = %s, error = %s, result = %s, episode_id = %s, created = %s,
                                    finished_at = {NOW}, claimed_by = NULL, heartbeat_at = NULL
                    WHERE id = %s AND status = 'running' AND claimed_by = %s RETURNING id""",
                (status, error, encode(result), episode_id, created, job_id, claimer),
            )
        return bool(rows)

    def requeue(self, job_id: str, claimer: str) -> bool:
        with self.transaction():
            rows = self._query(
                """UPDATE jobs SET status = 'queued', claimed_by = NULL, heartbeat_at = NULL, started_at = NULL,
                                   stage = NULL, progress = NULL
                   WHERE id = %s AND status = 'running' AND claimed_by = %s RETURNING id""",
                (job_id, claimer),
            )
        return bool(rows)

    def cancel(self, job_id: str) -> Job:
        with self.transaction():
            self._query(
                f"UPDATE jobs SET status = 'cancelled', finished_at = {NOW} WHERE id = %s AND status = 'queued'",
                (job_id,),
            )
            self._query(
                f"""UPDATE jobs SET cancel_requested_at = COALESCE(cancel_requested_at, {NOW})
                    WHERE id = %s AND status = 'running'""",
                (job_id,),
            )
        return self.get(job_id)

    def stale(self, stale_seconds: float) -> list[Job]:
        rows = self._query(
            """SELECT * FROM jobs WHERE status = 'running'
               AND (heartbeat_at IS NULL OR heartbeat_at < to_char((now() - make_interval(secs => %s))
                                                                   AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))
               ORDER BY seq""",
            (float(stale_seconds),),
        )
        return [job_of(r) for r in rows]

    def held_inputs(self) -> list[str]:
        rows = self._query(f"SELECT input_path FROM jobs WHERE status IN {ACTIVE} AND input_path IS NOT NULL")
        return [str(r["input_path"]) for r in rows]
