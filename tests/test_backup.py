"""Backups, restores and checks (`podscope backup | restore | check`) on real SQLite files, through the library and the
real command line: a backup is consistent while other connections write, a restore gives back the same library in
another home, a damaged backup is refused, and a check finds (and --repair sets right) what was broken on purpose."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from helpers import DATA, cli_here, write_wav
from podscope.errors import InputError
from podscope.ingest import transcript_episode
from podscope.library import Library
from podscope.records import EpisodeMeta, Segment
from podscope.search.engine import SearchOptions
from podscope.store import maintenance as sqlite_maintenance
from podscope.store.upkeep import FOREIGN_KEYS

SRT = DATA / "transcripts" / "example.srt"
OLD = time.time() - 2 * 86400  # a file this old is not one still on its way in


@dataclasses.dataclass(frozen=True)
class Built:
    home: Path  # the library as built (its `models` folder holds the exported sentence model)
    srt: int  # the episode imported from example.srt
    talk: int  # an episode made from a recording in HOME/uploads, with voiceprints, one of them attributed
    fetched: int  # an episode from a download that keep_downloads = false removed


def _episode(lib: Library, title: str, source: Path, digest: str) -> int:
    segments = [
        Segment(0.0, 4.0, "SPEAKER_00", "The lighthouse keeper counted every passing ship."),
        Segment(4.5, 9.0, "SPEAKER_01", "Meanwhile the harbour cat slept on the warm ropes."),
    ]
    meta = EpisodeMeta(podcast="Harbour Tales", title=title, published=None, source=str(source))
    processed = transcript_episode(meta, segments, content_hash=digest, language="en", source="test")
    rng = np.random.default_rng(len(title))
    speakers = tuple(
        dataclasses.replace(s, embedding=rng.normal(size=192).astype(np.float32))
        for s in processed.diarization.speakers
    )
    processed = dataclasses.replace(
        processed, diarization=dataclasses.replace(processed.diarization, speakers=speakers)
    )
    return lib.store.episodes.save(processed)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    home = tmp_path_factory.mktemp("backup") / "home"
    with Library(home) as lib:
        srt = lib.import_transcript(SRT, podcast="Buzzcast", title="Rookie mistakes", published="2023-03-01").episode.id
        (home / "uploads").mkdir()
        upload = write_wav(home / "uploads" / "talk.wav", np.zeros(16000, np.float32))
        talk = _episode(lib, "Harbour talk", upload, "talk")
        fetched = _episode(lib, "Fetched", home / "downloads" / "1" / "fetched.mp3", "fetched")
        person = lib.store.people.create("Mara Quell")
        lib.store.people.set_attribution(
            lib.store.people.find_speaker(talk, "SPEAKER_00"), person.id, score=0.8, tier="matched", reason="test"
        )
        lib.search.index_pending()
    os.utime(upload, (OLD, OLD))
    return Built(home, srt, talk, fetched)


def copy_home(built: Built, home: Path) -> Path:
    """A copy of the built home (its exported model shared, not copied), as a library of its own."""
    shutil.copytree(built.home, home, ignore=shutil.ignore_patterns("models"))
    (home / "models").symlink_to(built.home / "models", target_is_directory=True)
    with Library(home) as lib:  # the recordings' paths move with the home, as a restore moves them
        lib.store.maintenance.rehome(str(built.home), str(home))
    return home


@pytest.fixture()
def home(built: Built, tmp_path: Path) -> Path:
    return copy_home(built, tmp_path / "home")


@pytest.fixture()
def lib(home: Path) -> Iterator[Library]:
    with Library(home) as library:
        yield library


def raw(home: Path) -> sqlite3.Connection:
    """Another connection to the library file, as the sqlite3 shell opens it (foreign keys off)."""
    return sqlite3.connect(home / "podscope.db", isolation_level=None, timeout=30, check_same_thread=False)


def hits(lib: Library, text: str, mode: str = "text") -> list[tuple[int, float, str]]:
    result = lib.search.search(text, SearchOptions(mode=mode, limit=20))  # type: ignore[arg-type]
    return [(h.episode_id, h.start, h.text) for h in result.hits]


# -- the store's side -------------------------------------------------------------------------------------------------


def test_every_foreign_key_of_the_schema_is_checked_for_orphans(lib: Library) -> None:
    with raw(lib.home) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        schema = {
            (table, r[3], r[2], r[6].lower())
            for table in tables
            for r in conn.execute(f"PRAGMA foreign_key_list({table})")
        }
    assert schema == {(fk.table, fk.column, fk.parent, fk.on_delete) for fk in FOREIGN_KEYS}


# -- backup -----------------------------------------------------------------------------------------------------------


def test_a_backup_is_one_moment_while_another_connection_writes(
    lib: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_maintenance, "SNAPSHOT_PAGES", 2)  # many steps, with writes between them
    before = lib.counts()
    holder = raw(lib.home)
    holder.execute("BEGIN IMMEDIATE")  # a write transaction open when the backup starts, until it is half done
    holder.execute("INSERT INTO podcasts (title) VALUES ('Uncommitted')")
    writer = raw(lib.home)
    pages: list[tuple[int, int]] = []
    stop = threading.Event()

    def step(name: str, done: int, total: int) -> None:
        if name == "database":
            pages.append((done, total))
            if done >= total // 2 and holder.in_transaction:
                holder.execute("ROLLBACK")
                time.sleep(0.05)  # the writer commits meanwhile

    def keep_writing() -> None:  # commits on another connection all along (once the holder lets it)
        while not stop.is_set():
            writer.execute("INSERT INTO people (name) VALUES (?)", (f"Writer {time.monotonic_ns()}",))

    thread = threading.Thread(target=keep_writing)
    thread.start()
    try:
        report = lib.backup(tmp_path / "backup", step)
    finally:
        stop.set()
        thread.join()
    assert not holder.in_transaction and lib.counts()["episodes"] == before["episodes"]
    with raw(lib.home) as conn:
        assert conn.execute("SELECT COUNT(*) FROM people").fetchone()[0] > report.counts["people"]  # written on
    dones = [d for d, _ in pages]
    assert len(pages) > 10 and dones == sorted(dones) and dones[-1] == pages[-1][1]  # stepped through, never restarted
    with sqlite3.connect(tmp_path / "backup" / "podscope.db") as copy:
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert copy.execute("SELECT COUNT(*) FROM podcasts WHERE title = 'Uncommitted'").fetchone()[0] == 0
        people = copy.execute("SELECT COUNT(*) FROM people").fetchone()[0]
        episodes = copy.execute("SELECT COUNT(*) FROM episodes").fetchone()[0]
    assert report.counts["people"] == people and episodes == before["episodes"] == report.counts["episodes"]
    manifest = json.loads((tmp_path / "backup" / "manifest.json").read_text())
    assert {f["path"] for f in manifest["files"]} == {"podscope.db", "index/segments.faiss", "uploads/talk.wav"}
    assert manifest["counts"] == report.counts and manifest["podscope"]
    assert not any(p.name == "models" for p in (tmp_path / "backup").rglob("*"))
    assert (tmp_path / "backup").stat().st_mode & 0o077 == 0  # voiceprints: the owner's alone


def test_backup_refuses_a_folder_that_is_not_empty_or_inside_the_home(
    lib: Library, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    code, _, err = cli_here(capsys, "backup", tmp_path / "full", "--home", lib.home)
    assert code == 1 and "is not empty: expected a new or empty folder" in err and "Traceback" not in err
    assert err.count("\n") == 1
    code, _, err = cli_here(capsys, "backup", lib.home / "backups" / "one", "--home", lib.home)
    assert code == 1 and "inside the home" in err


# -- restore ----------------------------------------------------------------------------------------------------------


def test_restore_into_another_home_gives_back_the_same_library(
    lib: Library, tmp_path: Path, capsys: pytest.CaptureFixture[str], built: Built
) -> None:
    code, out, _ = cli_here(capsys, "backup", tmp_path / "backup", "--home", lib.home)
    assert code == 0 and "Backed up the database, the vector index, 1 recordings (" in out
    target = tmp_path / "elsewhere"
    target.mkdir()
    (target / "models").symlink_to(built.home / "models", target_is_directory=True)  # a home with models is empty
    code, out, err = cli_here(capsys, "restore", tmp_path / "backup", "--home", target, "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["ok"] and report["rehomed"] == 2  # the upload, and the download keep_downloads = false removed
    assert report["files"] == 3  # the database, the vector index, the upload
    with Library(target) as back:
        moved = {e.id: e.source for e in back.episodes() if e.source.startswith(str(target))}
        assert moved == {e.id: e.source.replace(str(lib.home), str(target)) for e in lib.episodes() if e.id in moved}
        assert sorted(moved) == [built.talk, built.fetched]
        unmoved = [dataclasses.replace(e, source="") if e.id in moved else e for e in back.episodes()]
        assert unmoved == [dataclasses.replace(e, source="") if e.id in moved else e for e in lib.episodes()]
        for query, mode in [("rookie mistakes", "text"), ("harbour cat", "hybrid"), ("a sleeping animal", "semantic")]:
            assert hits(back, query, mode) == hits(lib, query, mode) != []
        assert back.recording(back.episode(built.talk)) == (target / "uploads" / "talk.wav").resolve()
        assert (target / "uploads" / "talk.wav").read_bytes() == (lib.home / "uploads" / "talk.wav").read_bytes()


def test_a_vector_index_behind_the_database_is_mended_by_the_restore(lib: Library, tmp_path: Path) -> None:
    lib.search.forget_segments([1, 2])  # as when vectors are stored while the backup runs, before the index has them
    lib.backup(tmp_path / "backup")
    report = Library.restore(tmp_path / "backup", tmp_path / "restored")
    assert report.check.ok
    with Library(tmp_path / "restored") as back:
        held = back.search.index_ids()
        assert held is not None and held.size == back.counts()["segments"] and {1, 2} <= set(held.tolist())


def test_a_damaged_backup_is_refused_and_nothing_is_restored(
    lib: Library, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lib.backup(tmp_path / "backup")
    media = tmp_path / "backup" / "uploads" / "talk.wav"
    data = bytearray(media.read_bytes())
    data[100] ^= 0xFF
    media.write_bytes(bytes(data))
    target = tmp_path / "fresh"
    code, _, err = cli_here(capsys, "restore", tmp_path / "backup", "--home", target)
    assert code == 1 and "uploads/talk.wav in the backup" in err and "does not match its checksum" in err
    assert "nothing was restored" in err and "Traceback" not in err
    assert sorted(p.name for p in target.iterdir()) == []
    manifest = tmp_path / "backup" / "manifest.json"
    manifest.write_text(manifest.read_text().replace('"path": "uploads/talk.wav"', '"path": "../../etc/passwd"'))
    with pytest.raises(InputError, match="not a file a podscope home holds"):
        Library.restore(tmp_path / "backup", target)
    (tmp_path / "backup" / "manifest.json").unlink()
    with pytest.raises(InputError, match="not a finished podscope backup"):
        Library.restore(tmp_path / "backup", target)


def test_restore_refuses_a_home_with_a_library_unless_forced(lib: Library, tmp_path: Path, built: Built) -> None:
    lib.backup(tmp_path / "backup")
    other = copy_home(built, tmp_path / "other")
    with Library(other) as there:
        there.delete_episode(built.srt)
    with pytest.raises(InputError, match=r"is not empty \(a library of 2 episodes, files in uploads/\).*--force"):
        Library.restore(tmp_path / "backup", other)
    report = Library.restore(tmp_path / "backup", other, force=True)
    assert report.check.ok
    with Library(other) as there:
        assert [e.title for e in there.episodes()] == [e.title for e in lib.episodes()]


# -- check ------------------------------------------------------------------------------------------------------------


def _findings(out: str) -> dict[str, dict[str, int]]:
    """count and repaired per kind, summed over the kind's findings."""
    found: dict[str, dict[str, int]] = {}
    for f in json.loads(out)["findings"]:
        kind = found.setdefault(f["kind"], {"count": 0, "repaired": 0})
        kind["count"] += f["count"]
        kind["repaired"] += f["repaired"]
    return found


def test_a_sound_library_checks_clean(lib: Library, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli_here(capsys, "check", "--home", lib.home)
    assert code == 0 and "no problems found" in out  # the download keep_downloads removed is not missing


def test_check_finds_what_was_broken_and_repair_sets_right_what_can_be_rebuilt(
    lib: Library, built: Built, capsys: pytest.CaptureFixture[str]
) -> None:
    home = lib.home
    segment = lib.search.search("rookie", SearchOptions(mode="text")).hits[0].segment_id
    with raw(home) as conn:
        voiceprints = conn.execute("SELECT COUNT(*) FROM episode_speakers WHERE embedding IS NOT NULL").fetchone()[0]
        conn.execute("DELETE FROM segments_fts WHERE rowid = ?", (segment,))  # the text index disagrees
        conn.execute("DELETE FROM people WHERE name = 'Mara Quell'")  # by hand, foreign keys off: orphans
        conn.execute("INSERT INTO credits (episode_id, person_id, role) VALUES (999, 1, 'host')")
        conn.execute("DELETE FROM segment_vectors WHERE segment_id IN (SELECT id FROM segments LIMIT 3)")
    lib.close()
    (home / "uploads" / "talk.wav").rename(home / "uploads" / "moved.wav")  # missing, and one nobody names
    os.utime(home / "uploads" / "moved.wav", (OLD, OLD))
    code, out, _ = cli_here(capsys, "check", "--home", home, "--json")
    assert code == 1
    assert _findings(out) == {
        "text index": {"count": 1, "repaired": 0},
        "missing vectors": {"count": 3, "repaired": 0},
        "vector index": {"count": 3, "repaired": 0},
        "orphans": {"count": 3, "repaired": 0},  # the attribution, its history row, the credit
        "forgotten voiceprints": {"count": 1, "repaired": 0},
        "missing media": {"count": 1, "repaired": 0},
        "unreferenced files": {"count": 1, "repaired": 0},
    }
    orphans = [f for f in json.loads(out)["findings"] if f["kind"] == "orphans"]
    assert [f["what"] for f in orphans] == [
        "1 attributions rows name people that are gone (person_id)",
        "1 attribution_log rows name people that are gone (person_after)",
        "1 credits rows name episodes that are gone (episode_id)",
    ]

    code, out, _ = cli_here(capsys, "check", "--home", home, "--repair", "--json")
    assert code == 1  # what cannot be rebuilt remains: the recording, and the file nobody names
    found = _findings(out)
    assert {kind: f["repaired"] == f["count"] for kind, f in found.items()} == {
        "text index": True,
        "missing vectors": True,
        "vector index": True,
        "orphans": True,
        "forgotten voiceprints": True,
        "missing media": False,
        "unreferenced files": False,
    }
    with Library(home) as again, raw(home) as conn:
        assert segment in [h.segment_id for h in again.search.search("rookie", SearchOptions(mode="text")).hits]
        held = conn.execute("SELECT COUNT(*) FROM episode_speakers WHERE embedding IS NOT NULL").fetchone()[0]
        assert held == voiceprints - 1
        gone = "SELECT COUNT(*) FROM attributions WHERE person_id NOT IN (SELECT id FROM people)"
        assert conn.execute(gone).fetchone()[0] == 0
        assert conn.execute("SELECT COUNT(*) FROM credits").fetchone()[0] == 0
    code, out, _ = cli_here(capsys, "check", "--home", home, "--repair", "--delete-unreferenced")
    assert code == 1 and not (home / "uploads" / "moved.wav").exists()
    assert "missing media" in out and "episode" in out and "1 problems remain" in out
    code, _, err = cli_here(capsys, "check", "--home", home, "--delete-unreferenced")
    assert code == 2 and "give --repair too" in err


def test_a_vector_index_that_lost_entries_is_rebuilt(lib: Library) -> None:
    lib.search.forget_segments([1, 2])
    report = lib.check()
    assert [(f.kind, f.count) for f in report.findings] == [("vector index", 2)] and not report.ok
    repaired = lib.check(repair=True)
    assert repaired.ok and [(f.kind, f.repaired) for f in repaired.findings] == [("vector index", 2)]
    (lib.home / "index" / "segments.faiss").write_bytes(b"not an index")
    with Library(lib.home) as other:  # another process, which has not read the index before
        (finding,) = other.check().findings
        assert finding.kind == "vector index" and "cannot be read" in finding.what
        assert other.check(repair=True).ok and other.check().ok


def test_the_deep_check_reads_every_text_index_entry(lib: Library) -> None:
    with raw(lib.home) as conn:  # the text changed under the index: the counts agree, the entries do not
        conn.execute("DROP TRIGGER segments_fts_update")
        conn.execute("UPDATE segments SET text = 'zebra crossing' WHERE id = 1")
    assert lib.check().ok
    report = lib.check(deep=True)
    assert [f.kind for f in report.findings] == ["text index"] and "FTS5 integrity-check" in report.findings[0].what
    assert lib.check(deep=True, repair=True).ok and lib.check(deep=True).ok


def test_a_damaged_database_is_reported_and_not_repaired(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with raw(home) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page = conn.execute("PRAGMA page_size").fetchone()[0]
        root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'segments_episode'").fetchone()[0]
    with open(home / "podscope.db", "r+b") as f:  # an index page overwritten
        f.seek((root - 1) * page)
        f.write(b"\xff" * page)
    code, out, err = cli_here(capsys, "check", "--home", home, "--repair", "--json")
    assert code == 1 and "Traceback" not in err
    report = json.loads(out)
    assert report["findings"][0]["kind"] == "integrity" and report["findings"][0]["count"] > 0
    assert all(f["repaired"] == 0 for f in report["findings"])


# -- on PostgreSQL ----------------------------------------------------------------------------------------------------


@pytest.mark.postgres
def test_on_postgresql_the_check_runs_and_the_backup_holds_the_home_s_files(
    home: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    psycopg = pytest.importorskip("psycopg", reason="pip install 'podscope[postgres]'")
    url: str = request.getfixturevalue("pg_url")
    with Library(home) as lite:
        lite.copy_store(url)
    with Library(home, settings={"store_url": url}) as lib:
        assert lib.check().ok and "vector index" not in lib.check().checked  # the server keeps that index
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("SET session_replication_role = replica")  # foreign keys off, as a careless hand would
            conn.execute("DELETE FROM people WHERE name = 'Mara Quell'")
            conn.execute("UPDATE segments SET folded = '' WHERE id = 1")
        found = [(f.kind, f.count) for f in lib.check().findings]
        assert found == [("text index", 1), ("orphans", 1), ("orphans", 1), ("forgotten voiceprints", 1)]
        assert lib.check(repair=True).ok and lib.check(deep=True).ok
        with psycopg.connect(url, autocommit=True) as conn:  # with triggers off too: the postings fall behind
            conn.execute("SET session_replication_role = replica")
            conn.execute("UPDATE segments SET folded = 'zebra crossing' WHERE id = 2")
        (finding,) = lib.check(deep=True).findings
        assert finding.kind == "text index" and "segment_terms" in finding.what
        assert lib.check(deep=True, repair=True).ok and lib.check(deep=True).ok

        report = lib.backup(tmp_path / "backup")
        assert not report.database and "pg_dump -Fc" in report.guidance
        assert [f.path for f in report.files] == ["uploads/talk.wav"]
        with pytest.raises(InputError, match="pg_restore"):
            Library.restore(tmp_path / "backup", tmp_path / "no-store")
    restored = Library.restore(tmp_path / "backup", tmp_path / "moved", settings={"store_url": url})
    assert restored.check.ok and restored.rehomed == 2
