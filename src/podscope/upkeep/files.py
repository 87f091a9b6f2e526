"""The files of a backup and of a home: copies checked by sha256, the manifest, and which recordings the home's media
folders hold, which the library names, and which are gone."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from podscope import __version__
from podscope.errors import InputError
from podscope.recordings import MEDIA_FOLDERS, media_type
from podscope.upkeep.reports import BackupFile

DATABASE = "podscope.db"
CONFIG = "config.toml"
INDEX = "index"  # the vector index's folder
MANIFEST = "manifest.json"
FORMAT = "podscope-backup"
FORMAT_VERSION = 1
CHUNK = 1 << 20
YOUNG_SECONDS = 3600  # a recording this new may still be on its way in (an upload or a download being processed)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def copy_hashed(src: Path, dst: Path, progress: Callable[[int], None] | None = None) -> tuple[int, str]:
    """Copy `src` to a new private file `dst` (mode 0600: backups hold voiceprints), hashing what is read; returns
    the bytes copied and their sha256."""
    digest = hashlib.sha256()
    size = 0
    dst.parent.mkdir(parents=True, exist_ok=True)
    with open(src, "rb") as f, open(os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as out:
        while block := f.read(CHUNK):
            out.write(block)
            digest.update(block)
            size += len(block)
            if progress:
                progress(len(block))
    return size, digest.hexdigest()


# -- the manifest -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Manifest:
    home: str  # the home it was taken from (recording paths under it move to the home it is restored into)
    store: str  # "sqlite" or "postgresql"
    database: bool
    counts: dict[str, int]
    files: tuple[BackupFile, ...]
    skipped: tuple[str, ...]
    created: str = ""
    podscope: str = __version__


def write_manifest(dest: Path, manifest: Manifest) -> None:
    data: dict[str, Any] = {"format": FORMAT, "format_version": FORMAT_VERSION, **asdict(manifest)}
    data["created"] = data["created"] or dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    part = dest / (MANIFEST + ".part")
    with open(os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
        json.dump(data, f, indent=2, ensure_ascii=False)
    os.replace(part, dest / MANIFEST)  # last: a folder without it is not a finished backup


def _safe(rel: str) -> str:
    """A manifest path that stays inside the home: the database, the settings, the vector index, or a file in a media
    folder."""
    parts = PurePosixPath(rel).parts
    in_folder = len(parts) >= 2 and parts[0] in MEDIA_FOLDERS and all(p not in ("", ".", "..") for p in parts)
    index = len(parts) == 2 and parts[0] == INDEX and parts[1].endswith(".faiss") and parts[1][0] != "."
    if rel in (DATABASE, CONFIG) or index or (in_folder and not rel.startswith("/")):
        return rel
    raise InputError(f"the backup's manifest names {rel!r}, which is not a file a podscope home holds")


def read_manifest(source: Path) -> Manifest:
    path = source / MANIFEST
    if not source.is_dir():
        raise InputError(f"{source}: no such folder; expected a folder made by `podscope backup`")
    if not path.is_file():
        raise InputError(f"{source} has no {MANIFEST}: it is not a finished podscope backup")
    try:
        data = json.loads(path.read_text())
        if data.get("format") != FORMAT:
            raise ValueError("not a podscope backup manifest")
        if int(data.get("format_version", 0)) > FORMAT_VERSION:
            raise ValueError(f"made by a newer podscope ({data.get('podscope')}): upgrade podscope to restore it")
        files = tuple(BackupFile(_safe(str(f["path"])), int(f["size"]), str(f["sha256"])) for f in data["files"])
        return Manifest(
            home=str(data["home"]),
            store=str(data["store"]),
            database=bool(data["database"]),
            counts={str(k): int(v) for k, v in data["counts"].items()},
            files=files,
            skipped=tuple(str(s) for s in data.get("skipped", ())),
            created=str(data.get("created", "")),
            podscope=str(data.get("podscope", "")),
        )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InputError(f"{path} cannot be read ({exc}): expected the manifest `podscope backup` writes") from exc


# -- recordings in a home ---------------------------------------------------------------------------------------------


def is_recording(source: str) -> bool:
    """Whether an episode's source names a local recording (not a URL, a transcript or nothing)."""
    return bool(source) and "://" not in source and Path(source).is_absolute() and media_type(Path(source)) is not None


def in_media(home: Path, path: Path) -> str | None:
    """`path` relative to the home (with forward slashes) when it is in one of the home's media folders."""
    try:
        rel = path.resolve().relative_to(home.resolve())
    except ValueError:
        return None
    return rel.as_posix() if len(rel.parts) >= 2 and rel.parts[0] in MEDIA_FOLDERS else None


def media_files(home: Path) -> Iterable[Path]:
    """Recordings in the home's media folders (not partial downloads, not ones that may still be on their way in)."""
    young = time.time() - YOUNG_SECONDS
    for folder in MEDIA_FOLDERS:
        for path in sorted((home / folder).rglob("*")):
            if (
                path.is_file()
                and not path.is_symlink()
                and media_type(path) is not None  # a partial download ends in .part: not a recording
                and path.stat().st_mtime < young
            ):
                yield path
