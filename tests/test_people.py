"""Voice profiles on a small real library: five episodes with a synthetic host (flite awb) and three real LibriSpeech
speakers, processed once by the real pipeline into a SQLite file. The tests of the library run on both backends (the
`backend` fixture): each works on its own copy of the file, or on PostgreSQL on its own copy of a database the file
was copied into once; the rules on their own, which touch no store, run once."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from helpers import DATA, HEAVY_ON_POSTGRES, cli, copy_library, query, stored_bytes, use_store
from podscope.errors import InputError, NotFound
from podscope.ingest import transcript_episode
from podscope.library import Library
from podscope.records import EpisodeMeta, Segment
from podscope.synth import Conversation, Line, build_conversation
from podscope.voices import profiles as rules

LS = DATA / "librispeech-test-other"
HOST_LINES = [
    "Welcome back to the show, today we are talking about rivers and the towns built along them.",
    "That is a remarkable story, and I had never heard it told that way before.",
    "Let me ask you about the early years, before any of this became well known.",
    "Our listeners always want to know what a normal working day looks like for you.",
    "Thank you so much for coming on, this has been a wonderful conversation.",
    "Before we finish, is there a book you would recommend to everyone listening?",
]
# episode key -> (podcast, [(identity, voice-or-utterance indices)])
PLAN: dict[str, tuple[str, list[tuple[str, list[int]]]]] = {
    "e1": ("Test Talk", [("host", [0, 1, 2]), ("ls-1688", [0, 1, 2])]),
    "e2": ("Test Talk", [("host", [3, 4, 5]), ("ls-1998", [0, 1, 2])]),
    "e3": ("Other Show", [("ls-1688", [3, 4, 5]), ("ls-1998", [3, 4, 5])]),
    "e4": ("Test Talk", [("host", [1, 3, 5]), ("ls-2033", [0, 1, 2])]),
    "e5": ("Other Show", [("ls-1998", [6, 7]), ("ls-2033", [3, 4, 5])]),
}


def _lines(identity: str, picks: list[int]) -> list[Line]:
    if identity == "host":
        return [Line("host", HOST_LINES[i], "flite:awb") for i in picks]
    files = sorted((LS / identity[3:]).glob("*.flac"))
    return [Line(identity, "", f"audio:{files[i]}") for i in picks]


def _interleave(a: list[Line], b: list[Line]) -> list[Line]:
    out: list[Line] = []
    for i in range(max(len(a), len(b))):
        out += a[i : i + 1] + b[i : i + 1]
    return out


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, tuple[int, Conversation]]]:
    """The library home (episodes processed, nobody enrolled) and, per episode key, its id and reference."""
    work = tmp_path_factory.mktemp("voices")
    home = work / "home"
    episodes: dict[str, tuple[int, Conversation]] = {}
    with Library(home, settings={"asr_model": "tiny.en"}) as lib:
        for n, (key, (podcast, cast)) in enumerate(PLAN.items(), start=1):
            (id_a, picks_a), (id_b, picks_b) = cast
            conv = build_conversation(
                _interleave(_lines(id_a, picks_a), _lines(id_b, picks_b)), work / f"{key}.wav", gap=(0.3, 0.8), seed=n
            )
            result = lib.add_audio(conv.audio_path, podcast=podcast, title=key, published=f"2025-0{n}-15")
            episodes[key] = (result.episode.id, conv)
    return home, episodes


@pytest.fixture(scope="module")
def stored(
    corpus: tuple[Path, dict[str, tuple[int, Conversation]]], backend: str, request: pytest.FixtureRequest
) -> str:
    """Where the tests' copies come from on the module's backend: "" (the corpus file), or a PostgreSQL database the
    corpus was copied into (`podscope store copy`: the same rows and ids), never opened again."""
    if backend == "sqlite":
        return ""
    template = request.getfixturevalue("pg_template")
    return copy_library(corpus[0], request.getfixturevalue("pg_database")("people", template=template))


@pytest.fixture()
def lib(
    corpus: tuple[Path, dict[str, tuple[int, Conversation]]],
    stored: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> Iterator[Library]:
    """The test's own copy of the corpus library on the module's backend, in a home of its own whose config names
    the store (so `podscope` commands on the home use it too)."""
    home = tmp_path / "home"
    home.mkdir()
    if stored:
        use_store(home, request.getfixturevalue("pg_copy")(stored))
    else:
        shutil.copy(corpus[0] / "podscope.db", home / "podscope.db")
    library = Library(home, settings={"asr_model": "tiny.en"})
    yield library
    library.close()


def labels(lib: Library, episode_id: int, conv: Conversation) -> dict[str, str]:
    """identity -> the episode speaker label that overlaps it most."""
    overlap: dict[tuple[str, str], float] = {}
    for t in lib.store.episodes.turns(episode_id):
        for r in conv.turns:
            o = min(t.end, r.end) - max(t.start, r.start)
            if o > 0:
                overlap[(r.speaker, t.speaker)] = overlap.get((r.speaker, t.speaker), 0.0) + o
    best: dict[str, tuple[float, str]] = {}
    for (identity, label), seconds in overlap.items():
        if seconds > best.get(identity, (0.0, ""))[0]:
            best[identity] = (seconds, label)
    return {identity: label for identity, (_, label) in best.items()}


def who(lib: Library, episode_id: int, tiers: tuple[str, ...] = ("confirmed", "verified", "matched")) -> dict[str, str]:
    """label -> person for one episode's attributions of the given tiers."""
    return {a.label: a.person for a in lib.store.people.attributions(episode_id=episode_id, tiers=tiers)}


def enrol(
    lib: Library, corpus: tuple[Path, dict[str, tuple[int, Conversation]]], name: str, identity: str, key: str
) -> None:
    eid, conv = corpus[1][key]
    lib.people.enroll_speaker(name, eid, labels(lib, eid, conv)[identity])


def truth(lib: Library, corpus: tuple[Path, dict[str, tuple[int, Conversation]]]) -> dict[tuple[int, str], str]:
    """(episode id, label) -> identity."""
    out = {}
    for eid, conv in corpus[1].values():
        for identity, label in labels(lib, eid, conv).items():
            out[(eid, label)] = identity
    return out


# -- the rules on their own ------------------------------------------------------------------------------------------


def test_assignment_is_joint_one_person_per_episode() -> None:
    # Greedy picks would give both speakers person 1; the joint assignment gives speaker 1 person 2.
    scores = np.array([[0.9, 0.2], [0.85, 0.6]], dtype=np.float32)
    t = rules.Thresholds(low=0.3, matched=0.5, verified=0.8)
    matches = rules.assign(scores, [1, 2], t)
    assert {(m.speaker_index, m.person_id, m.tier) for m in matches} == {(0, 1, "verified"), (1, 2, "matched")}
    # A rejected pair and a person a human already placed are never proposed.
    assert rules.assign(scores, [1, 2], t, forbidden={(0, 1)}, taken_people={2})[0].speaker_index == 1
    assert rules.assign(scores, [1, 2], t, fixed_speakers={0, 1}) == []


def test_tiers_and_ambiguity() -> None:
    t = rules.Thresholds(low=0.3, matched=0.5, verified=0.8)
    assert [t.tier(s) for s in (0.2, 0.3, 0.5, 0.8)] == [None, "low", "matched", "verified"]
    close = np.array([[0.62, 0.6]], dtype=np.float32)  # one speaker, two people who both fit
    (m,) = rules.assign(close, [1, 2], t)
    assert m.tier == "low" and m.held and "ambiguous" in m.held


def test_a_disagreeing_exemplar_is_flagged_and_the_anchor_is_kept() -> None:
    rng = np.random.default_rng(0)
    voice = rules.normalise(rng.standard_normal(192))
    near = [rules.normalise(voice + 0.4 * rules.normalise(rng.standard_normal(192))) for _ in range(3)]
    stranger = rules.normalise(rng.standard_normal(192))
    infos = [rules.ExemplarInfo(1, voice, "enrolled", 1)]
    infos += [rules.ExemplarInfo(2 + i, v, "verified", 2 + i) for i, v in enumerate(near)]
    infos.append(rules.ExemplarInfo(9, stranger, "confirmed", 9))
    assert set(rules.disagreeing(infos, 0.35)) == {9}
    dropped = rules.to_drop(infos[:4], cap=2)
    assert len(dropped) == 2 and 1 not in dropped


def test_clusters_never_join_two_speakers_of_one_episode() -> None:
    rng = np.random.default_rng(1)
    a, b = rules.normalise(rng.standard_normal(16)), rules.normalise(rng.standard_normal(16))
    near_a = rules.normalise(a + 0.3 * rules.normalise(rng.standard_normal(16)))
    emb = np.stack([a, near_a, b, a])
    groups = [1, 2, 3, 2]  # rows 1 and 3 share an episode: never one cluster, though both sound like row 0
    clusters = rules.cluster_voices(emb, groups, threshold=0.5, floor=0.35)
    assert all(len({groups[k] for k in c}) == len(c) for c in clusters)
    assert [2] in clusters and sorted(len(c) for c in clusters) == [1, 1, 2]


# -- the library ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("profiles", [True, False])
def test_speakers_the_publisher_names_are_those_people_confirmed(
    tmp_path: Path, store_url: str, profiles: bool
) -> None:
    segments = [
        Segment(0.0, 2.0, "SPEAKER_00", "Hello, I'm Ana."),
        Segment(2.0, 4.0, "SPEAKER_01", "And I'm Bo."),
        Segment(4.0, 6.0, "SPEAKER_02", "Ana again, on another line."),
    ]
    with Library(tmp_path / "home", settings={"voice_profiles": profiles, "store_url": store_url}) as lib:
        bo = lib.store.people.create("Bo")
        episode = transcript_episode(
            EpisodeMeta(podcast="P", title="T"), segments, content_hash="h", language="en", source="srt"
        )
        episode_id = lib.store.episodes.save(episode, voiceprints=False)
        lib.people.name_by_publisher(episode_id, {"SPEAKER_00": "Ana", "SPEAKER_01": "Bo", "SPEAKER_02": "ana"})
        named = lib.store.people.attributions(episode_id=episode_id)
        # The first label keeps a name given twice; a person already in the library is the one named.
        assert [(a.label, a.person, a.tier, a.score) for a in named] == [
            ("SPEAKER_00", "Ana", "confirmed", None),
            ("SPEAKER_01", "Bo", "confirmed", None),
        ]
        assert named[1].person_id == bo.id
        [change] = lib.store.people.history(speaker_id=named[0].speaker_id)
        assert (change.person_after, change.tier_after, change.reason) == (
            "Ana",
            "confirmed",
            "named in the publisher's transcript",
        )


@pytest.mark.models
def test_enrolling_once_recognises_the_voice_in_other_episodes(lib: Library, corpus) -> None:  # type: ignore[no-untyped-def]
    enrol(lib, corpus, "Ada Host", "host", "e1")
    enrol(lib, corpus, "Ben Reader", "ls-1688", "e1")
    gold = truth(lib, corpus)
    e2, e3, e4 = (corpus[1][k][0] for k in ("e2", "e3", "e4"))
    assert "Ada Host" in who(lib, e2).values() and "Ada Host" in who(lib, e4).values()
    assert "Ben Reader" in who(lib, e3).values()
    for a in lib.store.people.attributions(tiers=("verified", "matched")):
        expected = {"Ada Host": "host", "Ben Reader": "ls-1688"}[a.person]
        assert gold[(a.episode_id, a.label)] == expected, a
        assert a.score is not None and a.score >= lib.settings.match_threshold
    # One person at most once per episode, across the whole library.
    assert not query(
        lib,
        """SELECT s.episode_id, a.person_id FROM attributions a JOIN episode_speakers s ON s.id = a.speaker_id
           GROUP BY 1, 2 HAVING COUNT(*) > 1""",
    )
    # Transcripts use the names.
    text = lib.export_transcript(e3, "vtt")
    assert "<v Ben Reader>" in text
    # The person page as data.
    page = lib.people.show("Ada Host").to_dict()
    assert page["profile"]["active"] and page["episodes"] == 3
    assert [m["month"] for m in page["appearances_by_month"]] == ["2025-01", "2025-02", "2025-04"]
    assert {a["podcast"] for a in page["appearances"]} == {"Test Talk"}
    assert page["quotes"] and all(q["text"] for q in page["quotes"])


@pytest.mark.models
def test_human_decisions_survive_rematching_and_a_wrong_one_is_flagged(lib: Library, corpus) -> None:  # type: ignore[no-untyped-def]
    enrol(lib, corpus, "Ada Host", "host", "e1")
    e2_id, e2 = corpus[1]["e2"]
    wrong = labels(lib, e2_id, e2)["ls-1998"]
    lib.people.assign(e2_id, wrong, "Ada Host")  # a human mistake: the guest named as the host
    for _ in range(2):
        lib.people.match()
        assert who(lib, e2_id) == {wrong: "Ada Host"}  # kept, and the host is not also placed in e2
    flagged = lib.people.flagged_exemplars()
    assert [f.person for f in flagged] == ["Ada Host"] and "does not sound like" in (flagged[0].exemplar.flagged or "")
    # The profile did not become a magnet: the same guest elsewhere is not claimed by the host.
    gold = truth(lib, corpus)
    host_id = lib.store.people.get("Ada Host").id
    for a in lib.store.people.attributions(person_id=host_id, tiers=("verified", "matched")):
        assert gold[(a.episode_id, a.label)] == "host"
    # A human can overrule the flag (kept for good, through every upkeep) or drop the exemplar.
    bad = flagged[0].exemplar.id
    lib.people.keep_exemplar(bad)
    lib.people.match()
    assert lib.store.people.exemplar(bad).kept and lib.store.people.exemplar(bad).flagged is None
    lib.people.drop_exemplar(bad)
    assert bad not in {x.id for x in lib.store.people.exemplars(host_id)}
    assert who(lib, e2_id) == {wrong: "Ada Host"}  # the human decision itself stays


@pytest.mark.models
def test_review_confirm_and_reject(lib: Library, corpus) -> None:  # type: ignore[no-untyped-def]
    enrol(lib, corpus, "Ada Host", "host", "e1")
    e4_id = corpus[1]["e4"][0]
    (a,) = [x for x in lib.store.people.attributions(episode_id=e4_id) if x.person == "Ada Host"]
    queue = lib.people.review("verified") + lib.people.review("matched")
    item = next(i for i in queue if i.attribution.speaker_id == a.speaker_id)
    assert item.stretch.end > item.stretch.start and item.stretch.episode_id == e4_id
    lib.people.reject(a.speaker_id)
    lib.people.match()
    assert (
        lib.store.people.attribution(a.speaker_id) is None
        or lib.store.people.attribution(a.speaker_id).person != "Ada Host"
    )  # type: ignore[union-attr]
    assert any(h.reason == "rejected by a human" for h in lib.store.people.history(speaker_id=a.speaker_id))
    # Confirming another makes it a human decision and (learning on) an exemplar.
    (b,) = [x for x in lib.store.people.attributions(episode_id=corpus[1]["e2"][0]) if x.person == "Ada Host"]
    lib.people.confirm(b.speaker_id)
    assert lib.store.people.attribution(b.speaker_id).tier == "confirmed"  # type: ignore[union-attr]
    with pytest.raises(NotFound, match="podscope review"):
        lib.people.confirm(999_999)


@pytest.mark.models
def test_recurring_unknown_voice_is_listed_and_named_once(lib: Library, corpus) -> None:  # type: ignore[no-untyped-def]
    enrol(lib, corpus, "Ada Host", "host", "e1")
    gold = truth(lib, corpus)
    voices = lib.people.unknown()
    assert voices
    for v in voices:  # no cluster mixes two people
        rows = lib.store.people.speaker_voices(speaker_ids=list(v.speaker_ids))
        assert len({gold[(r.episode_id, r.label)] for r in rows}) == 1
    e4, e5 = corpus[1]["e4"][0], corpus[1]["e5"][0]
    (reader,) = [v for v in voices if set(v.episodes) == {e4, e5}]
    assert reader.stretch.quote
    lib.people.enroll_unknown("Cara Reader", reader.id)
    assert "Cara Reader" in who(lib, e4).values() and "Cara Reader" in who(lib, e5).values()
    assert all(v.id != reader.id for v in lib.people.unknown())


@pytest.mark.models
def test_enrol_from_an_audio_sample(lib: Library, corpus, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    clip = build_conversation(
        [Line("host", t, "flite:awb") for t in ("Good morning everyone.", "It is a bright and windy day here.")],
        tmp_path / "clip.wav",
    )
    lib.people.enroll_audio("Ada Host", clip.audio_path)
    assert "Ada Host" in who(lib, corpus[1]["e2"][0]).values()
    x, *learnt = lib.store.people.exemplars(lib.store.people.get("Ada Host").id)
    assert x.origin == "enrolled" and x.source.startswith("clip.wav")
    assert all(e.origin == "verified" and e.source.startswith("episode") for e in learnt)
    two_voices = corpus[1]["e1"][1].audio_path
    with pytest.raises(InputError, match="voices"):
        lib.people.enroll_audio("Someone", two_voices)
    with pytest.raises(InputError, match="outside"):
        lib.people.enroll_audio("Someone", clip.audio_path, start=500.0)


@pytest.mark.models
def test_forget_removes_every_voiceprint_from_the_store(lib: Library, corpus) -> None:  # type: ignore[no-untyped-def]
    enrol(lib, corpus, "Ada Host", "host", "e1")
    person = lib.store.people.get("Ada Host")
    attributed = lib.store.people.attributions(person_id=person.id)
    exemplars = lib.store.people.exemplars(person.id)
    secrets = [x.embedding.tobytes() for x in exemplars]
    secrets += [
        v.embedding.tobytes() for v in lib.store.people.speaker_voices(speaker_ids=[a.speaker_id for a in attributed])
    ]
    removed = lib.people.forget("Ada Host")
    assert removed["exemplars"] == len(exemplars) and removed["attributions"] == len(attributed) >= 3
    assert removed["speaker_voiceprints"] == len(attributed)
    raw = stored_bytes(lib)  # the file, or the server's files of the database: no deleted row lingers in either
    for secret in secrets:
        assert secret not in raw
    assert lib.store.people.find("Ada Host") is None
    assert "Ada Host" not in lib.export_transcript(corpus[1]["e1"][0], "txt")
    ids = ",".join(str(a.speaker_id) for a in attributed)
    assert query(lib, f"SELECT COUNT(*) FROM speaker_embeddings WHERE speaker_id IN ({ids})") == [(0,)]
    assert query(lib, "SELECT COUNT(*) FROM attribution_log") == [(0,)]
    # Other voices are untouched.
    assert lib.store.people.speaker_voices(episode_id=corpus[1]["e3"][0])


@pytest.mark.models
def test_privacy_switch(corpus, tmp_path: Path, store_url: str) -> None:  # type: ignore[no-untyped-def]
    home = tmp_path / "off"
    with Library(home, settings={"asr_model": "tiny.en", "voice_profiles": False, "store_url": store_url}) as lib:
        result = lib.add_audio(corpus[1]["e5"][1].audio_path, podcast="Other Show", title="e5")
        eid = result.episode.id
        assert lib.store.episodes.speakers(eid) and all(s.embedding is None for s in lib.store.episodes.speakers(eid))
        assert lib.store.episodes.counts()["speaker_embeddings"] == 0
        with pytest.raises(InputError, match="voice_profiles"):
            lib.people.enroll_speaker("Someone", eid, lib.store.episodes.speakers(eid)[0].label)
        with pytest.raises(InputError, match="switched off"):
            lib.people.match()
        assert lib.people.unknown() == []


@pytest.mark.models
def test_merge_and_rename(lib: Library, corpus) -> None:  # type: ignore[no-untyped-def]
    enrol(lib, corpus, "Ada Host", "host", "e1")
    e2_id, e2 = corpus[1]["e2"]
    lib.people.assign(e2_id, labels(lib, e2_id, e2)["host"], "A. Host")
    lib.people.merge("A. Host", "Ada Host")
    assert lib.store.people.find("A. Host") is None
    assert who(lib, e2_id)[labels(lib, e2_id, e2)["host"]] == "Ada Host"
    lib.people.rename("Ada Host", "Ada Lovelace")
    assert "Ada Lovelace" in who(lib, corpus[1]["e4"][0]).values()
    with pytest.raises(InputError, match="already exists"):
        lib.store.people.create("ada lovelace")


def labels_from_db(home: Path, episode_id: int, conv: Conversation) -> dict[str, str]:
    with Library(home, settings={"asr_model": "tiny.en"}) as library:
        return labels(library, episode_id, conv)


# -- the CLI -------------------------------------------------------------------------------------------------------


@pytest.mark.models
@pytest.mark.slow  # a whole CLI session in fresh interpreters (half a minute); the library tests cover the same
@HEAVY_ON_POSTGRES
def test_cli_people_commands(lib: Library, corpus) -> None:  # type: ignore[no-untyped-def]
    home = lib.home
    e1_id, e1 = corpus[1]["e1"]
    host = labels(lib, e1_id, e1)["host"]
    lib.close()
    p = cli(home, "people", "enroll", "Ada Host", "--episode", e1_id, "--speaker", host)
    assert p.returncode == 0, p.stderr
    assert "Enrolled Ada Host" in p.stdout and "attributions changed" in p.stdout

    listing = json.loads(cli(home, "people", "list", "--json").stdout)
    assert listing[0]["name"] == "Ada Host" and listing[0]["active"] and listing[0]["episodes"] == 3
    page = json.loads(cli(home, "people", "show", "Ada Host", "--json").stdout)
    assert page["profile"]["status"].startswith("voice profile active")
    assert "Appearances over time" in cli(home, "people", "show", "Ada Host").stdout

    queue = json.loads(cli(home, "review", "--tier", "verified", "--json").stdout)["attributions"]
    queue += json.loads(cli(home, "review", "--json").stdout)["attributions"]
    assert queue and {"id", "person", "tier", "score", "episode_id", "listen", "quote"} <= set(queue[0])
    p = cli(home, "review", "confirm", queue[0]["id"])
    assert p.returncode == 0 and "Confirmed" in p.stdout, p.stderr
    unknown = json.loads(cli(home, "people", "unknown", "--json").stdout)
    assert unknown and unknown[0]["id"].startswith("U")
    p = cli(home, "people", "enroll", "Cara Reader", "--unknown", unknown[0]["id"])
    assert p.returncode == 0, p.stderr
    p = cli(home, "people", "rename", "Cara Reader", "Cara R.")
    assert p.returncode == 0 and "Renamed" in p.stdout
    e2_id, e2 = corpus[1]["e2"]
    p = cli(home, "people", "assign", e2_id, labels_from_db(home, e2_id, e2)["host"], "A. Host")
    assert p.returncode == 0 and f"Episode {e2_id}" in p.stdout, p.stderr
    p = cli(home, "people", "merge", "A. Host", "Ada Host")
    assert p.returncode == 0 and "Merged A. Host into Ada Host" in p.stdout, p.stderr
    p = cli(home, "people", "match")
    assert p.returncode == 0 and ("No attribution changed." in p.stdout or "changed" in p.stdout), p.stderr
    low = json.loads(cli(home, "review", "--tier", "low", "--json").stdout)["attributions"]
    target = (low or queue[1:])[0]["id"]
    p = cli(home, "review", "reject", target)
    assert p.returncode == 0 and "Rejected" in p.stdout, p.stderr
    clip = build_conversation(
        [Line("dan", t, "flite:rms") for t in ("Hello there, this is my voice.", "I am reading a short sample.")],
        home.parent / "rms.wav",
    )
    p = cli(home, "people", "enroll", "Dan Sample", "--audio", clip.audio_path, "--start", "0", "--end", clip.duration)
    assert p.returncode == 0 and "Enrolled Dan Sample" in p.stdout, p.stderr
    exported = json.loads(cli(home, "people", "export", "Ada Host").stdout)
    assert exported["profile"]["exemplars"][0]["embedding"] and exported["history"]
    assert "enrolled" in cli(home, "people", "history", "Ada Host").stdout or exported["history"]

    # Bad input: one sentence, non-zero exit.
    for args, message in [
        (("people", "enroll", "X"), "exactly one of"),
        (("people", "enroll", "X", "--episode", e1_id), "--speaker"),
        (("people", "enroll", "X", "--episode", e1_id, "--speaker", "SPEAKER_99"), "its speakers"),
        (("people", "show", "Nobody"), "no person named"),
        (("review", "reject", 424242), "no attribution"),
        (("people", "forget", "Ada Host"), "--yes"),
    ]:
        p = cli(home, *args)
        assert p.returncode != 0 and message in p.stderr and "Traceback" not in p.stderr, (args, p.stderr)
    p = cli(home, "people", "forget", "Ada Host", "--yes")
    assert p.returncode == 0 and "Forgot Ada Host" in p.stdout and "episode voiceprints" in p.stdout


@HEAVY_ON_POSTGRES  # a whole recording processed again
def test_a_new_episode_is_matched_on_its_own_as_a_full_rescore_would(lib: Library, corpus) -> None:  # type: ignore[no-untyped-def]
    enrol(lib, corpus, "Ada Host", "host", "e1")
    enrol(lib, corpus, "Ben Reader", "ls-1688", "e1")
    e4_id, e4 = corpus[1]["e4"]
    lib.delete_episode(e4_id)
    result = lib.add_audio(e4.audio_path, podcast="Test Talk", title="e4 again", published="2025-04-16")
    new_id = result.episode.id
    assert result.created and new_id != e4_id
    gold = labels(lib, new_id, e4)
    found = who(lib, new_id)
    assert found.get(gold["host"]) == "Ada Host"
    host = lib.people.speaker_attribution(new_id, gold["host"])
    assert host is not None
    assert [c.reason for c in lib.people.history("Ada Host") if c.speaker_id == host.speaker_id] == [
        f"new episode {new_id}"
    ]
    # The episode's match is what the full re-score finds: re-matching everything changes nothing.
    assert lib.people.match() == []


@pytest.mark.slow  # a whole recording processed again (the default run re-adds one in the test above)
def test_a_batch_defers_the_full_rescore_a_learning_profile_owes(lib: Library, corpus) -> None:  # type: ignore[no-untyped-def]
    """Ray workers set `defer_rescores`: a verified match that teaches a profile leaves `rescore_due` for the
    batch's one full re-score instead of re-scoring the library itself."""
    e2_id, e2 = corpus[1]["e2"]
    lib.delete_episode(e2_id)
    enrol(lib, corpus, "Ada Host", "host", "e1")
    lib.people.defer_rescores = True
    new_id = lib.add_audio(e2.audio_path, podcast="Test Talk", title="e2 again").episode.id
    host = lib.people.speaker_attribution(new_id, labels(lib, new_id, e2)["host"])
    assert host is not None and host.person == "Ada Host" and host.tier == "verified"
    assert host.speaker_id in {x.speaker_id for x in lib.store.people.exemplars() if x.origin == "verified"}
    assert lib.people.rescore_due == f"profile changed: learnt from a verified match in episode {new_id}"
    lib.people.match()
    assert lib.people.rescore_due is None
