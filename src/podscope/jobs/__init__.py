"""Background jobs kept in the store: uploads to process, feed syncs and re-scores, started from the web.

    job = lib.jobs.sync(feed_id=3)              # queued in the store; returns at once
    runner = Runner(lib.jobs, open_worker)      # what `podscope serve` runs: claims queued jobs one at a time
    lib.jobs.cancel(job.id)                     # queued: cancelled at once; running: stops at its next progress

Why it looks like this:
- A job is a row (`store.jobs`), not an object in a server's memory: a restarted server finds what was queued and
  runs it, and what was running when a server died is put back in the queue (or failed with the reason, when its
  uploaded file is gone or it was tried three times), never left "running".
- Any number of runners (threads, server processes, replicas on one PostgreSQL store) share the queue: a claim is one
  conditional UPDATE, so a job runs once. An upload's file is on the disk of the server that took it: only a runner
  of that host and home (`node`) claims it.
- A job stops between steps, never inside a write: its progress hook raises `JobStopped` when a cancel was asked for,
  and each episode is stored in one transaction, so a cancelled job leaves the episodes it finished and nothing
  half-written.
"""

from __future__ import annotations

from podscope.jobs.runner import JobOutcome, JobStopped, JobWorker, Runner
from podscope.jobs.service import MAX_ATTEMPTS, STALE_SECONDS, Jobs

__all__ = ["MAX_ATTEMPTS", "STALE_SECONDS", "JobOutcome", "JobStopped", "JobWorker", "Jobs", "Runner"]
