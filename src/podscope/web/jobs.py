"""Background jobs for the HTTP API: uploads to process and feed syncs, one at a time, in the order they came.

    jobs = Jobs(lib)
    job = jobs.submit("upload", lambda lib, job: ...)     # returns at once: the API answers 202 with job.id
    jobs.get(job.id).status                              # queued | running | done | failed

Why it looks like this:
- Processing an episode takes minutes and most of the CPU, so jobs run in one worker thread, one after the other; a
  request only queues work and answers at once.
- The worker opens its own `Library` on the same home, as a second process would: its own SQLite connection (the
  store is already safe for that in WAL mode) and its own vector index object (the index file is written under a lock
  and reloaded by readers when it changes), so a request never shares a connection or a faiss index with a job
  half-way through an episode.
- Jobs live in memory: a restarted server forgets them (the episodes they stored stay). The newest `KEEP` are kept.
- A job's failure is recorded on the job (a library error as its sentence; anything else as an internal error, with
  the traceback in the server log), never raised: there is no request left to answer.
"""

from __future__ import annotations

import logging
import queue
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from podscope.errors import NotFound, PodscopeError
from podscope.library import Library
from podscope.records import JobStatus
from podscope.timefmt import now_iso

log = logging.getLogger(__name__)
KEEP = 200  # jobs remembered


@dataclass
class Job:
    """One piece of background work and how far it got. `stage` and `progress` (0-1 within the stage) follow the
    pipeline's hook; `result` holds what the work reported (a sync's counts)."""

    id: str
    kind: str  # upload | sync
    status: JobStatus = "queued"
    stage: str | None = None
    progress: float | None = None
    episode_id: int | None = None
    created: bool | None = None  # for uploads: False when the recording was already in the library
    error: str | None = None
    result: dict[str, Any] = field(default_factory=dict)
    queued_at: str = field(default_factory=now_iso)
    started_at: str | None = None
    finished_at: str | None = None

    def hook(self, stage: str, done: float, total: float) -> None:
        """The pipeline's progress hook."""
        self.stage = stage
        self.progress = round(min(1.0, max(0.0, done / total)), 3) if total else None


Work = Callable[[Library, Job], None]


class Jobs:
    """A queue of jobs and the one thread that runs them over its own library on `lib`'s home."""

    def __init__(self, lib: Library):
        self._home = lib.home
        self._settings = lib.settings
        self._queue: queue.Queue[tuple[Job, Work]] = queue.Queue()
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._lock = threading.Lock()
        self._worker: threading.Thread | None = None
        self._lib: Library | None = None

    def submit(self, kind: str, work: Work) -> Job:
        job = Job(id=uuid.uuid4().hex[:12], kind=kind)
        with self._lock:
            self._jobs[job.id] = job
            while len(self._jobs) > KEEP:
                oldest = next(iter(self._jobs.values()))
                if oldest.status in ("queued", "running"):
                    break
                self._jobs.popitem(last=False)
            if self._worker is None:
                self._worker = threading.Thread(target=self._run, name="podscope-jobs", daemon=True)
                self._worker.start()
        self._queue.put((job, work))
        return job

    def get(self, job_id: str) -> Job:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise NotFound(f"no job {job_id!r} (jobs are kept in memory until the server restarts)")
        return job

    def all(self) -> list[Job]:
        with self._lock:
            return list(self._jobs.values())

    def position(self, job: Job) -> int:
        """How many jobs run or wait before this one (0: it is running or finished)."""
        if job.status != "queued":
            return 0
        with self._lock:
            ahead = 0
            for other in self._jobs.values():
                if other is job:
                    return ahead
                ahead += other.status in ("queued", "running")
        return ahead

    def _library(self) -> Library:
        if self._lib is None:
            self._lib = Library(self._home, settings=self._settings)
        return self._lib

    def _run(self) -> None:
        while True:
            job, work = self._queue.get()
            job.status, job.started_at = "running", now_iso()
            try:
                work(self._library(), job)
            except PodscopeError as exc:
                job.status, job.error = "failed", str(exc)
            except Exception as exc:  # a bug: the job says so, the log keeps the traceback
                log.exception("job %s (%s) failed", job.id, job.kind)
                job.status, job.error = "failed", f"internal error: {type(exc).__name__}"
            else:
                job.status = "done"
            finally:
                job.finished_at = now_iso()
                self._queue.task_done()
