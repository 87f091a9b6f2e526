"""Background jobs as the API shows them: uploads, feed syncs and re-scores, stored in the library.

    GET  /api/jobs[?status=&limit=]      the newest first
    GET  /api/jobs/{id}                  one job: queued, running (stage, progress), done, failed (why), cancelled
    POST /api/jobs/{id}/cancel           queued: cancelled at once; running: stops at its next step (admin)

Work that takes minutes is queued as a job (`podscope.jobs`) and answered with 202 and the job's address; the job is
kept in the store, so a restarted server still knows it and runs what was queued.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from podscope.jobs import Jobs
from podscope.records import Job, JobKind, JobStatus
from podscope.web.api.base import Route, RowId
from podscope.web.auth import ADMIN, READ
from podscope.web.state import lib_of, runner_of

router = APIRouter(route_class=Route)


class JobOut(BaseModel):
    id: str
    kind: JobKind = Field(description="upload | sync | rescore")
    status: JobStatus = Field(
        description="queued | running | done | failed | cancelled. A job survives a restart of the server: queued"
        " jobs run after it, and a running one is queued again (or failed, with the reason, when its uploaded file"
        " is gone)."
    )
    stage: str | None = Field(description="The processing stage under way (decode, transcribe, ...), or the last.")
    progress: float | None = Field(description="0-1 within the stage.")
    position: int = Field(description="Jobs running or waiting before this one.")
    episode_id: RowId | None = Field(
        default=None, exclude_if=lambda v: v is None, description="The episode, once there is one (absent before)."
    )
    created: bool | None = Field(description="For uploads: false when the recording was already in the library.")
    error: str | None
    result: dict[str, Any] = Field(description="What the work reported: a sync's counts, a re-score's changes.")
    parameters: dict[str, Any] = Field(description="What the job was asked to do (podcast, title, feed, ...).")
    cancel_requested: bool = Field(description="A cancel was asked for while it ran: it stops at its next step.")
    attempts: int = Field(description="How many times a server started it (more than one: a server stopped meanwhile).")
    queued_at: str
    started_at: str | None
    finished_at: str | None
    url: str

    @classmethod
    def of(cls, job: Job, jobs: Jobs, positions: dict[str, int] | None = None) -> JobOut:
        return cls(
            id=job.id,
            kind=job.kind,
            status=job.status,
            stage=job.stage,
            progress=job.progress,
            position=jobs.position(job, positions),
            episode_id=job.episode_id,
            created=job.created,
            error=job.error,
            result=job.result,
            parameters=jobs.describe(job),
            cancel_requested=job.cancel_requested,
            attempts=job.attempts,
            queued_at=job.queued_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
            url=f"/api/jobs/{job.id}",
        )


def queued(request: Request, response: Response, job: Job) -> JobOut:
    """The answer to a request that queued `job`: 202's body and Location, the runner woken."""
    runner_of(request).wake()
    response.headers["Location"] = f"/api/jobs/{job.id}"
    return JobOut.of(job, lib_of(request).jobs)


@router.get("/jobs", response_model=list[JobOut], dependencies=READ, tags=["jobs"])
def list_jobs(
    request: Request,
    status: Annotated[JobStatus | None, Query(description="Only jobs with this status.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="At most this many, the newest first.")] = 50,
) -> list[JobOut]:
    """Uploads, syncs and re-scores queued from the web, newest first, kept across restarts of the server."""
    jobs = lib_of(request).jobs
    positions = jobs.positions()
    return [JobOut.of(j, jobs, positions) for j in jobs.list(status, limit)]


@router.get("/jobs/{job_id}", response_model=JobOut, dependencies=READ, tags=["jobs"])
def get_job(request: Request, job_id: str) -> JobOut:
    """A background job: queued, running (with its stage and progress), done (with the episode), failed (why) or
    cancelled."""
    jobs = lib_of(request).jobs
    return JobOut.of(jobs.get(job_id), jobs)


@router.post("/jobs/{job_id}/cancel", response_model=JobOut, dependencies=ADMIN, tags=["jobs"])
def cancel_job(request: Request, job_id: str) -> JobOut:
    """Cancel a job: a queued one at once (status cancelled); a running one stops at its next step (between
    episodes' writes, never inside one) and is then cancelled. A job that is done or failed is a 409."""
    jobs = lib_of(request).jobs
    return JobOut.of(jobs.cancel(job_id), jobs)
