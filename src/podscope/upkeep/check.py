"""`podscope check [--repair]`: is the library sound, do its indexes agree with it, and are its files where it says?

Each kind of check (`reports.CHECKS`) gives findings; `--repair` then sets right what can be rebuilt or removed without
losing anything a user made, in an order where one repair cannot undo another: orphaned rows (removed as their
foreign keys' ON DELETE would have, a gone person's voiceprints first), the text index (rebuilt from the segments),
missing sentence vectors (embedded, as after an ingest), the vector index (rebuilt from the stored vectors), and,
only when asked, recordings nothing names. Each repaired kind is checked again, so the report says what is left.
A database whose own integrity check fails is not repaired at all: writing into it could make it worse.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from podscope.errors import PodscopeError
from podscope.search.engine import Search
from podscope.search.vectors import VectorIndex
from podscope.settings import Settings
from podscope.store import StoreBackend
from podscope.upkeep.files import in_media, is_recording, media_files
from podscope.upkeep.reports import CHECKS, CheckReport, Finding, FindingKind

Progress = Callable[[str, int, int], None]  # (check, done, total)
EXAMPLES = 5


@dataclass
class Checker:
    store: StoreBackend
    search: Search
    home: Path
    settings: Settings
    deep: bool = False

    @property
    def local_index(self) -> bool:
        return isinstance(self.search.vectors, VectorIndex)

    def kinds(self) -> tuple[FindingKind, ...]:
        return tuple(k for k in CHECKS if k != "vector index" or self.local_index)

    def detect(self, kind: FindingKind) -> list[Finding]:
        """The findings of one kind; a check that cannot run is itself a finding."""
        try:
            return [f for f in getattr(self, "_" + kind.replace(" ", "_"))() if f.count]
        except PodscopeError as exc:
            return [Finding(kind, f"could not be checked: {exc}", 1, False)]

    def _integrity(self) -> list[Finding]:
        problems = self.store.maintenance.integrity()
        what = f"the database reports {len(problems)} problems: restore a backup (`podscope restore`)"
        return [Finding("integrity", what, len(problems), False, examples=tuple(problems[:EXAMPLES]))]

    def _text_index(self) -> list[Finding]:
        state = self.store.maintenance.text_index(self.deep)
        what = (
            f"the text index has {state.indexed} entries for {state.segments} segments: {state.missing} segments"
            f" missing, {state.extra} entries of segments that are gone"
        )
        if state.problems:
            what += "; " + "; ".join(state.problems)
        return [Finding("text index", what, state.missing + state.extra + len(state.problems), True)]

    def _missing_vectors(self) -> list[Finding]:
        n = self.store.maintenance.missing_vectors()
        what = f"{n} segments have no sentence vector: semantic search misses them"
        return [Finding("missing vectors", what, n, True)]

    def _vector_index(self) -> list[Finding]:
        stored = self.store.maintenance.vector_ids()
        try:
            held = self.search.index_ids()
        except RuntimeError as exc:  # faiss's word for a file it cannot read
            return [Finding("vector index", f"the vector index file cannot be read ({exc})", max(1, stored.size), True)]
        if held is None:
            what = f"there is no vector index file for the {len(stored)} stored vectors (it is built on first search)"
            return [Finding("vector index", what, len(stored), True)]
        lacking = int(np.setdiff1d(stored, held, assume_unique=True).size)
        stale = int(np.setdiff1d(held, stored, assume_unique=True).size)
        what = (
            f"the vector index holds {held.size} of the {stored.size} stored vectors: {lacking} missing, {stale} of"
            " segments that are gone"
        )
        return [Finding("vector index", what, lacking + stale, True)]

    def _orphans(self) -> list[Finding]:
        return [
            Finding("orphans", f"{o.count} {o.table} rows name {o.parent} that are gone ({o.column})", o.count, True)
            for o in self.store.maintenance.orphans()
        ]

    def _forgotten_voiceprints(self) -> list[Finding]:
        n = self.store.maintenance.forgotten_voiceprints()
        what = f"{n} episode speakers keep the voiceprint of a person who is gone (removed as `people forget` would)"
        return [Finding("forgotten voiceprints", what, n, True)]

    def _missing_media(self) -> list[Finding]:
        gone = []
        for episode_id, source in self.store.maintenance.recording_sources():
            if not is_recording(source) or Path(source).is_file():
                continue
            rel = in_media(self.home, Path(source))
            if rel is not None and rel.startswith("downloads/") and not self.settings.keep_downloads:
                continue  # removed after processing, as keep_downloads = false says
            gone.append(f"episode {episode_id}: {source}")
        what = f"{len(gone)} episodes' recordings are gone: their transcripts stay, but there is nothing to play"
        return [Finding("missing media", what, len(gone), False, examples=tuple(gone[:EXAMPLES]))]

    def unreferenced(self) -> list[Path]:
        """Recordings in the media folders that no episode names and no queued or running job holds (an upload
        waiting to be processed)."""
        named = {
            Path(source).resolve() for _, source in self.store.maintenance.recording_sources() if is_recording(source)
        }
        named |= {Path(held).resolve() for held in self.store.jobs.held_inputs()}
        return [path for path in media_files(self.home) if path.resolve() not in named]

    def delete_unreferenced(self) -> None:
        for path in self.unreferenced():
            path.unlink(missing_ok=True)

    def _unreferenced_files(self) -> list[Finding]:
        files = self.unreferenced()
        megabytes = sum(p.stat().st_size for p in files) / 1e6
        what = (
            f"{len(files)} recordings ({megabytes:.1f} MB) in the home's media folders belong to no episode"
            " (--delete-unreferenced removes them)"
        )
        examples = tuple(str(p.relative_to(self.home)) for p in files[:EXAMPLES])
        return [Finding("unreferenced files", what, len(files), True, examples=examples)]


def check(
    store: StoreBackend,
    search: Search,
    home: Path,
    settings: Settings,
    *,
    repair: bool = False,
    delete_unreferenced: bool = False,
    deep: bool = False,
    hook: Progress | None = None,
) -> CheckReport:
    t0 = time.perf_counter()
    checker = Checker(store, search, home, settings, deep)
    kinds = checker.kinds()
    found: dict[FindingKind, list[Finding]] = {}
    for i, kind in enumerate(kinds):
        if hook:
            hook(kind, i, len(kinds))
        found[kind] = checker.detect(kind)
    if hook:
        hook("done", len(kinds), len(kinds))
    if repair and not found["integrity"]:
        found = _repair(checker, found, delete_unreferenced, hook)
    findings = tuple(f for kind in kinds for f in found[kind])
    return CheckReport(store.location, findings, kinds, repair, time.perf_counter() - t0)


def _repair(
    checker: Checker, found: dict[FindingKind, list[Finding]], delete_unreferenced: bool, hook: Progress | None
) -> dict[FindingKind, list[Finding]]:
    """Repair in order (each step looks again once an earlier one changed something: deleting orphaned segments
    touches the text index, embedding touches the vector index), then check every repaired kind again and note how
    many of what was found were set right."""
    maintenance, search = checker.store.maintenance, checker.search
    steps: list[tuple[tuple[FindingKind, ...], Callable[[], object]]] = [
        (("orphans", "forgotten voiceprints"), maintenance.delete_orphans),
        (("text index",), maintenance.rebuild_text_index),
        (("missing vectors",), search.index_pending),
        (("vector index",), search.mend_index),
    ]
    if delete_unreferenced:
        steps.append((("unreferenced files",), checker.delete_unreferenced))
    acted: list[FindingKind] = []
    for kinds, action in steps:
        kinds = tuple(k for k in kinds if k in found)
        now = {k: (checker.detect(k) if acted else found[k]) for k in kinds}
        if not any(now.values()):
            continue
        if hook:
            hook(f"repairing {kinds[0]}", 0, 1)
        try:
            action()
        except PodscopeError as exc:  # say so beside what it was to repair, and go on with the rest
            for k in kinds:
                found[k] = [replace(f, what=f"{f.what} (the repair failed: {exc})") for f in found[k]]
            continue
        acted.extend(kinds)
    # every kind acted on, and every repairable one found (an earlier repair may have set it right: embedding the
    # missing vectors can leave the vector index whole)
    for kind in dict.fromkeys([*acted, *(k for k, fs in found.items() if any(f.repairable for f in fs))]):
        after = checker.detect(kind)
        left = sum(f.count for f in after)
        if not found[kind]:  # broken and set right by an earlier repair: report only what is left
            found[kind] = after
            continue
        repaired = max(0, sum(f.count for f in found[kind]) - left)
        updated = []
        for f in found[kind]:  # spread over the kind's findings in order (orphans come one per foreign key)
            share = min(f.count, repaired)
            repaired -= share
            updated.append(replace(f, repaired=share))
        found[kind] = updated
    return found
