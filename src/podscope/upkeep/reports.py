"""What a backup, a restore and a check report: frozen records, as everything the library hands out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

FindingKind = Literal[
    "integrity",  # the engine's own structures (SQLite's integrity_check; PostgreSQL: answers, migrations applied)
    "text index",  # the full-text index disagrees with the segments
    "missing vectors",  # segments without a stored sentence vector
    "vector index",  # the local faiss file disagrees with the stored vectors
    "orphans",  # rows whose parent row is gone
    "forgotten voiceprints",  # voiceprints still kept for a person who is gone
    "missing media",  # an episode's recording file is gone
    "unreferenced files",  # recordings in the home's media folders that no episode names
]
CHECKS: tuple[FindingKind, ...] = get_args(FindingKind)


@dataclass(frozen=True)
class Finding:
    """Something a check found wrong: `count` rows, entries or files, of which `repaired` were set right."""

    kind: FindingKind
    what: str  # one sentence
    count: int
    repairable: bool  # `check --repair` can set it right (unreferenced files: with --delete-unreferenced)
    repaired: int = 0
    examples: tuple[str, ...] = ()


@dataclass(frozen=True)
class CheckReport:
    location: str  # where the library is: the SQLite file, or the server without its password
    findings: tuple[Finding, ...]
    checked: tuple[FindingKind, ...]  # what was looked at: a kind checked without a finding is sound
    repaired: bool  # repairs were asked for
    seconds: float

    @property
    def ok(self) -> bool:
        """Nothing is left wrong (whatever was found was repaired)."""
        return all(f.repaired >= f.count for f in self.findings)


@dataclass(frozen=True)
class BackupFile:
    path: str  # relative to the backup folder and to the home it restores into, with forward slashes
    size: int
    sha256: str


@dataclass(frozen=True)
class BackupReport:
    dest: str
    database: bool  # the SQLite file is in it (not for a PostgreSQL store: pg_dump copies the database)
    counts: dict[str, int]
    files: tuple[BackupFile, ...]
    skipped: tuple[str, ...]  # recordings not copied: outside the home (the user's own files) or gone
    size: int  # bytes written
    seconds: float
    guidance: str = ""  # what else to do (on PostgreSQL: the pg_dump command)


@dataclass(frozen=True)
class RestoreReport:
    home: str
    source: str
    files: int
    size: int
    rehomed: int  # episodes whose recording path moved from the backed-up home to this one
    notes: tuple[str, ...]
    check: CheckReport
    seconds: float
