"""Backup, check and restore at library scale: how long `podscope backup`, `podscope check` and `podscope restore` take
on a library of 10,000 episodes (a million segments), and whether a backup taken while another process writes is
whole.

    .venv/bin/python bench/backup.py                          # 10,000 episodes (the library is built once, ~1 hour)
    .venv/bin/python bench/backup.py --episodes 1000          # a smaller library
    .venv/bin/python bench/backup.py --deep                   # also the deep check (FTS5 integrity-check)

The library is the one `bench/search.py` builds (`build_scale`: 100 segments an episode, 100 podcasts, 500 people,
2-3 attributed speakers an episode, Zipf-distributed words, a sentence vector per segment, the faiss index), written
through the store's API and kept in `--workdir` for the next run, plus `--media` episodes with a recording of
`--media-mb` MB each in HOME/uploads (a library of feed episodes keeps no audio unless keep_downloads is on; uploads
stay). Prints the sizes, then the time of:
- `Library.backup` (the database through SQLite's online backup API, the recordings, sha256 of everything);
- the same backup while another connection stores an episode after another (how many it stored meanwhile, and that
  the backup's counts are the moment it started);
- `Library.check` (each kind of check timed), and with --deep the FTS5 integrity-check too;
- `Library.restore` into a new home (verify and copy every file, check).
Without the vector index in the backup a restore would train it again: `--rebuild` times that too (minutes at a
million segments; the reason the backup keeps the index).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "src"))

from podscope.ingest import transcript_episode  # noqa: E402
from podscope.library import Library  # noqa: E402
from podscope.records import EpisodeMeta, Segment  # noqa: E402
from search import build_scale  # noqa: E402


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def _mb(n: float) -> str:
    return f"{n / 1e6:,.0f} MB"


def _recorded_episode(lib: Library, n: int, source: str) -> None:
    segments = [
        Segment(0.0, 5.0, "SPEAKER_00", f"Recorded episode number {n} begins."),
        Segment(5.0, 9.0, None, "Bye."),
    ]
    meta = EpisodeMeta(podcast="Uploads", title=f"Upload {n}", published=dt.date(2024, 1, 1), source=source)
    lib.store.episodes.save(transcript_episode(meta, segments, content_hash=f"up-{n}", language="en", source="bench"))


def build(home: Path, episodes: int, media: int, media_mb: float) -> dict[str, float]:
    """The library in `home`, built unless a finished one is there (bench-info.json)."""
    info_path = home / "bench-info.json"
    if info_path.exists():
        return {**json.loads(info_path.read_text()), "cached": 1.0}
    shutil.rmtree(home, ignore_errors=True)
    with Library(home) as lib:
        info = build_scale(lib, episodes * 100)
        rng = np.random.default_rng(1)
        uploads = home / "uploads"
        uploads.mkdir(parents=True, exist_ok=True)
        for n in range(media):
            path = uploads / f"upload-{n:04d}.mp3"
            path.write_bytes(rng.bytes(int(media_mb * 1e6)))  # incompressible, as audio is
            _recorded_episode(lib, n, str(path.resolve()))
        lib.search.index_pending()
    old = time.time() - 86400  # recordings added a day ago (newer ones may still be on their way in)
    for path in (home / "uploads").iterdir():
        os.utime(path, (old, old))
    result = {"build_s": info["build_s"], "index_s": info["index_s"]}
    info_path.write_text(json.dumps(result))
    return result


def timed_check(lib: Library, deep: bool = False) -> tuple[float, dict[str, float], bool]:
    marks: list[tuple[str, float]] = []
    t0 = time.perf_counter()
    report = lib.check(deep=deep, hook=lambda step, _done, _total: marks.append((step, time.perf_counter())))
    total = time.perf_counter() - t0
    per = {step: marks[i + 1][1] - at for i, (step, at) in enumerate(marks[:-1])}
    return total, per, report.ok


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--episodes", type=int, default=10_000, help="episodes of 100 segments (default 10,000)")
    ap.add_argument("--media", type=int, default=100, help="episodes with a recording in HOME/uploads")
    ap.add_argument("--media-mb", type=float, default=1.0, help="size of each of those recordings, MB")
    ap.add_argument("--deep", action="store_true", help="also time the deep check (FTS5 integrity-check)")
    ap.add_argument("--rebuild", action="store_true", help="also time training the vector index again")
    ap.add_argument("--workdir", type=Path, default=ROOT / "bench" / "out" / "backup")
    args = ap.parse_args()
    home = args.workdir / f"library-{args.episodes}"
    t0 = time.perf_counter()
    info = build(home, args.episodes, args.media, args.media_mb)
    built = "cached" if info.get("cached") else f"built in {time.perf_counter() - t0:,.0f} s"
    work = args.workdir / "run"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)

    with Library(home) as lib:
        counts = lib.counts()
        db = sum(p.stat().st_size for p in home.glob("podscope.db*"))
        index = _size(home / "index")
        media = _size(home / "uploads")
        print(
            f"Library: {counts['episodes']:,} episodes, {counts['segments']:,} segments ({built}); database"
            f" {_mb(db)}, vector index {_mb(index)}, recordings {_mb(media)}"
            f" ({args.media} files), models {_mb(_size(home / 'models'))} (not backed up)"
        )

        report = lib.backup(work / "backup")
        rate = report.size / report.seconds / 1e6
        print(
            f"\nbackup                 {report.seconds:7.1f} s  {_mb(report.size)} in {len(report.files)} files"
            f" ({rate:,.0f} MB/s, sha256 included)"
        )

        total, per, ok = timed_check(lib)
        steps = ", ".join(f"{k} {v:.1f}" for k, v in per.items() if k != "done")
        print(f"check                  {total:7.1f} s  {'ok' if ok else 'PROBLEMS'} ({steps} s)")
        if args.deep:
            total, per, ok = timed_check(lib, deep=True)
            status = "ok" if ok else "PROBLEMS"
            print(f"check --deep           {total:7.1f} s  {status} (text index {per['text index']:.1f} s)")

    target = work / "restored"
    target.mkdir()
    (target / "models").symlink_to((home / "models").resolve(), target_is_directory=True)
    restored = Library.restore(work / "backup", target)
    print(
        f"restore                {restored.seconds:7.1f} s  {_mb(restored.size)} verified and moved in, then checked in"
        f" {restored.check.seconds:.1f} s ({'ok' if restored.check.ok else 'PROBLEMS'})"
    )
    if args.rebuild:
        with Library(target) as lib:
            t1 = time.perf_counter()
            lib.search.rebuild_index()
            print(f"vector index rebuilt   {time.perf_counter() - t1:7.1f} s  (what a restore without it would add)")
    backup_while_writing(target, work / "backup-busy")
    shutil.rmtree(work, ignore_errors=True)


def backup_while_writing(home: Path, dest: Path) -> None:
    """A backup of the library in `home` (a throwaway copy) while another connection stores episodes."""
    stored = 0
    stop = threading.Event()

    def write() -> None:  # another process's connection, storing episodes one transaction at a time
        nonlocal stored
        with Library(home) as other:
            while not stop.is_set():
                _recorded_episode(other, 1_000_000 + stored, "bench")
                stored += 1

    with Library(home) as lib:
        writer = threading.Thread(target=write)
        writer.start()
        time.sleep(0.5)
        before = stored
        try:
            busy = lib.backup(dest)
        finally:
            stop.set()
            writer.join()
        print(
            f"backup while writing   {busy.seconds:7.1f} s  another connection stored {stored - before} episodes"
            f" meanwhile; the backup holds the {busy.counts['episodes']:,} episodes there were when it began"
        )


if __name__ == "__main__":
    main()
