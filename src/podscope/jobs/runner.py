"""The runner: one thread that claims queued jobs from the store and runs them one at a time, on its own library.

Why it looks like this:
- Processing takes minutes and most of the CPU, so a server runs one job at a time; a request only queues a job and
  wakes the runner. Jobs queued by another process (a replica, the command line) are found by polling.
- The work runs on a second library over the same home and store (`open_worker`, opened with the first job), as a
  second process would: its own connection, its own vector index object.
- While a job runs, its progress hook writes the stage and progress (at most once a second, and at each new stage)
  and a heartbeat thread writes every HEARTBEAT_SECONDS, each reading back whether a cancel was asked for or the job
  was taken from this worker. Either makes the next progress hook raise `JobStopped`, except in the stages that come
  after an episode's one transaction committed (its indexing), where stopping would undo nothing.
- Stopping the server stops the job at its next step and puts it back in the queue; a server killed outright leaves
  it "running" with a heartbeat that stops, and the next runner to look (the same host at once, any other after
  STALE_SECONDS) puts it back (`Jobs.recover`).
- A job's failure is recorded on the job (a library error as its sentence; anything else as an internal error, with
  the traceback in the server log), never raised: there is no request left to answer.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from podscope.errors import PodscopeError
from podscope.jobs.service import STALE_SECONDS, Jobs, host
from podscope.records import Job, JobHold, LabelledHook

log = logging.getLogger(__name__)
POLL_SECONDS = 2.0  # how often an idle runner looks for jobs queued elsewhere
HEARTBEAT_SECONDS = 10.0
RECOVER_SECONDS = 30.0  # how often a runner looks for jobs a dead worker left
PROGRESS_SECONDS = 1.0  # progress writes, at most this often within a stage
COMMITTED = ("store", "rescore")  # stages whose end is a committed transaction: nothing left to stop before the next
_LIVE: set[str] = set()  # the workers running in this process (a job of this pid claimed by none of them is a dead one)

StopReason = Literal["cancel", "lost", "stop"]


class JobStopped(Exception):
    """Raised by a job's progress hook to stop its work: a cancel was asked for ("cancel"), the job is no longer this
    worker's ("lost"), or the server is stopping ("stop"). Not a PodscopeError, so no library code records it as the
    work's own failure (a feed item stays pending)."""

    def __init__(self, reason: StopReason):
        super().__init__(reason)
        self.reason: StopReason = reason


@dataclass(frozen=True)
class JobOutcome:
    """What a job's work made: the episode (uploads), a report (syncs, re-scores), and whether the job's file is now
    the episode's recording (kept)."""

    episode_id: int | None = None
    created: bool | None = None
    result: dict[str, Any] = field(default_factory=dict)
    keep_input: bool = False


class JobWorker(Protocol):
    """What runs a job's work: a library (`Library.run_job`)."""

    def run_job(self, job: Job, hook: LabelledHook) -> JobOutcome: ...

    def close(self) -> None: ...


class _Progress:
    """A running job's progress hook and heartbeat, and the reason it must stop, once there is one."""

    def __init__(self, jobs: Jobs, job: Job, claimer: str, stopping: threading.Event):
        self.jobs, self.job, self.claimer, self.stopping = jobs, job, claimer, stopping
        self.reason: StopReason | None = None
        self._stage: str | None = None
        self._written = 0.0
        self._lock = threading.Lock()

    def _note(self, hold: JobHold) -> None:
        if hold != "held" and self.reason is None:
            self.reason = hold

    def beat(self) -> None:
        with self._lock:
            self._note(self.jobs.store.touch(self.job.id, self.claimer))

    def __call__(self, stage: str, done: float, total: float) -> None:
        fraction = round(min(1.0, max(0.0, done / total)), 3) if total else None
        now = time.monotonic()
        if stage != self._stage or now - self._written >= PROGRESS_SECONDS or fraction == 1.0:
            with self._lock:
                self._stage, self._written = stage, now
                try:
                    self._note(self.jobs.store.touch(self.job.id, self.claimer, stage, fraction))
                except PodscopeError:  # the store is busy or away for a moment: the work goes on, the next write
                    log.warning("job %s: its progress could not be written", self.job.id, exc_info=True)
        if self.stopping.is_set() and self.reason is None:
            self.reason = "stop"
        name = stage.rpartition(":")[2]
        committed = name == "index" or (name in COMMITTED and total and done >= total)
        if self.reason is not None and not committed:
            raise JobStopped(self.reason)


class Runner:
    """Runs the jobs of `jobs` (the app's library) one at a time in a thread, on a library `open_worker` opens."""

    def __init__(self, jobs: Jobs, open_worker: Callable[[], JobWorker], *, poll_seconds: float = POLL_SECONDS):
        self.jobs = jobs
        self.claimer = f"{host()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._open_worker = open_worker
        self._worker: JobWorker | None = None
        self._poll = poll_seconds
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._recovered_at = 0.0

    def start(self) -> None:
        """Put back what dead workers left, then run queued jobs until `stop`."""
        _LIVE.add(self.claimer)
        self.recover()
        self._thread = threading.Thread(target=self._loop, name="podscope-jobs", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """A job was queued: look now rather than at the next poll."""
        self._wake.set()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the running job at its next step (it goes back in the queue) and the thread; a job that does not
        reach a step in `timeout` seconds is left to the next start's recovery."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self._thread is None or not self._thread.is_alive():
            _LIVE.discard(self.claimer)
            if self._worker is not None:
                self._worker.close()
                self._worker = None

    def recover(self) -> list[Job]:
        self._recovered_at = time.monotonic()
        try:
            return self.jobs.recover(live=sorted(_LIVE))
        except PodscopeError:
            log.exception("could not look for jobs left by a stopped server")
            return []

    def run_once(self) -> Job | None:
        """Claim and run one queued job (None when there is none); returns it as it ended."""
        job = self.jobs.claim(self.claimer)
        if job is None:
            return None
        self._run(job)
        return self.jobs.get(job.id)

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                if time.monotonic() - self._recovered_at >= RECOVER_SECONDS:
                    self.recover()
                if self.run_once() is not None:
                    continue
            except Exception:  # the store is unreachable for a moment: try again at the next poll
                log.exception("the job runner could not claim a job")
            self._wake.wait(self._poll)
            self._wake.clear()

    def _worker_library(self) -> JobWorker:
        if self._worker is None:
            self._worker = self._open_worker()
        return self._worker

    def _run(self, job: Job) -> None:
        progress = _Progress(self.jobs, job, self.claimer, self._stopping)
        done = threading.Event()

        def heartbeat() -> None:
            while not done.wait(min(HEARTBEAT_SECONDS, STALE_SECONDS / 4)):
                try:
                    progress.beat()
                except Exception:
                    log.exception("job %s: the heartbeat could not be written", job.id)

        beating = threading.Thread(target=heartbeat, name=f"podscope-job-{job.id}", daemon=True)
        beating.start()
        try:
            self._finish(job, progress)
        finally:
            done.set()
            beating.join()

    def _finish(self, job: Job, progress: _Progress) -> None:
        try:
            self._record(job, progress)
        except PodscopeError:  # the store went away (a server stopping): the next start's recovery settles the job
            log.exception("job %s: how it ended could not be recorded", job.id)

    def _record(self, job: Job, progress: _Progress) -> None:
        store, claimer = self.jobs.store, self.claimer
        try:
            outcome = self._worker_library().run_job(job, progress)
        except JobStopped as stopped:
            if stopped.reason == "cancel":
                if store.finish(job.id, claimer, "cancelled"):
                    self.jobs.release_input(job)
            elif stopped.reason == "stop":
                store.requeue(job.id, claimer)
            # "lost": another worker holds it now; nothing of it is this one's to write
            return
        except PodscopeError as exc:
            if store.finish(job.id, claimer, "failed", error=str(exc)):
                self.jobs.release_input(job)
            return
        except Exception as exc:  # a bug: the job says so, the log keeps the traceback
            log.exception("job %s (%s) failed", job.id, job.kind)
            if store.finish(job.id, claimer, "failed", error=f"internal error: {type(exc).__name__}"):
                self.jobs.release_input(job)
            return
        recorded = store.finish(
            job.id,
            claimer,
            "done",
            result=outcome.result,
            episode_id=outcome.episode_id,
            created=outcome.created,
        )
        if recorded:
            self.jobs.release_input(job, keep=outcome.keep_input)
