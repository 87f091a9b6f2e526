"""The people repository on both stores: every check runs on SQLite and on a real PostgreSQL server, so the twins
hand out the same records, messages, ordering and history."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from podscope.errors import InputError, NotFound
from podscope.records import (
    TIERS,
    Appearance,
    Diarization,
    EpisodeMeta,
    ProcessedEpisode,
    Quote,
    Segment,
    SpeakerTrack,
    Turn,
)
from podscope.store.contract import PeopleRepository
from podscope.store.db import blob
from podscope.store.names import name_key
from podscope.store.sqlite import Store

pytestmark = pytest.mark.postgres  # these tests need a PostgreSQL server (a throwaway one, see conftest)


@dataclass
class Backend:
    people: PeopleRepository
    save: Callable[[ProcessedEpisode], int]  # stores an episode with its speakers, voiceprints, turns and lines


def _pg_save(db: Any, p: ProcessedEpisode) -> int:
    """An episode written with plain SQL (the PostgreSQL episodes repository is built elsewhere)."""
    with db.transaction() as conn:
        key = name_key(p.meta.podcast)
        conn.execute(
            "INSERT INTO podcasts (title, title_key) VALUES (%s, %s) ON CONFLICT DO NOTHING", (p.meta.podcast, key)
        )
        podcast = conn.execute("SELECT id FROM podcasts WHERE title_key = %s", (key,)).fetchone()
        published = p.meta.published.isoformat() if p.meta.published else None
        episode_id = conn.execute(
            "INSERT INTO episodes (podcast_id, title, published, duration, content_hash) VALUES (%s, %s, %s, %s, %s)"
            " RETURNING id",
            (podcast["id"], p.meta.title, published, p.duration, p.content_hash),
        ).fetchone()["id"]
        ids: dict[str, int] = {}
        for t in p.diarization.speakers:
            ids[t.label] = conn.execute(
                "INSERT INTO episode_speakers (episode_id, label, speaking_time, embedding) VALUES (%s, %s, %s, %s)"
                " RETURNING id",
                (episode_id, t.label, t.speaking_time, blob(t.embedding)),
            ).fetchone()["id"]
            for e in t.turn_embeddings:
                conn.execute(
                    "INSERT INTO speaker_embeddings (speaker_id, embedding) VALUES (%s, %s)", (ids[t.label], blob(e))
                )
        for turn in p.diarization.turns:
            conn.execute(
                'INSERT INTO turns (episode_id, speaker_id, start, "end") VALUES (%s, %s, %s, %s)',
                (episode_id, ids[turn.speaker], turn.start, turn.end),
            )
        for s in p.segments:
            conn.execute(
                'INSERT INTO segments (episode_id, speaker_id, start, "end", text) VALUES (%s, %s, %s, %s, %s)',
                (episode_id, ids.get(s.speaker or ""), s.start, s.end, s.text),
            )
    return int(episode_id)


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "sqlite":
        store = Store(tmp_path / "lib.db")
        yield Backend(store.people, store.episodes.save)
        store.close()
        return
    pytest.importorskip("psycopg", reason="pip install 'podscope[postgres]'")
    from podscope.store.people import PeopleTables
    from podscope.store.postgres.db import PgDatabase

    db = PgDatabase(request.getfixturevalue("pg_url"))
    try:
        yield Backend(PeopleTables(db), lambda p: _pg_save(db, p))
    finally:
        db.close()


def voice(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(192).astype(np.float32)


def episode(
    key: str,
    *,
    podcast: str = "Test Pod",
    title: str = "Pilot",
    published: dt.date | None = dt.date(2025, 9, 26),
    windows: tuple[int, int] = (2, 1),
) -> ProcessedEpisode:
    """Two speakers (SPEAKER_00 talks longer), each with a voiceprint and `windows` per-window voiceprints."""
    seed = sum(map(ord, key))
    lines = (
        Segment(0.5, 4.0, "SPEAKER_00", "Welcome back to the show, everyone."),
        Segment(4.5, 30.0, "SPEAKER_00", "Today we talk about rivers."),
        Segment(31.0, 33.0, "SPEAKER_01", "Thanks for having me here today, it is great."),
        Segment(33.5, 34.0, "SPEAKER_01", "Yes."),
    )
    return ProcessedEpisode(
        meta=EpisodeMeta(podcast=podcast, title=title, published=published),
        content_hash=key,
        duration=40.0,
        language="en",
        asr_model="base",
        asr_source="package",
        segments=lines,
        diarization=Diarization(
            turns=(Turn(0.4, 30.0, "SPEAKER_00"), Turn(30.5, 34.0, "SPEAKER_01")),
            speakers=tuple(
                SpeakerTrack(
                    label,
                    voice(seed + n),
                    speaking_time=[29.6, 3.5][n],
                    turn_embeddings=tuple(voice(seed + 10 * (n + 1) + w) for w in range(windows[n])),
                )
                for n, label in enumerate(("SPEAKER_00", "SPEAKER_01"))
            ),
        ),
    )


# -- people ------------------------------------------------------------------------------------------------------------


def test_people_are_created_found_renamed_and_listed(backend: Backend) -> None:
    people = backend.people
    maya = people.create("  Maya Chen ")
    assert (maya.name, maya.exemplars, maya.flagged, maya.episodes) == ("Maya Chen", 0, 0, 0)
    assert maya.created_at.endswith("Z") and maya.created_at[:4].isdigit()
    with pytest.raises(InputError, match="person name is empty"):
        people.create("  ")
    with pytest.raises(InputError, match="a person named 'maya chen' already exists; `podscope people list`"):
        people.create("maya chen")
    assert people.find("MAYA CHEN") == maya
    assert people.get(" maya chen ") == maya
    assert people.by_id(maya.id) == maya
    assert people.find("Nobody") is None
    with pytest.raises(NotFound, match="no person named 'Nobody'; `podscope people list` shows them"):
        people.get("Nobody")
    with pytest.raises(NotFound, match="no person with id 9999"):
        people.by_id(9999)

    bob = people.create("bob Smith")
    alice = people.create("Alice Ng")
    assert people.names() == {alice.id: "Alice Ng", bob.id: "bob Smith", maya.id: "Maya Chen"}
    assert list(people.names().values()) == ["Alice Ng", "bob Smith", "Maya Chen"]  # without regard to case
    assert [p.name for p in people.list_people()] == ["Alice Ng", "bob Smith", "Maya Chen"]

    people.rename(bob.id, "BOB SMITH")  # their own name in another case
    assert people.by_id(bob.id).name == "BOB SMITH"
    with pytest.raises(InputError, match="a person named 'maya CHEN' already exists; use `podscope people merge`"):
        people.rename(bob.id, "maya CHEN")
    with pytest.raises(InputError, match="new name is empty"):
        people.rename(bob.id, " ")
    people.rename(bob.id, " Zed Smith ")
    assert [p.name for p in people.list_people()] == ["Alice Ng", "Maya Chen", "Zed Smith"]


# -- exemplars ---------------------------------------------------------------------------------------------------------


def test_exemplars_are_added_flagged_kept_and_deleted(backend: Backend) -> None:
    people = backend.people
    ep = backend.save(episode("a"))
    s0 = people.find_speaker(ep, "SPEAKER_00")
    maya, bob = people.create("Maya Chen"), people.create("Bob Smith")
    bob_x = people.add_exemplar(bob.id, voice(7), origin="enrolled", source="bob.wav", seconds=5)
    x1 = people.add_exemplar(maya.id, voice(1), origin="enrolled", source="clip.wav 0.0-10.0 s", seconds=10.12345)
    x2 = people.add_exemplar(maya.id, voice(2), origin="confirmed", source=f"episode {ep} SPEAKER_00", seconds=29.6,
                             speaker_id=s0)  # fmt: skip
    mine = people.exemplars(maya.id)
    assert [x.id for x in mine] == [x1, x2]
    assert [(x.origin, x.source, x.seconds, x.speaker_id, x.flagged, x.kept) for x in mine] == [
        ("enrolled", "clip.wav 0.0-10.0 s", 10.123, None, None, False),
        ("confirmed", f"episode {ep} SPEAKER_00", 29.6, s0, None, False),
    ]
    np.testing.assert_array_equal(mine[0].embedding, voice(1))
    assert mine[0].embedding.dtype == np.float32
    assert [x.id for x in people.exemplars()] == [x1, x2, bob_x]  # by person, then id
    assert people.exemplar(x2).speaker_id == s0
    with pytest.raises(NotFound, match="no exemplar 999; `podscope people show NAME`"):
        people.exemplar(999)
    assert people.exemplar_sources() == {s0}

    people.set_exemplar_flags(maya.id, {x2: "far from the others"})
    assert [x.flagged for x in people.exemplars(maya.id)] == [None, "far from the others"]
    assert (people.by_id(maya.id).exemplars, people.by_id(maya.id).flagged) == (2, 1)
    people.set_exemplar_flags(maya.id, {x1: "too short", bob_x: "not hers"})  # another person's id is ignored
    assert [x.flagged for x in people.exemplars()] == ["too short", None, None]
    people.keep_exemplar(x1)
    kept = people.exemplar(x1)
    assert (kept.kept, kept.flagged) == (True, None)
    people.set_exemplar_flags(maya.id, {})
    assert people.by_id(maya.id).flagged == 0

    people.delete_exemplars([x1, bob_x])
    assert [x.id for x in people.exemplars()] == [x2]
    people.delete_exemplars([])
    assert people.by_id(maya.id).exemplars == 1


# -- voices ------------------------------------------------------------------------------------------------------------


def test_speaker_voices_window_voiceprints_and_finding_a_speaker(backend: Backend) -> None:
    people = backend.people
    ep1 = backend.save(episode("a"))
    ep2 = backend.save(episode("b", title="Second", published=None, windows=(0, 3)))
    ep3 = backend.save(episode("c", podcast="Other Pod"))
    s00, s01 = people.find_speaker(ep1, "SPEAKER_00"), people.find_speaker(ep1, " speaker_01 ")
    voices = people.speaker_voices()
    assert [(v.episode_id, v.label) for v in voices] == [
        (e, label) for e in (ep1, ep2, ep3) for label in ("SPEAKER_00", "SPEAKER_01")
    ]
    assert voices[0].podcast_id == voices[2].podcast_id != voices[4].podcast_id
    assert (voices[0].speaker_id, voices[0].speaking_time) == (s00, 29.6)
    np.testing.assert_array_equal(voices[0].embedding, episode("a").diarization.speakers[0].embedding)
    assert [v.label for v in people.speaker_voices(episode_id=ep2)] == ["SPEAKER_00", "SPEAKER_01"]
    assert [v.speaker_id for v in people.speaker_voices(speaker_ids=[s01, s00])] == [s00, s01]
    assert [v.speaker_id for v in people.speaker_voices(episode_id=ep2, speaker_ids=[s01])] == []
    assert people.speaker_voices(speaker_ids=[]) == []

    windows = people.window_voiceprints(s00)
    expected = episode("a").diarization.speakers[0].turn_embeddings
    assert len(windows) == 2
    for got, want in zip(windows, expected, strict=True):
        np.testing.assert_array_equal(got, want)
    assert len(people.window_voiceprints(people.find_speaker(ep2, "SPEAKER_01"))) == 3
    assert people.window_voiceprints(people.find_speaker(ep2, "SPEAKER_00")) == []

    with pytest.raises(
        NotFound, match=f"episode {ep1} has no speaker 'SPEAKER_09'; its speakers: SPEAKER_00, SPEAKER_01"
    ):
        people.find_speaker(ep1, "SPEAKER_09")
    with pytest.raises(NotFound, match="no episode with id 999; `podscope episodes` lists them"):
        people.find_speaker(999, "SPEAKER_00")

    stretch = people.speaker_stretch(s00)
    assert (stretch.podcast, stretch.episode_title, stretch.published, stretch.label) == (
        "Test Pod", "Pilot", dt.date(2025, 9, 26), "SPEAKER_00"
    )  # fmt: skip
    assert (stretch.start, stretch.end, stretch.quote) == (0.4, 20.4, "Welcome back to the show, everyone.")
    assert people.speaker_stretch(people.find_speaker(ep2, "SPEAKER_01")).published is None
    with pytest.raises(NotFound, match="no episode speaker with id 999"):
        people.speaker_stretch(999)


# -- attributions ------------------------------------------------------------------------------------------------------


def test_attribution_tiers_history_and_human_decisions(backend: Backend) -> None:
    people = backend.people
    ep = backend.save(episode("a"))
    s00, s01 = people.find_speaker(ep, "SPEAKER_00"), people.find_speaker(ep, "SPEAKER_01")
    maya, bob = people.create("Maya Chen"), people.create("Bob Smith")

    assert people.set_attribution(s00, maya.id, score=0.71, tier="matched", reason="matched to exemplars")
    a = people.attribution(s00)
    assert a is not None
    assert (a.speaker_id, a.episode_id, a.label, a.person_id, a.person, a.score, a.tier, a.held, a.speaking_time) == (
        s00, ep, "SPEAKER_00", maya.id, "Maya Chen", 0.71, "matched", None, 29.6
    )  # fmt: skip
    assert a.updated_at.endswith("Z")
    assert not people.set_attribution(s00, maya.id, score=0.75, tier="matched", reason="re-match")  # score alone
    assert people.attribution(s00).score == 0.75  # type: ignore[union-attr]
    assert len(people.history(speaker_id=s00)) == 1
    assert not people.set_attribution(s00, maya.id, score=0.75, tier="matched", reason="held", held="low margin")
    assert people.attribution(s00).held == "low margin"  # type: ignore[union-attr]
    assert len(people.history(speaker_id=s00)) == 2  # a change of `held` is recorded

    assert people.set_attribution(s00, maya.id, score=None, tier="confirmed", reason="confirmed by hand", machine=False)
    # The machine never overwrites a human decision.
    assert not people.set_attribution(s00, bob.id, score=0.93, tier="verified", reason="re-match")
    after = people.attribution(s00)
    assert (after.person, after.tier, after.score) == ("Maya Chen", "confirmed", None)  # type: ignore[union-attr]
    assert people.by_id(maya.id).episodes == 1

    assert people.set_attribution(s01, bob.id, score=0.41, tier="low", reason="weak match")
    assert people.speaker_names(ep) == {"SPEAKER_00": "Maya Chen"}  # `low` is hidden
    assert people.speaker_names(ep, tiers=TIERS) == {"SPEAKER_00": "Maya Chen", "SPEAKER_01": "Bob Smith"}
    assert [x.speaker_id for x in people.attributions(episode_id=ep)] == [s00, s01]
    assert [x.speaker_id for x in people.attributions(tiers=["low"])] == [s01]
    assert [x.speaker_id for x in people.attributions(person_id=maya.id, tiers=["confirmed", "verified"])] == [s00]
    assert people.attributions(episode_id=ep + 1) == []
    assert people.by_id(bob.id).episodes == 0  # a `low` attribution is no appearance

    assert people.set_attribution(s01, None, score=None, tier=None, reason="unassigned")
    assert people.attribution(s01) is None
    assert not people.set_attribution(s01, None, score=None, tier=None, reason="unassigned again")

    rows = [(h.person_before, h.tier_before, h.person_after, h.tier_after, h.score, h.reason) for h in people.history()]
    assert rows == [
        (None, None, "Maya Chen", "matched", 0.71, "matched to exemplars"),
        ("Maya Chen", "matched", "Maya Chen", "matched", 0.75, "held"),
        ("Maya Chen", "matched", "Maya Chen", "confirmed", None, "confirmed by hand"),
        (None, None, "Bob Smith", "low", 0.41, "weak match"),
        ("Bob Smith", "low", None, None, None, "unassigned"),
    ]
    assert [h.reason for h in people.history(person_id=bob.id)] == ["weak match", "unassigned"]
    assert [h.speaker_id for h in people.history(speaker_id=s01, person_id=bob.id)] == [s01, s01]
    assert all(h.at.endswith("Z") for h in people.history())

    people.add_rejection(s01, maya.id)
    people.add_rejection(s01, maya.id)  # once is enough
    people.add_rejection(s00, bob.id)
    assert people.rejections() == {(s01, maya.id), (s00, bob.id)}


# -- people pages ------------------------------------------------------------------------------------------------------


def test_appearances_and_quotes(backend: Backend) -> None:
    people = backend.people
    ep1 = backend.save(episode("a"))
    ep2 = backend.save(episode("b", title="Undated", published=None))
    ep3 = backend.save(episode("c", podcast="Other Pod", title="Early", published=dt.date(2024, 1, 2)))
    maya = people.create("Maya Chen")
    sp = {e: people.find_speaker(e, "SPEAKER_01") for e in (ep1, ep2, ep3)}
    people.set_attribution(sp[ep2], maya.id, score=0.8, tier="matched", reason="m")
    people.set_attribution(sp[ep1], maya.id, score=None, tier="confirmed", reason="h", machine=False)
    people.set_attribution(sp[ep3], maya.id, score=0.3, tier="low", reason="m")

    assert people.appearances(maya.id) == [
        Appearance(sp[ep1], "confirmed", None, "SPEAKER_01", 3.5, ep1, "Pilot", "2025-09-26", "Test Pod"),
        Appearance(sp[ep2], "matched", 0.8, "SPEAKER_01", 3.5, ep2, "Undated", None, "Test Pod"),
    ]
    assert [a.episode_id for a in people.appearances(maya.id, tiers=TIERS)] == [ep3, ep1, ep2]

    long_line = "Thanks for having me here today, it is great."
    assert people.quotes(maya.id, limit=3) == [
        Quote(ep1, "Pilot", "Test Pod", "2025-09-26", 31.0, 33.0, long_line),
        Quote(ep2, "Undated", "Test Pod", None, 31.0, 33.0, long_line),
        Quote(ep1, "Pilot", "Test Pod", "2025-09-26", 33.5, 34.0, "Yes."),
    ]
    assert [q.episode_id for q in people.quotes(maya.id, limit=1, tiers=["low"])] == [ep3]
    assert people.quotes(maya.id, limit=0) == []


# -- merging and forgetting --------------------------------------------------------------------------------------------


def test_merge_keeps_the_more_certain_attribution_of_an_episode(backend: Backend) -> None:
    people = backend.people
    ep1, ep2, ep3 = (backend.save(episode(k, title=k)) for k in ("a", "b", "c"))
    sp = {(e, n): people.find_speaker(e, f"SPEAKER_0{n}") for e in (ep1, ep2, ep3) for n in (0, 1)}
    maya, dup = people.create("Maya Chen"), people.create("M. Chen")
    people.add_exemplar(dup.id, voice(3), origin="enrolled", source="dup.wav", seconds=4)
    people.add_rejection(sp[ep1, 0], dup.id)
    # ep1: the target is more certain there, so the source's attribution goes to nobody.
    people.set_attribution(sp[ep1, 0], maya.id, score=None, tier="confirmed", reason="h", machine=False)
    people.set_attribution(sp[ep1, 1], dup.id, score=0.7, tier="matched", reason="m")
    # ep2: only the source: it moves.
    people.set_attribution(sp[ep2, 0], dup.id, score=0.9, tier="verified", reason="v")
    # ep3: the source is more certain: the target's goes to nobody, the source's moves.
    people.set_attribution(sp[ep3, 0], maya.id, score=0.6, tier="matched", reason="m")
    people.set_attribution(sp[ep3, 1], dup.id, score=None, tier="confirmed", reason="h", machine=False)

    assert people.merge(dup.id, maya.id, reason="merged M. Chen") == 2
    assert people.find("M. Chen") is None
    assert [(a.speaker_id, a.person, a.tier, a.score) for a in people.attributions()] == [
        (sp[ep1, 0], "Maya Chen", "confirmed", None),
        (sp[ep2, 0], "Maya Chen", "verified", 0.9),
        (sp[ep3, 1], "Maya Chen", "confirmed", None),
    ]
    assert [x.source for x in people.exemplars(maya.id)] == ["dup.wav"]
    assert people.rejections() == {(sp[ep1, 0], maya.id)}
    assert {h.person_before for h in people.history()} | {h.person_after for h in people.history()} == {
        "Maya Chen", None
    }  # fmt: skip
    assert [h.reason for h in people.history(speaker_id=sp[ep1, 1])] == ["m", "merged M. Chen"]
    assert [p.name for p in people.list_people()] == ["Maya Chen"]
    assert people.by_id(maya.id).episodes == 3


def test_forget_removes_the_person_and_every_voiceprint_tied_to_them(backend: Backend) -> None:
    people = backend.people
    ep1 = backend.save(episode("a", windows=(2, 1)))
    ep2 = backend.save(episode("b", windows=(1, 1)))
    s00, s01 = people.find_speaker(ep1, "SPEAKER_00"), people.find_speaker(ep1, "SPEAKER_01")
    other = people.find_speaker(ep2, "SPEAKER_00")
    maya, bob = people.create("Maya Chen"), people.create("Bob Smith")
    people.add_exemplar(maya.id, voice(1), origin="enrolled", source="clip.wav", seconds=8)
    people.add_exemplar(maya.id, voice(2), origin="assigned", source="ep1 SPEAKER_01", seconds=3.5, speaker_id=s01)
    people.set_attribution(s00, maya.id, score=0.8, tier="matched", reason="m")
    people.add_rejection(other, maya.id)
    people.set_attribution(other, bob.id, score=0.9, tier="verified", reason="v")

    assert people.forget(maya.id) == {
        "exemplars": 2,
        "attributions": 1,
        "rejections": 1,
        "history": 1,
        "speaker_voiceprints": 2,
        "window_voiceprints": 3,
    }
    assert people.find("Maya Chen") is None
    with pytest.raises(NotFound):
        people.by_id(maya.id)
    assert [v.speaker_id for v in people.speaker_voices()] == [other, people.find_speaker(ep2, "SPEAKER_01")]
    assert people.window_voiceprints(s00) == [] and people.window_voiceprints(s01) == []
    assert len(people.window_voiceprints(other)) == 1
    assert people.exemplars() == [] and people.exemplar_sources() == set()
    assert people.rejections() == set()
    assert people.history(speaker_id=s00) == []
    assert [(a.speaker_id, a.person) for a in people.attributions()] == [(other, "Bob Smith")]
    assert people.forget(bob.id)["attributions"] == 1
    assert people.list_people() == []


def test_the_people_tables_have_every_method_of_the_contract_with_its_signature() -> None:
    import inspect

    from podscope.store.people import PeopleTables

    methods = [n for n, v in vars(PeopleRepository).items() if inspect.isfunction(v) and not n.startswith("_")]
    assert len(methods) == 30
    for name in methods:
        contract = inspect.signature(getattr(PeopleRepository, name))
        assert inspect.signature(getattr(PeopleTables, name)) == contract, name
