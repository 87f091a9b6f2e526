"""The jobs of one library (`lib.jobs`): queue them, list them, cancel them, and recover those a dead worker left."""

from __future__ import annotations

import builtins
import os
import socket
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from podscope.errors import Conflict, InputError
from podscope.records import JOB_STATUSES, Job
from podscope.store.contract import JobRepository

STALE_SECONDS = 60.0  # a running job whose worker wrote no heartbeat for this long is a dead worker's
MAX_ATTEMPTS = 3  # a job whose worker died this many times is failed rather than tried again
MAX_LIST = 1000


def host() -> str:
    return socket.gethostname()


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


class Jobs:
    """Background jobs in `store`, for the library in `home`."""

    def __init__(self, store: JobRepository, home: Path):
        self.store = store
        self.home = home

    @property
    def node(self) -> str:
        """Where this library's files are: its host and home (an upload's job runs only here)."""
        return f"{host()}:{self.home}"

    # -- queueing -------------------------------------------------------------------------------------------------

    def upload(self, path: Path, *, podcast: str, title: str, published: str | None, filename: str = "") -> Job:
        """Queue the processing of a recording already kept in the home's uploads folder (removed when the job ends,
        unless the episode is made from it)."""
        uploads = (self.home / "uploads").resolve()
        path = path.resolve()
        if path.parent != uploads or not path.is_file():
            raise InputError(f"{path}: expected a recording kept in {uploads}")
        parameters = {"podcast": podcast, "title": title, "published": published, "filename": filename}
        return self.store.create("upload", parameters, input_path=str(path), node=self.node)

    def sync(
        self,
        feed_id: int | None = None,
        *,
        limit: int | None = None,
        since: str | None = None,
        retranscribe: bool = False,
    ) -> Job:
        """Queue a sync of the feeds (or one): refresh them, then process pending episodes, newest first."""
        parameters = {"feed_id": feed_id, "limit": limit, "since": since, "retranscribe": retranscribe}
        return self.store.create("sync", parameters)

    def rescore(self) -> Job:
        """Queue a full re-score: every episode speaker matched again against the voice profiles."""
        return self.store.create("rescore", {})

    # -- reading --------------------------------------------------------------------------------------------------

    def get(self, job_id: str) -> Job:
        return self.store.get(job_id)

    def list(self, status: str | None = None, limit: int = 50) -> builtins.list[Job]:
        """The newest jobs first (at most `limit`, up to 1000), optionally only those with `status`."""
        if status is not None and status not in JOB_STATUSES:
            raise InputError(f"job status {status!r}: expected one of {', '.join(JOB_STATUSES)}")
        if not 1 <= limit <= MAX_LIST:
            raise InputError(f"limit {limit}: expected 1 to {MAX_LIST}")
        return self.store.list_jobs(status, limit)

    def positions(self) -> dict[str, int]:
        """How many jobs run or wait before each queued one (running jobs and those not listed: 0)."""
        ids = self.store.active_ids()
        return {job_id: n for n, job_id in enumerate(ids)}

    def position(self, job: Job, positions: dict[str, int] | None = None) -> int:
        if job.status != "queued":
            return 0
        return (positions if positions is not None else self.positions()).get(job.id, 0)

    def held_inputs(self) -> builtins.list[str]:
        """The files queued and running jobs hold in the home (no check may call them unreferenced)."""
        return self.store.held_inputs()

    # -- changing -------------------------------------------------------------------------------------------------

    def cancel(self, job_id: str) -> Job:
        """Cancel a queued job at once (its uploaded file goes), or ask a running one to stop at its next step; a
        job cancelled already stays so. A finished job is a Conflict."""
        job = self.store.get(job_id)
        if job.status in ("done", "failed"):
            raise Conflict(f"job {job_id} is {job.status} already: there is nothing to cancel")
        after = self.store.cancel(job_id)
        if after.status == "cancelled" and job.status == "queued":
            self.release_input(after)
        return after

    def claim(self, claimer: str) -> Job | None:
        """The next queued job this home may run, now running for `claimer`; None when there is none."""
        if not self.store.list_jobs("queued", 1):  # a read first: most polls find nothing and take no write lock
            return None
        return self.store.claim_next(claimer, self.node)

    def release_input(self, job: Job, keep: bool = False) -> None:
        """Remove the file a finished job held (an upload), unless `keep` (the episode is made from it). Only a file
        in this home's uploads folder is ever removed."""
        if keep or not job.input_path or job.node != self.node:
            return
        path = Path(job.input_path)
        if path.parent.resolve() == (self.home / "uploads").resolve():
            path.unlink(missing_ok=True)

    def recover(self, live: Sequence[str] = ()) -> builtins.list[Job]:
        """Put back in the queue the running jobs whose worker is gone: one that wrote no heartbeat for
        STALE_SECONDS, or one of this host whose process is gone (or is this process, but none of its `live`
        workers). A job whose file is gone, that was asked to stop, or whose worker died MAX_ATTEMPTS times ends
        instead (failed, or cancelled). Returns the jobs as they are now."""
        dead = {job.id: job for job in self.store.stale(STALE_SECONDS) if job.claimed_by not in live}
        for job in self.store.list_jobs("running", MAX_LIST):
            if job.claimed_by and job.claimed_by not in live and self._gone(job.claimed_by):
                dead[job.id] = job
        recovered = []
        for job in dead.values():
            self._recover(job)
            recovered.append(self.store.get(job.id))
        return recovered

    def _gone(self, claimer: str) -> bool:
        """Whether the worker `claimer` (host:pid:token) was on this host in a process that is gone or is this one."""
        where, _, rest = claimer.partition(":")
        pid = rest.partition(":")[0]
        if where != host() or not pid.isdigit():
            return False
        return int(pid) == os.getpid() or not pid_alive(int(pid))

    def _recover(self, job: Job) -> None:
        assert job.claimed_by is not None
        claimer, outcome = job.claimed_by, self._verdict(job)
        if outcome is None:
            self.store.requeue(job.id, claimer)
            return
        status, error = outcome
        if self.store.finish(job.id, claimer, status, error=error):
            self.release_input(job)

    def _verdict(self, job: Job) -> tuple[str, str | None] | None:
        """How a job whose worker died ends (status, error), or None: it goes back in the queue."""
        if job.cancel_requested:
            return "cancelled", None
        if job.attempts >= MAX_ATTEMPTS:
            return "failed", (
                f"the server stopped while running this job {job.attempts} times; it is not tried again"
                " (the server log may say why)"
            )
        if job.input_path and job.node == self.node and not Path(job.input_path).is_file():
            name = job.parameters.get("filename") or Path(job.input_path).name
            return "failed", f"the uploaded file {name!r} is gone from {Path(job.input_path).parent}: upload it again"
        return None

    def describe(self, job: Job) -> dict[str, Any]:
        """What a job is about, for listings: its parameters without the paths inside the home."""
        return {k: v for k, v in job.parameters.items() if v is not None}
