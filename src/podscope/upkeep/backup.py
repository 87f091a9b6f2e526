"""`podscope backup DEST` and the file half of `podscope restore SRC`.

A backup is a folder: `podscope.db` (an online snapshot through SQLite's backup API: consistent as of one moment
while other processes go on writing), `config.toml`, the faiss vector index (copied under its lock; it is derived
from the vectors the database keeps, but training it again takes minutes at a million segments), the recordings in
the home's media folders that the snapshot's episodes name (under the same relative paths), and `manifest.json`
(written last) with the podscope version, the time, row counts and every file's size and sha256. Models are not
copied (they come from packages), nor recordings outside the home (the user's own files; listed as skipped). On a
PostgreSQL store the database is left to `pg_dump` and the backup holds the home's files only.

A restore checks every file against the manifest while copying it into a staging folder inside the home, and only
when all of them match moves them into place: a damaged backup changes nothing. A vector index that does not hold
exactly the snapshot's vectors (vectors written while the backup ran) is mended by the library after the restore.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from podscope.errors import InputError, StoreError
from podscope.recordings import MEDIA_FOLDERS
from podscope.search.engine import Search
from podscope.settings import load_settings
from podscope.store import PG_DUMP, StoreBackend, open_store
from podscope.upkeep.files import (
    CONFIG,
    DATABASE,
    INDEX,
    Manifest,
    copy_hashed,
    in_media,
    is_recording,
    read_manifest,
    sha256_of,
    write_manifest,
)
from podscope.upkeep.reports import BackupFile, BackupReport

Progress = Callable[[str, int, int], None]  # (step, done, total): "database" in pages, "files" in bytes
PG_GUIDANCE = (
    "The library's database is on a PostgreSQL server: this backup holds the home's files only. Copy the database"
    f" with {PG_DUMP}."
)


def _empty_dest(home: Path, dest: Path) -> bool:
    """Check where a backup may go; returns whether the folder is to be made."""
    if dest == home or dest.is_relative_to(home):
        raise InputError(f"{dest} is inside the home {home}: a backup there is lost with it; expected another folder")
    if not dest.exists():
        return True
    if not dest.is_dir():
        raise InputError(f"{dest} is a file: expected a new or empty folder for the backup")
    if any(dest.iterdir()):
        raise InputError(f"{dest} is not empty: expected a new or empty folder for the backup")
    return False


def backup(store: StoreBackend, search: Search, home: Path, dest: Path, hook: Progress | None = None) -> BackupReport:
    """Back up the library in `home` (on `store`, searched by `search`) into the new or empty folder `dest`."""
    t0 = time.perf_counter()
    home, dest = home.resolve(), dest.expanduser().resolve()
    try:
        if _empty_dest(home, dest):
            dest.mkdir(parents=True, mode=0o700)
    except OSError as exc:
        raise InputError(f"cannot make the backup folder {dest}: {exc.strerror or exc}") from exc
    try:
        return _backup(store, search, home, dest, hook, t0)
    except BaseException as exc:
        for child in dest.iterdir():  # what an unfinished backup wrote
            shutil.rmtree(child) if child.is_dir() else child.unlink()
        if isinstance(exc, OSError):  # a full disk, a folder without write access: one sentence, nothing half-made
            raise InputError(f"cannot write the backup in {dest}: {exc.strerror or exc}; nothing was kept") from exc
        raise


def _backup(
    store: StoreBackend, search: Search, home: Path, dest: Path, hook: Progress | None, t0: float
) -> BackupReport:
    maintenance = store.maintenance
    files: list[BackupFile] = []
    database = maintenance.engine == "sqlite"
    if database:
        part = dest / (DATABASE + ".part")
        snapshot = maintenance.snapshot(part, (lambda done, total: hook("database", done, total)) if hook else None)
        os.chmod(part, 0o600)
        os.replace(part, dest / DATABASE)
        files.append(BackupFile(DATABASE, (dest / DATABASE).stat().st_size, sha256_of(dest / DATABASE)))
        counts, sources = snapshot.counts, snapshot.sources
        with search.vectors.held() as index:
            if index is not None:
                name = f"{INDEX}/{index.name}"
                files.append(BackupFile(name, *copy_hashed(index, dest / name)))
    else:
        counts = store.episodes.counts()
        sources = tuple(source for _, source in maintenance.recording_sources())
    wanted: dict[str, Path] = {}
    skipped: list[str] = []
    if (home / CONFIG).is_file():
        wanted[CONFIG] = home / CONFIG
    for source in sources:
        if not is_recording(source):
            continue
        media = in_media(home, Path(source))
        if media is None:
            skipped.append(f"{source}: outside the home's media folders (not copied)")
        elif Path(source).is_file():
            wanted[media] = Path(source)
        else:
            skipped.append(f"{source}: gone")
    total = sum(path.stat().st_size for path in wanted.values())
    done = 0

    def copied(n: int) -> None:
        nonlocal done
        done += n
        if hook:
            hook("files", done, total)

    for rel, path in wanted.items():
        try:
            size, digest = copy_hashed(path, dest / rel, copied)
        except FileNotFoundError:  # removed since the snapshot (its episode deleted meanwhile)
            skipped.append(f"{path}: gone")
            continue
        files.append(BackupFile(rel, size, digest))
    write_manifest(dest, Manifest(str(home), maintenance.engine, database, counts, tuple(files), tuple(skipped)))
    return BackupReport(
        dest=str(dest),
        database=database,
        counts=counts,
        files=tuple(files),
        skipped=tuple(skipped),
        size=sum(f.size for f in files),
        seconds=time.perf_counter() - t0,
        guidance="" if database else PG_GUIDANCE,
    )


# -- restoring the files ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Restored:
    manifest: Manifest
    files: int
    size: int
    notes: tuple[str, ...]


def _occupied(home: Path) -> list[str]:
    """What the home holds already that a restore would replace or mix with."""
    held = []
    if (home / DATABASE).exists():
        try:
            store = open_store("", home)
        except StoreError:
            held.append(f"{DATABASE} (unreadable)")
        else:
            try:
                counts = store.episodes.counts()
                if counts["episodes"] or counts["podcasts"] or store.people.names() or store.feeds.list_feeds():
                    held.append(f"a library of {counts['episodes']} episodes")
            finally:
                store.close()
    for folder in MEDIA_FOLDERS:
        if (home / folder).is_dir() and any(p.is_file() for p in (home / folder).rglob("*")):
            held.append(f"files in {folder}/")
    return held


def _check_store(manifest: Manifest, home: Path, staging: Path, overrides: dict[str, Any] | None) -> None:
    """The store this home will use must be the kind the backup restores."""
    settings = load_settings(home if (home / CONFIG).exists() else staging, overrides)
    if manifest.database and settings.store_url:
        raise InputError(
            "the backup holds a SQLite library but store_url is set for this home: restore into a home without"
            " store_url, then move it with `podscope store copy --to URL`"
        )
    if not manifest.database and not settings.store_url:
        raise InputError(
            "the backup holds no database (the library was on PostgreSQL): restore the database with pg_restore,"
            " then restore the files with --store URL"
        )


def restore_files(
    source: Path, home: Path, *, force: bool, overrides: dict[str, Any] | None = None, hook: Progress | None = None
) -> Restored:
    """Verify every file of the backup at `source` and put it into `home` (see the module's docstring)."""
    source, home = source.expanduser().resolve(), home.resolve()
    manifest = read_manifest(source)
    held = _occupied(home)
    if held and not force:
        raise InputError(
            f"{home} is not empty ({', '.join(held)}): expected an empty home, or --force to replace its library"
        )
    staging = home / f".restore-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    total, done = sum(f.size for f in manifest.files), 0

    def copied(n: int) -> None:
        nonlocal done
        done += n
        if hook:
            hook("files", done, total)

    try:
        _stage(manifest, source, staging, copied)
        _check_store(manifest, home, staging, overrides)
        notes = _move_in(manifest, staging, home)
    except OSError as exc:
        raise InputError(f"cannot restore {source} into {home}: {exc.strerror or exc}") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return Restored(manifest, len(manifest.files), total, tuple(notes))


def _stage(manifest: Manifest, source: Path, staging: Path, copied: Callable[[int], None]) -> None:
    """Copy every file of the backup into `staging`, each checked against the manifest as it is read."""
    for f in manifest.files:
        path = source / f.path
        if not path.is_file():
            raise InputError(f"{f.path} is missing from the backup at {source}; nothing was restored")
        size, digest = copy_hashed(path, staging / f.path, copied)
        if (size, digest) != (f.size, f.sha256):
            raise InputError(
                f"{f.path} in the backup at {source} does not match its checksum in the manifest (the backup is"
                " damaged or was changed); nothing was restored"
            )


def _move_in(manifest: Manifest, staging: Path, home: Path) -> list[str]:
    notes = []
    if manifest.database:
        for leftover in ("-wal", "-shm", "-journal"):  # another database's log must never meet this file
            (home / (DATABASE + leftover)).unlink(missing_ok=True)
        shutil.rmtree(home / "index", ignore_errors=True)  # derived from the database it replaces
    for f in manifest.files:
        target = home / f.path
        if f.path == CONFIG and target.exists():
            if target.read_bytes() != (staging / f.path).read_bytes():
                notes.append(f"kept this home's {CONFIG}; the backup's differs")
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(staging / f.path, target)  # a media folder may be a link to another disk
    return notes
