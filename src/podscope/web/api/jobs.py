"""Background jobs as the API shows them (GET /api/jobs[/{id}]): uploads and feed syncs, queued and answered 202.

Work that takes minutes (processing an upload, syncing feeds) is queued as a job (`podscope.web.jobs`) and answered
with 202 and the job's address.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from podscope.web.api.base import Route, RowId
from podscope.web.auth import READ
from podscope.web.jobs import Job, Jobs
from podscope.web.state import jobs_of

router = APIRouter(route_class=Route)


class JobOut(BaseModel):
    id: str
    kind: str = Field(description="upload | sync")
    status: str = Field(description="queued | running | done | failed")
    stage: str | None = Field(description="The processing stage under way (decode, transcribe, ...).")
    progress: float | None = Field(description="0-1 within the stage.")
    position: int = Field(description="Jobs running or waiting before this one.")
    episode_id: RowId | None = Field(
        default=None, exclude_if=lambda v: v is None, description="The episode, once there is one (absent before)."
    )
    created: bool | None = Field(description="For uploads: false when the recording was already in the library.")
    error: str | None
    result: dict[str, Any]
    queued_at: str
    started_at: str | None
    finished_at: str | None
    url: str

    @classmethod
    def of(cls, job: Job, jobs: Jobs) -> JobOut:
        data = asdict(job)
        return cls(**data, position=jobs.position(job), url=f"/api/jobs/{job.id}")


@router.get("/jobs", response_model=list[JobOut], dependencies=READ, tags=["jobs"])
def list_jobs(request: Request) -> list[JobOut]:
    """Uploads and syncs this server has queued since it started, oldest first."""
    jobs = jobs_of(request)
    return [JobOut.of(j, jobs) for j in jobs.all()]


@router.get("/jobs/{job_id}", response_model=JobOut, dependencies=READ, tags=["jobs"])
def get_job(request: Request, job_id: str) -> JobOut:
    """A background job: queued, running (with its stage and progress), done (with the episode) or failed (why)."""
    jobs = jobs_of(request)
    return JobOut.of(jobs.get(job_id), jobs)
