"""The store's background jobs (`store.jobs`): uploads to process, feed syncs and re-scores, kept so that a restarted
server resumes them.

Why it looks like this:
- A job is run by one worker at a time: a worker claims the oldest queued job it may run with one conditional UPDATE
  (the claim's own WHERE says it is still queued), so of two workers racing for it, in one process or in two server
  replicas on one store, exactly one wins. The claim names the worker (`claimed_by`: host, pid and a token of its
  run) and starts its heartbeat (`heartbeat_at`, the database's clock, so machines with skewed clocks agree).
- Every write of a running job's worker (progress, heartbeat, its outcome) is conditional on the worker still holding
  it: a worker thought dead, whose job was requeued and taken by another, learns it lost the job ("lost") and stops.
- Cancelling a queued job is immediate; a running one is only asked to stop (`cancel_requested_at`), which its worker
  reads back with its next progress write.
- Finished jobs beyond the newest `KEEP` go when a job is created, so the table stays small.
- One implementation for both engines (`podscope.store.sql`); on PostgreSQL the claim picks its row with
  `FOR UPDATE SKIP LOCKED`, so two replicas claiming at once take different jobs rather than wait for each other.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from podscope.errors import NotFound
from podscope.records import Job, JobHold
from podscope.store.sql import Row, SqlTables

KEEP = 1000  # finished jobs kept
ACTIVE = "('queued', 'running')"
FINISHED = "('done', 'failed', 'cancelled')"


def new_job_id() -> str:
    return uuid.uuid4().hex[:12]


def not_found(job_id: str) -> NotFound:
    return NotFound(f"no job {job_id!r}; GET /api/jobs or `podscope jobs` lists them")


def encode(value: Mapping[str, Any] | None) -> str:
    return json.dumps(dict(value or {}), ensure_ascii=False, default=str)


def job_of(row: Mapping[str, Any]) -> Job:
    created = row["created"]
    return Job(
        id=row["id"],
        kind=row["kind"],
        status=row["status"],
        parameters=json.loads(row["parameters"] or "{}"),
        stage=row["stage"],
        progress=None if row["progress"] is None else float(row["progress"]),
        episode_id=row["episode_id"],
        created=None if created is None else bool(created),
        error=row["error"],
        result=json.loads(row["result"] or "{}"),
        cancel_requested=row["cancel_requested_at"] is not None,
        attempts=int(row["attempts"]),
        input_path=row["input_path"],
        node=row["node"],
        claimed_by=row["claimed_by"],
        heartbeat_at=row["heartbeat_at"],
        queued_at=row["queued_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
    )


def hold_of(rows: Sequence[Row]) -> JobHold:
    """What a conditional write on a running job says to its worker."""
    if not rows:
        return "lost"
    return "cancel" if rows[0]["cancel_requested_at"] is not None else "held"


class JobTables(SqlTables):
    """Background jobs (`store.jobs`), on either engine."""

    def create(
        self, kind: str, parameters: Mapping[str, Any], *, input_path: str | None = None, node: str | None = None
    ) -> Job:
        job_id = new_job_id()
        with self.transaction():
            self._q(
                "INSERT INTO jobs (id, kind, parameters, input_path, node) VALUES (?, ?, ?, ?, ?)",
                (job_id, kind, encode(parameters), input_path, node),
            )
            self._q(
                f"""DELETE FROM jobs WHERE status IN {FINISHED}
                    AND seq <= (SELECT seq FROM jobs ORDER BY seq DESC LIMIT 1 OFFSET ?)""",
                (KEEP,),
            )
        return self.get(job_id)

    def get(self, job_id: str) -> Job:
        rows = self._q("SELECT * FROM jobs WHERE id = ?", (job_id,))
        if not rows:
            raise not_found(job_id)
        return job_of(rows[0])

    def list_jobs(self, status: str | None = None, limit: int = 50) -> list[Job]:
        if status is None:
            rows = self._q("SELECT * FROM jobs ORDER BY seq DESC LIMIT ?", (limit,))
        else:
            rows = self._q("SELECT * FROM jobs WHERE status = ? ORDER BY seq DESC LIMIT ?", (status, limit))
        return [job_of(r) for r in rows]

    def active_ids(self) -> list[str]:
        rows = self._q(f"SELECT id FROM jobs WHERE status IN {ACTIVE} ORDER BY status = 'queued', seq")
        return [str(r["id"]) for r in rows]

    def claim_next(self, claimer: str, node: str) -> Job | None:
        # On PostgreSQL the row is locked by the subquery and re-checked by the UPDATE's own WHERE (READ COMMITTED):
        # a job another claimer took meanwhile is skipped, never taken twice.
        skip = " SKIP LOCKED" if self._dialect.for_update else ""
        now = self._dialect.now
        with self.transaction():
            rows = self._q(
                f"""UPDATE jobs SET status = 'running', claimed_by = ?, heartbeat_at = {now}, started_at = {now},
                                    attempts = attempts + 1, stage = NULL, progress = NULL
                    WHERE status = 'queued' AND seq = (
                        SELECT seq FROM jobs WHERE status = 'queued' AND (node IS NULL OR node = ?)
                        ORDER BY seq LIMIT 1{self._dialect.for_update}{skip})
                    RETURNING *""",
                (claimer, node),
            )
        return job_of(rows[0]) if rows else None

    def touch(self, job_id: str, claimer: str, stage: str | None = None, progress: float | None = None) -> JobHold:
        sets = f"heartbeat_at = {self._dialect.now}" + (", stage = ?, progress = ?" if stage is not None else "")
        params: tuple[Any, ...] = (stage, progress) if stage is not None else ()
        with self.transaction():
            rows = self._q(
                f"""UPDATE jobs SET {sets} WHERE id = ? AND status = 'running' AND claimed_by = ?
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
            changed = self._count(
                f"""UPDATE jobs SET status = ?, error = ?, result = ?, episode_id = ?, created = ?,
                                    finished_at = {self._dialect.now}, claimed_by = NULL, heartbeat_at = NULL
                    WHERE id = ? AND status = 'running' AND claimed_by = ?""",
                (status, error, encode(result), episode_id, created, job_id, claimer),
            )
        return bool(changed)

    def requeue(self, job_id: str, claimer: str) -> bool:
        with self.transaction():
            changed = self._count(
                """UPDATE jobs SET status = 'queued', claimed_by = NULL, heartbeat_at = NULL, started_at = NULL,
                                   stage = NULL, progress = NULL
                   WHERE id = ? AND status = 'running' AND claimed_by = ?""",
                (job_id, claimer),
            )
        return bool(changed)

    def cancel(self, job_id: str) -> Job:
        with self.transaction():
            self._q(
                f"""UPDATE jobs SET status = 'cancelled', finished_at = {self._dialect.now}
                    WHERE id = ? AND status = 'queued'""",
                (job_id,),
            )
            self._q(
                f"""UPDATE jobs SET cancel_requested_at = COALESCE(cancel_requested_at, {self._dialect.now})
                    WHERE id = ? AND status = 'running'""",
                (job_id,),
            )
        return self.get(job_id)

    def stale(self, stale_seconds: float) -> list[Job]:
        before, ago = self._dialect.seconds_ago(stale_seconds)
        rows = self._q(
            f"""SELECT * FROM jobs WHERE status = 'running' AND (heartbeat_at IS NULL OR heartbeat_at < {before})
                ORDER BY seq""",
            (ago,),
        )
        return [job_of(r) for r in rows]

    def held_inputs(self) -> list[str]:
        rows = self._q(f"SELECT input_path FROM jobs WHERE status IN {ACTIVE} AND input_path IS NOT NULL")
        return [str(r["input_path"]) for r in rows]
