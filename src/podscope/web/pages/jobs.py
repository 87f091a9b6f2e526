"""The jobs page: uploads, feed syncs and re-scores queued from the web, with their progress, and the forms that
cancel one or queue a re-score."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from podscope.errors import InputError
from podscope.records import JOB_STATUSES
from podscope.web.auth import ADMIN, READ
from podscope.web.forms import run_form
from podscope.web.state import lib_of, runner_of
from podscope.web.templating import render

router = APIRouter(include_in_schema=False)
SHOWN = 100


@router.get("/jobs", response_class=HTMLResponse, dependencies=READ)
def jobs_page(request: Request) -> HTMLResponse:
    lib = lib_of(request)
    status = request.query_params.get("status") or None
    if status not in (None, *JOB_STATUSES):
        status = None
    positions = lib.jobs.positions()
    jobs = [(job, lib.jobs.position(job, positions)) for job in lib.jobs.list(status, SHOWN)]
    return render(
        request,
        "jobs.html",
        jobs=jobs,
        only=status,
        statuses=JOB_STATUSES,
        voices=lib.people.enabled,
        active=any(job.active for job, _ in jobs),
    )


@router.post("/jobs/{job_id}/cancel", dependencies=ADMIN)
async def jobs_cancel(request: Request, job_id: str) -> RedirectResponse:
    lib = lib_of(request)

    def act(form: dict[str, str]) -> str:
        job = lib.jobs.cancel(job_id)
        if job.status == "cancelled":
            return f"Cancelled the {job.kind} job {job.id}."
        return f"The {job.kind} job {job.id} stops at its next step."

    return await run_form(request, "/jobs", act)


@router.post("/jobs/rescore", dependencies=ADMIN)
async def jobs_rescore(request: Request) -> RedirectResponse:
    lib = lib_of(request)

    def act(form: dict[str, str]) -> str:
        if not lib.people.enabled:
            raise InputError("voice profiles are switched off (setting voice_profiles = false): nothing to score")
        job = lib.jobs.rescore()
        runner_of(request).wake()
        return f"Queued a re-score of every voice (job {job.id})."

    return await run_form(request, "/jobs", act)
