"""Distributed ingestion on Ray: many recordings, processed by a pool of workers, stored in one PostgreSQL store.

    report = lib.add_audio_on_ray([AudioJob(Path("a.mp3"), "Podcast", "A"), ...], address="local", workers=2)

Each worker is a Ray actor holding one library (opened once, so the models load once per worker, not per episode);
the driver hands each episode to an idle worker and collects what comes back, so every episode runs once. A worker
that dies mid-episode is restarted (up to twice) and the episode retried on it; an episode that still fails is
reported with its error and the rest of the batch goes on.

Why it looks like this:
- Exactly once is the store's: a recording already stored (the same bytes) is not processed again, and on
  PostgreSQL saves of one recording are serialised by an advisory lock on its content hash. Nothing here re-checks.
- Only PostgreSQL: workers on other machines cannot share a SQLite file.
- Ray is imported only when a batch runs (the ray extra), and this module never imports the library (the library
  calls in here): the caller passes how a worker opens its library (`open_library`, the `Library` class).
- Tests make a worker's process exit on its first episode by naming a file in PODSCOPE_TEST_RAY_CRASH_FILE: the
  first worker that finds the file there removes it and exits, as a machine lost mid-episode would.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from podscope.errors import InputError
from podscope.ingest import AddResult
from podscope.store import POSTGRES_SCHEMES

CRASH_FILE_VARIABLE = "PODSCOPE_TEST_RAY_CRASH_FILE"  # tests only: see the module's docstring
MAX_RESTARTS = 2  # a dead worker is restarted this often, and its episode retried on it as often


@dataclass(frozen=True)
class AudioJob:
    """One recording to add: its file and the episode it becomes."""

    path: Path
    podcast: str
    title: str
    published: str | None = None  # YYYY-MM-DD


@dataclass(frozen=True)
class JobOutcome:
    """What became of one job: the stored episode (new or already there) or the error that stopped it."""

    job: AudioJob
    episode_id: int | None = None
    created: bool = False
    seconds: float = 0.0  # the recording's length
    error: str | None = None


@dataclass
class RayReport:
    """A batch on Ray: the episodes stored now, those already in the library, those that failed (with their errors),
    the audio processed and the time it took. While the batch runs (the hook's view) `running` counts episodes being
    processed."""

    total: int
    workers: int = 0
    done: list[JobOutcome] = field(default_factory=list)
    already: list[JobOutcome] = field(default_factory=list)
    failed: list[JobOutcome] = field(default_factory=list)
    running: int = 0
    audio_seconds: float = 0.0  # of the episodes stored now
    wall_seconds: float = 0.0

    @property
    def finished(self) -> int:
        return len(self.done) + len(self.already) + len(self.failed)

    @property
    def errors(self) -> list[str]:
        return [f"{o.job.path}: {o.error}" for o in self.failed]

    @property
    def speed(self) -> float:
        """Audio hours processed per hour of wall time (0 before anything is done)."""
        return self.audio_seconds / self.wall_seconds if self.wall_seconds > 0 else 0.0


class Ingester(Protocol):
    """What a worker needs of a library."""

    def add_audio(self, path: str | Path, *, podcast: str, title: str, published: str | None = None) -> AddResult: ...

    def close(self) -> None: ...


OpenLibrary = Callable[[Path, dict[str, Any]], Ingester]  # (home, settings) -> a library


class IngestWorker:
    """A worker: one library kept for its lifetime, so the models load once. Made a Ray actor by `_actor_class`."""

    def __init__(self, open_library: OpenLibrary, home: Path, settings: dict[str, Any]):
        self.library = open_library(home, settings)

    def add_audio(self, path: Path, podcast: str, title: str, published: str | None) -> tuple[int, bool, float]:
        """Add one recording; returns the stored episode's id, whether it was new, and its length in seconds."""
        _crash_if_asked()
        result = self.library.add_audio(path, podcast=podcast, title=title, published=published)
        return result.episode.id, result.created, result.episode.duration


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


def _ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise InputError("distributed ingestion needs Ray: pip install 'podscope[ray]'") from exc
    return ray


def ingest_files(
    files: Sequence[AudioJob],
    *,
    store_url: str,
    home: Path,
    settings: dict[str, Any],
    open_library: OpenLibrary,
    address: str = "local",
    workers: int | None = None,
    hook: Callable[[RayReport], None] | None = None,
) -> RayReport:
    """Add the recordings on Ray: `address` "local" starts Ray on this machine (unless this process runs it already),
    else it is a cluster's address ("auto", "ray://host:10001"); `workers` actors (default: the cluster's CPUs), each
    opening `open_library(home, settings with store_url)` once. `hook(report)` hears every change. Ctrl+C stops the
    workers; episodes already stored stay."""
    if not store_url.startswith(POSTGRES_SCHEMES):
        raise InputError("distributed ingestion needs a PostgreSQL store: --store postgresql://...")
    if workers is not None and workers < 1:
        raise InputError(f"--workers {workers}: expected 1 or more")
    ray = _ray()
    started = time.monotonic()
    if not ray.is_initialized():
        if address == "local":  # Ray's "local" starts an instance here even when `ray start` runs one already
            ray.init(address="local", num_cpus=os.cpu_count() or 1, include_dashboard=False, log_to_driver=False)
        else:
            ray.init(address=address, log_to_driver=False)
    resources = ray.cluster_resources()
    cpus = float(resources.get("CPU", 1.0))
    count = max(1, min(workers or int(cpus), len(files))) if files else 0
    report = RayReport(total=len(files), workers=count)
    if not files:
        return report
    if resources.get("GPU", 0):
        options: dict[str, Any] = {"num_gpus": 1}
    else:
        options = {"num_cpus": min(1.0, cpus / count)}  # more workers than CPUs share them rather than wait
    actor_class = ray.remote(IngestWorker).options(max_restarts=MAX_RESTARTS, max_task_retries=MAX_RESTARTS, **options)
    worker_settings = {**settings, "store_url": store_url}
    actors = [actor_class.remote(open_library, home, worker_settings) for _ in range(count)]
    idle = list(actors)
    queue = list(reversed(files))
    running: dict[Any, tuple[Any, AudioJob]] = {}

    def tell() -> None:
        report.running = len(running)
        report.wall_seconds = time.monotonic() - started
        if hook:
            hook(report)

    try:
        tell()
        while queue or running:
            while queue and idle:
                job = queue.pop()
                actor = idle.pop()
                path = job.path.expanduser().resolve()
                running[actor.add_audio.remote(path, job.podcast, job.title, job.published)] = (actor, job)
            if not running:  # every worker is gone: what is left cannot run
                while queue:
                    report.failed.append(JobOutcome(queue.pop(), error="every worker died"))
                break
            tell()
            ready, _ = ray.wait(list(running), num_returns=1)
            for ref in ready:
                actor, job = running.pop(ref)
                try:
                    episode_id, created, seconds = ray.get(ref)
                except ray.exceptions.RayActorError as exc:  # the worker died, and its restarts are used up
                    report.failed.append(JobOutcome(job, error=f"the worker died: {_reason(exc)}"))
                    continue
                except ray.exceptions.RayError as exc:
                    report.failed.append(JobOutcome(job, error=_reason(exc)))
                else:
                    outcome = JobOutcome(job, episode_id=episode_id, created=created, seconds=seconds)
                    if created:
                        report.done.append(outcome)
                        report.audio_seconds += seconds
                    else:
                        report.already.append(outcome)
                idle.append(actor)
            tell()
    finally:
        for actor in actors:  # on Ctrl+C too: an episode being stored is one transaction, kept or rolled back
            ray.kill(actor, no_restart=True)
    report.running = 0
    report.wall_seconds = time.monotonic() - started
    return report


def _reason(exc: BaseException) -> str:
    """The error a worker raised (podscope's message), else Ray's."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, BaseException):
        return str(cause) or type(cause).__name__
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
