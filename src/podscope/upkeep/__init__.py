"""Keeping a library safe over months: backups (`backup`), restoring them (`restore_files`) and checks with repairs
(`check`). The library calls these; they reach the store only through its contract (`store.maintenance`)."""

from __future__ import annotations

from podscope.upkeep.backup import PG_GUIDANCE, Progress, Restored, backup, restore_files
from podscope.upkeep.check import check
from podscope.upkeep.reports import CHECKS, BackupFile, BackupReport, CheckReport, Finding, FindingKind, RestoreReport

__all__ = [
    "CHECKS",
    "PG_GUIDANCE",
    "BackupFile",
    "BackupReport",
    "CheckReport",
    "Finding",
    "FindingKind",
    "Progress",
    "RestoreReport",
    "Restored",
    "backup",
    "check",
    "restore_files",
]
