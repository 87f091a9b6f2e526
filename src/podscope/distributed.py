"""Distributed ingestion on Ray: many recordings, or a sync's pending feed items, processed by a pool of workers and
stored in one PostgreSQL store.

    pool = Pool(store_url, home, settings, open_library=Library, address="local", workers=2)
    report = ingest_files([AudioJob(Path("a.mp3"), "Podcast", "A"), ...], pool)
    report = sync_items([FeedJob(item.id, item.title), ...], pool, feeds=lib.feeds)

Each worker is a Ray actor holding one library (opened once, so the models load once per worker, not per episode);
the driver hands each job to an idle worker and collects what comes back, so every job runs once. A worker that
dies mid-episode is restarted (up to twice) and the job retried on it; a job that still fails is reported with its
error and the rest of the batch goes on.

Why it looks like this:
- One driver loop (`_run`) for both kinds of job: a `Batch` says how a job starts on a worker and, for feed items,
  how the driver keeps them to itself. Audio jobs need nothing more; feed items are claimed in the store before a
  worker gets them (one taken by another run is skipped), recorded failed by the driver when their worker died for
  good (the worker records every other outcome itself, in `Feeds.process_item`), and given back when the run stops.
- Exactly once is the store's: a recording already stored (the same bytes) is not processed again, on PostgreSQL
  saves of one recording are serialised by an advisory lock on its content hash, and a feed item's claim and
  outcome are conditional updates of its row. Nothing here re-checks.
- A feed item runs on its worker exactly as in a sequential sync (`Feeds.process_item`, with the driver's claim):
  its enclosure is downloaded into the worker's home (the same path on every machine, as for audio files).
- Only PostgreSQL: workers on other machines cannot share a SQLite file.
- Ray is imported only when a batch runs (the ray extra), and this module never imports the library or the feeds at
  run time (the library calls in here): the caller passes how a worker opens its library (`open_library`, the
  `Library` class) and, for a sync, its feeds.
- Tests make a worker's process exit mid-job by naming a file in PODSCOPE_TEST_RAY_CRASH_FILE: the first worker
  that finds the file there (at an audio job's start, at a feed item's first progress report, once it is claimed
  and downloading) removes it and exits, as a machine lost mid-episode would.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from podscope.errors import InputError
from podscope.ingest import AddResult
from podscope.store import POSTGRES_SCHEMES

if TYPE_CHECKING:  # the feeds come from the library, which builds them on first use
    from podscope.feeds.follow import Feeds, SyncReport

CRASH_FILE_VARIABLE = "PODSCOPE_TEST_RAY_CRASH_FILE"  # tests only: see the module's docstring
MAX_RESTARTS = 2  # a dead worker is restarted this often, and its job retried on it as often


@dataclass(frozen=True)
class AudioJob:
    """One recording to add: its file and the episode it becomes."""

    path: Path
    podcast: str
    title: str
    published: str | None = None  # YYYY-MM-DD

    @property
    def label(self) -> str:
        return str(self.path)


@dataclass(frozen=True)
class FeedJob:
    """One pending feed item to process: its id, and its title for the report."""

    item_id: int
    title: str

    @property
    def label(self) -> str:
        return self.title


Job = AudioJob | FeedJob
J = TypeVar("J", AudioJob, FeedJob)


@dataclass(frozen=True)
class JobOutcome:
    """What became of one job: the stored episode (new or already there), the error that stopped it, or (a feed
    item another run holds or has finished) nothing."""

    job: Job
    episode_id: int | None = None
    created: bool = False
    seconds: float = 0.0  # the recording's length
    error: str | None = None


@dataclass
class RayReport:
    """A batch on Ray: the episodes stored now, those already in the library, those that failed (with their errors),
    the feed items skipped (another run holds or finished them), the audio processed and the time it took. While the
    batch runs (the hook's view) `running` counts episodes being processed, on the `workers` started so far. A sync's
    report also holds what reading the feeds found (`feeds`)."""

    total: int
    workers: int = 0
    done: list[JobOutcome] = field(default_factory=list)
    already: list[JobOutcome] = field(default_factory=list)
    failed: list[JobOutcome] = field(default_factory=list)
    skipped: list[JobOutcome] = field(default_factory=list)
    running: int = 0
    audio_seconds: float = 0.0  # of the episodes stored now
    wall_seconds: float = 0.0
    feeds: SyncReport | None = None
    rescore_due: list[str] = field(default_factory=list)  # profiles that learnt on a worker: the full re-score owed

    @property
    def finished(self) -> int:
        return len(self.done) + len(self.already) + len(self.failed) + len(self.skipped)

    @property
    def errors(self) -> list[str]:
        return [f"{o.job.label}: {o.error}" for o in self.failed]

    @property
    def speed(self) -> float:
        """Audio hours processed per hour of wall time (0 before anything is done)."""
        return self.audio_seconds / self.wall_seconds if self.wall_seconds > 0 else 0.0


ReportHook = Callable[[RayReport], None]


class Profiles(Protocol):
    """What a worker needs of a library's people: a batch defers the full re-score a learning profile owes."""

    defer_rescores: bool
    rescore_due: str | None


class Ingester(Protocol):
    """What a worker needs of a library."""

    @property
    def people(self) -> Profiles: ...

    def add_audio(self, path: str | Path, *, podcast: str, title: str, published: str | None = None) -> AddResult: ...

    @property
    def feeds(self) -> Feeds: ...

    def close(self) -> None: ...


OpenLibrary = Callable[[Path, dict[str, Any]], Ingester]  # (home, settings) -> a library
Returned = tuple[int | None, bool, float, str | None]  # what a worker's job returns: see IngestWorker


@dataclass(frozen=True)
class Pool:
    """Where a batch runs: the store every worker writes to, the home and settings each opens its library with (and
    how), the cluster (`address` "local" starts Ray on this machine unless this process runs it already; else a
    cluster's address, "auto", "ray://host:10001") and how many workers (default: the cluster's CPUs)."""

    store_url: str
    home: Path
    settings: dict[str, Any]
    open_library: OpenLibrary
    address: str = "local"
    workers: int | None = None


class IngestWorker:
    """A worker: one library kept for its lifetime, so the models load once. Made a Ray actor by `_run`."""

    def __init__(self, open_library: OpenLibrary, home: Path, settings: dict[str, Any]):
        self.library = open_library(home, settings)
        # Each new episode is matched on its own; a profile that learnt from one owes the whole library a re-score,
        # which the driver runs once at the end of the batch rather than every worker after every such episode.
        self.library.people.defer_rescores = True

    def add_audio(self, path: Path, podcast: str, title: str, published: str | None) -> Returned:
        """Add one recording; returns the stored episode's id, whether it was new, its length in seconds, and why a
        full re-score is owed (None: it is not)."""
        _crash_if_asked()
        result = self.library.add_audio(path, podcast=podcast, title=title, published=published)
        return result.episode.id, result.created, result.episode.duration, self._rescore_due()

    def sync_item(self, item_id: int, claimer: str, retranscribe: bool) -> Returned:
        """Process one feed item for the driver's run (`claimer`); returns its episode's id (None: skipped, another
        run holds it or it is no longer pending), whether the recording was new, its length in seconds, and why a
        full re-score is owed. A failure, recorded on the item already, is raised with its message."""
        hook = (lambda _stage, _done, _total: _crash_if_asked()) if os.environ.get(CRASH_FILE_VARIABLE) else None
        outcome = self.library.feeds.process_item(item_id, claimer=claimer, retranscribe=retranscribe, hook=hook)
        if outcome.status == "failed":
            raise InputError(outcome.error or "failed")
        return outcome.episode_id, outcome.created, outcome.seconds, self._rescore_due()

    def _rescore_due(self) -> str | None:
        due, self.library.people.rescore_due = self.library.people.rescore_due, None
        return due


def _crash_if_asked() -> None:
    """Tests only: exit this process when the file PODSCOPE_TEST_RAY_CRASH_FILE names exists (removing it first, so
    exactly one worker exits, once)."""
    marker = os.environ.get(CRASH_FILE_VARIABLE)
    if marker:
        try:
            os.remove(marker)
        except FileNotFoundError:
            return
        os._exit(1)


def require_ray(store_url: str, workers: int | None) -> Any:
    """Ray, once the store and the worker count are fit for a batch (InputError, before anything runs, if not)."""
    if not store_url.startswith(POSTGRES_SCHEMES):
        raise InputError("distributed ingestion needs a PostgreSQL store: --store postgresql://...")
    if workers is not None and workers < 1:
        raise InputError(f"--workers {workers}: expected 1 or more")
    try:
        import ray
    except ImportError as exc:
        raise InputError("distributed ingestion needs Ray: pip install 'podscope[ray]'") from exc
    return ray


@dataclass(frozen=True)
class Batch(Generic[J]):
    """Jobs of one kind and how the driver runs them: `start(worker, job)` submits one (returning its Ray reference,
    which resolves to (episode id or None, created, seconds)); `claim(job)` keeps it to this run before (False: skip
    it); `give_up(job, error)` records a job whose worker could not (it died); `release()` gives back, at the end,
    whatever is still claimed."""

    jobs: Sequence[J]
    start: Callable[[Any, J], Any]
    claim: Callable[[J], bool] = lambda job: True
    give_up: Callable[[J, str], object] = lambda job, error: None
    release: Callable[[], object] = lambda: None


def ingest_files(files: Sequence[AudioJob], pool: Pool, hook: ReportHook | None = None) -> RayReport:
    """Add the recordings on Ray. `hook(report)` hears every change. Ctrl+C stops the workers; episodes already
    stored stay."""

    def start(actor: Any, job: AudioJob) -> Any:
        return actor.add_audio.remote(job.path.expanduser().resolve(), job.podcast, job.title, job.published)

    return _run(Batch(files, start), pool, hook)


def sync_items(
    items: Sequence[FeedJob], pool: Pool, feeds: Feeds, *, retranscribe: bool = False, hook: ReportHook | None = None
) -> RayReport:
    """Process pending feed items on Ray, each claimed for this run (`feeds.claimer`, the driver's host and home)
    before a worker gets it. Ctrl+C stops the workers and gives back the items they held; episodes already stored
    stay."""
    claimer = feeds.claimer
    batch = Batch(
        items,
        start=lambda actor, job: actor.sync_item.remote(job.item_id, claimer, retranscribe),
        claim=lambda job: feeds.claim(job.item_id, claimer) is not None,
        give_up=lambda job, error: feeds.give_up(job.item_id, error, claimer),
        release=lambda: feeds.release_claims(claimer),
    )
    return _run(batch, pool, hook)


def _run(batch: Batch[J], pool: Pool, hook: ReportHook | None) -> RayReport:
    """The driver: start Ray and the workers, hand each job to an idle worker, collect the outcomes."""
    ray = require_ray(pool.store_url, pool.workers)
    started = time.monotonic()
    if not ray.is_initialized():
        if pool.address == "local":  # Ray's "local" starts an instance here even when `ray start` runs one already
            ray.init(address="local", num_cpus=os.cpu_count() or 1, include_dashboard=False, log_to_driver=False)
        else:
            ray.init(address=pool.address, log_to_driver=False)
    jobs = batch.jobs
    resources = ray.cluster_resources()
    cpus = float(resources.get("CPU", 1.0))
    count = max(1, min(pool.workers or int(cpus), len(jobs))) if jobs else 0
    report = RayReport(total=len(jobs))  # `workers`: those started
    if not jobs:
        return report
    if resources.get("GPU", 0):
        options: dict[str, Any] = {"num_gpus": 1}
    else:
        options = {"num_cpus": min(1.0, cpus / count)}  # more workers than CPUs share them rather than wait
    actor_class = ray.remote(IngestWorker).options(max_restarts=MAX_RESTARTS, max_task_retries=MAX_RESTARTS, **options)
    worker_settings = {**pool.settings, "store_url": pool.store_url}
    actors: list[Any] = []  # started when a job needs one: a batch whose items another run holds starts none
    idle: list[Any] = []
    queue = list(reversed(jobs))
    running: dict[Any, tuple[Any, J]] = {}

    def tell() -> None:
        report.running = len(running)
        report.wall_seconds = time.monotonic() - started
        if hook:
            hook(report)

    def fail(job: J, error: str) -> None:
        batch.give_up(job, error)
        report.failed.append(JobOutcome(job, error=error))

    try:
        tell()
        while queue or running:
            while queue and (idle or len(actors) < count):
                job = queue.pop()
                if not batch.claim(job):  # another run holds it, or has finished it since it was listed
                    report.skipped.append(JobOutcome(job))
                    continue
                if not idle:
                    actors.append(actor_class.remote(pool.open_library, pool.home, worker_settings))
                    idle.append(actors[-1])
                    report.workers = len(actors)
                actor = idle.pop()
                running[batch.start(actor, job)] = (actor, job)
            if not running:  # every worker is gone (or the rest was skipped): what is left cannot run
                while queue:
                    report.failed.append(JobOutcome(queue.pop(), error="every worker died"))
                break
            tell()
            ready, _ = ray.wait(list(running), num_returns=1)
            for ref in ready:
                actor, job = running.pop(ref)
                try:
                    episode_id, created, seconds, due = ray.get(ref)
                except ray.exceptions.RayActorError as exc:  # the worker died, and its restarts are used up
                    fail(job, f"the worker died: {_reason(exc)}")
                    continue
                except ray.exceptions.RayError as exc:
                    fail(job, _reason(exc))
                else:
                    outcome = JobOutcome(job, episode_id=episode_id, created=created, seconds=seconds)
                    if due:
                        report.rescore_due.append(due)
                    if episode_id is None:
                        report.skipped.append(outcome)
                    elif created:
                        report.done.append(outcome)
                        report.audio_seconds += seconds
                    else:
                        report.already.append(outcome)
                idle.append(actor)
            tell()
    finally:
        for actor in actors:  # on Ctrl+C too: an episode being stored is one transaction, kept or rolled back
            ray.kill(actor, no_restart=True)
        batch.release()
    report.running = 0
    report.wall_seconds = time.monotonic() - started
    return report


def _reason(exc: BaseException) -> str:
    """The error a worker raised (podscope's message), else Ray's."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, BaseException):
        return str(cause) or type(cause).__name__
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
