"""Voice profiles on real audio: people enrolled from one real recording, recognised in others, never named wrongly.

Why a script and not a test: it ingests about 25 minutes of real recordings through the whole pipeline (a few minutes
on two cores with Whisper tiny.en) and prints tables for people. `bench/voices.py` calibrates the thresholds on a
large corpus that is mostly synthetic voices; this checks them on real conversations. Run it from the repository root:

    .venv/bin/python bench/voices_real.py                 # everything (a fresh library each run)
    .venv/bin/python bench/voices_real.py --no-stitched   # the sales call and the distractors only
    .venv/bin/python bench/voices_real.py --reuse         # keep the library of the last run (no re-ingest)
    .venv/bin/python bench/voices_real.py --set match_threshold=0.45

Data (all in tests/data, licences there):
* The gecko sales call (tests/data/conversations/gecko-sales-call: 9.5 min, two people on a call, Roger and Virgil,
  reference turns demo.rttm), cut into episodes of one podcast: the first half (0-285 s) is the enrolment episode;
  the second half (285-570 s) and 45 s excerpts of it (from 300, 360, 420, 480 and 525 s, each with its cut of the
  reference) are where Roger and Virgil must be recognised. In most excerpts Virgil says under 10 s (short
  interjections): those appearances are counted separately as "short".
* Distractors, real one-off voices that must never get a name: pyannote's sample (2 speakers), pyAudioAnalysis'
  diarization example (4 speakers) and the Azure call sample (2 speakers; its silver labels are not ground truth, but
  neither voice is Roger or Virgil, so any name there is wrong).
* Stitched real recurring speakers (skip with --no-stitched): LibriSpeech readers stitched into conversations by
  `bench/corpus.py` (`real_conversations`). ls-2033 and ls-3080 are enrolled from real-3spk-librispeech (their
  utterances 1-6) and must be recognised in real-5spk-librispeech and real-6spk-mixed (their utterances 7-10, never
  heard at enrolment); ls-1688, ls-1998, ls-367 and the two SpeechBrain speakers are never enrolled.

Procedure: every episode is ingested into a fresh library (ASR tiny.en: transcripts only feed quotes). Ground truth for
each diarized episode speaker is the reference identity covering most of its speech (at least half; else "mixed"),
from the stored diarization turns against the reference (`bench/voices.py`'s `ingest`). A person is *enrollable*
when a diarized speaker of their enrolment episode is at least 80% theirs and holds at least half of their reference
speech; enrollable people are enrolled once, from that speaker (as `people enroll NAME --episode ID --speaker LABEL`
would), on a copy of the library, and matching runs with the settings' defaults (learning on; off for comparison).

Printed:
1. Enrollability per person (purity, coverage, the speaker enrolled).
2. Per tier (verified, matched, low) and matched-or-better: attributions, wrong ones, precision, and recall over every
   (episode, person) appearance outside the enrolment episodes (a person with 1 s or more of reference speech there);
   recall split by group and by long / short (under 10 s) appearances; appearances diarization left without a
   speaker of their own ("no speaker") cannot be found by any matching. Every wrong name is listed.
3. Speaker-level precision/recall as `bench/voices.py` prints it, learning off and on.
4. Per episode: speakers found vs true, each diarized speaker with its speech, truth and attribution (tier, score).
5. The impostor margin: each distractor speaker's best score against the enrolled people, next to the thresholds
   and the lowest genuine score.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import shutil
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "src"))

from corpus import DATA_DIR, real_conversations  # noqa: E402
from podscope.library import Library  # noqa: E402
from podscope.records import SAMPLE_RATE  # noqa: E402
from podscope.synth import load_audio, write_wav  # noqa: E402
from podscope.voices import profiles as rules  # noqa: E402
from voice_corpus import VoiceCorpus, VoiceEpisode  # noqa: E402
from voices import Truth, copy_library, enrol_all, ingest, print_board, scoreboard  # noqa: E402

SALES_CALL = DATA_DIR / "conversations" / "gecko-sales-call"
HALF = 285.0
EXCERPT_STARTS = (300.0, 360.0, 420.0, 480.0, 525.0)
EXCERPT_SECONDS = 45.0
DISTRACTORS = (  # (name, audio, reference RTTM, identity prefix)
    ("dx-pyannote-sample", DATA_DIR / "pyannote-sample" / "sample.wav", "sample.rttm", "pyannote"),
    (
        "dx-pyaudioanalysis-4spk",
        DATA_DIR / "conversations" / "pyaudioanalysis-4spk" / "diarizationExample.wav",
        "diarizationExample.rttm",
        "pyaa",
    ),
    (
        "dx-azure-call",
        DATA_DIR / "conversations" / "azure-call-silver" / "test_call_audio.wav",
        "test_call_audio.azure_silver.rttm",
        "azure",
    ),
)
# Stitched conversations of bench/corpus.py: the enrolment one, then those to recognise in.
STITCHED_ENROL = "real-3spk-librispeech"
STITCHED_ENROLLED = ("ls-2033", "ls-3080")
STITCHED_OTHERS = ("real-5spk-librispeech", "real-6spk-mixed")

MIN_APPEARANCE = 1.0  # seconds of reference speech that make a person present in an episode
SHORT = 10.0  # an appearance with less reference speech than this is "short"
MIN_PURITY = 0.8
MIN_COVERAGE = 0.5
MACHINE_TIERS = ("verified", "matched", "low")


def read_rttm(path: Path, prefix: str = "") -> list[tuple[float, float, str]]:
    rows = [line.split() for line in path.read_text().splitlines() if line.startswith("SPEAKER")]
    return [(float(r[3]), float(r[3]) + float(r[4]), prefix + r[7]) for r in rows]


def cut_turns(turns: list[tuple[float, float, str]], start: float, end: float) -> tuple[tuple[float, float, str], ...]:
    """The reference turns inside [start, end), in the cut's time."""
    out = [(max(s, start) - start, min(e, end) - start, who) for s, e, who in turns if e > start and s < end]
    return tuple((round(s, 3), round(e, 3), who) for s, e, who in out if e > s)


def speech(turns: tuple[tuple[float, float, str], ...]) -> dict[str, float]:
    out: dict[str, float] = defaultdict(float)
    for s, e, who in turns:
        out[who] += e - s
    return dict(out)


def build_corpus(workdir: Path, stitched: bool) -> VoiceCorpus:
    """The episodes, as `bench/voices.py`'s `ingest` takes them (`condition` is the group an episode belongs to)."""
    episodes = []
    day = datetime.date(2025, 1, 6)

    def add(name: str, podcast: str, audio: Path, turns: tuple[tuple[float, float, str], ...], group: str) -> None:
        present = sorted(w for w, sec in speech(turns).items() if sec >= MIN_APPEARANCE)
        published = day + datetime.timedelta(days=7 * len(episodes))
        episodes.append(VoiceEpisode(name, podcast, name, published, audio, group, turns, tuple(present)))

    reference = read_rttm(SALES_CALL / "demo.rttm")
    cuts = [("sc-first-half", 0.0, HALF), ("sc-second-half", HALF, 2 * HALF)]
    cuts += [(f"sc-excerpt-{a:.0f}", a, a + EXCERPT_SECONDS) for a in EXCERPT_STARTS]
    audio = load_audio(SALES_CALL / "demo.mp3")
    for name, a, b in cuts:  # the same samples give the same file (and hash), so --reuse finds them ingested
        path = write_wav(workdir / "episodes" / f"{name}.wav", audio[round(a * SAMPLE_RATE) : round(b * SAMPLE_RATE)])
        add(name, "Gecko sales calls", path, cut_turns(reference, a, b), "sales call")
    for name, path, rttm, prefix in DISTRACTORS:
        add(name, name, path, tuple(read_rttm(path.parent / rttm, prefix + ":")), "distractor")
    enrolled = {"Roger": "sc-first-half", "Virgil": "sc-first-half"}
    if stitched:
        built = {c.audio_path.stem: c for c in real_conversations(workdir / "stitched")}
        for name in (STITCHED_ENROL, *STITCHED_OTHERS):
            conv = built[name]
            turns = tuple((t.start, t.end, t.speaker) for t in conv.turns)
            add(name, "LibriSpeech readings", conv.audio_path, turns, "stitched")
        enrolled |= dict.fromkeys(STITCHED_ENROLLED, STITCHED_ENROL)
    return VoiceCorpus(tuple(episodes), enrolled, frozenset(), frozenset())


def enrollability(lib: Library, corpus: VoiceCorpus, ids: dict[str, int]) -> dict[str, tuple[bool, str, float, float]]:
    """Per person: (enrollable, best speaker label, purity, coverage) in their enrolment episode."""
    by_name = {e.name: e for e in corpus.episodes}
    out = {}
    for who, ep_name in sorted(corpus.enrolled.items()):
        ep = by_name[ep_name]
        theirs = [(s, e) for s, e, w in ep.turns if w == who]
        total = sum(e - s for s, e in theirs)
        spoken: dict[str, float] = defaultdict(float)
        overlap: dict[str, float] = defaultdict(float)
        for t in lib.store.episodes.turns(ids[ep_name]):
            spoken[t.speaker] += t.end - t.start
            overlap[t.speaker] += sum(max(0.0, min(t.end, e) - max(t.start, s)) for s, e in theirs)
        if not overlap:
            out[who] = (False, "-", 0.0, 0.0)
            continue
        label = max(overlap, key=lambda k: overlap[k])
        purity, coverage = overlap[label] / max(spoken[label], 1e-9), overlap[label] / max(total, 1e-9)
        out[who] = (purity >= MIN_PURITY and coverage >= MIN_COVERAGE, label, purity, coverage)
    return out


def appearances(corpus: VoiceCorpus, ids: dict[str, int]) -> list[tuple[int, str, float, str]]:
    """Every (episode id, person, reference seconds, group) where an enrolled person speaks, outside enrolment."""
    enrolment = set(corpus.enrolled.values())
    return [
        (ids[ep.name], who, speech(ep.turns)[who], ep.condition)
        for ep in corpus.episodes
        if ep.name not in enrolment
        for who in ep.identities
        if who in corpus.enrolled
    ]


def report(lib: Library, corpus: VoiceCorpus, truth: Truth, ids: dict[str, int]) -> None:
    """Per-tier precision and recall over appearances, wrong names, recall splits."""
    machine = [a for a in lib.store.people.attributions() if a.tier in MACHINE_TIERS]
    seen = appearances(corpus, ids)
    own = {(v.episode_id, truth.identity[v.speaker_id]) for v in lib.store.people.speaker_voices()}
    found: dict[tuple[int, str], str] = {}  # appearance -> tier it was found at
    for a in machine:
        if truth.identity[a.speaker_id] == a.person:
            found[(a.episode_id, a.person)] = a.tier
    print(
        f"\n{'tier':10} {'attributed':>10} {'wrong':>6} {'precision':>9} {'found':>6} {'recall':>7}"
        f"   ({len(seen)} appearances outside enrolment)"
    )
    rows = [(t, (t,)) for t in MACHINE_TIERS] + [("matched+", ("verified", "matched"))]
    for tier, tiers in rows:
        mine = [a for a in machine if a.tier in tiers]
        wrong = sum(truth.identity[a.speaker_id] != a.person for a in mine)
        hits = sum(found.get((e, w)) in tiers for e, w, _, _ in seen)
        p = (len(mine) - wrong) / len(mine) if mine else 1.0
        print(f"{tier:10} {len(mine):10} {wrong:6} {p:9.3f} {hits:6} {hits / max(len(seen), 1):7.3f}")

    def recall(rows: list[tuple[int, str, float, str]]) -> str:
        hits = sum(found.get((e, w)) in ("verified", "matched") for e, w, _, _ in rows)
        lost = sum((e, w) not in own for e, w, _, _ in rows)
        return f"{hits}/{len(rows)}" + (f" ({lost} with no speaker of their own)" if lost else "")

    splits = [("all", seen)]
    splits += [(g, [r for r in seen if r[3] == g]) for g in sorted({r[3] for r in seen})]
    splits += [(f"long (>= {SHORT:.0f} s)", [r for r in seen if r[2] >= SHORT])]
    splits += [(f"short (< {SHORT:.0f} s)", [r for r in seen if r[2] < SHORT])]
    for who in sorted(corpus.enrolled):
        splits.append((who, [r for r in seen if r[1] == who]))
    print("matched+ recall: " + "; ".join(f"{k} {recall(rows)}" for k, rows in splits if rows))
    name_of = {i: n for n, i in ids.items()}
    wrong = [a for a in machine if truth.identity[a.speaker_id] != a.person]
    for a in sorted(wrong, key=lambda a: (a.tier != "verified", a.tier != "matched", a.episode_id)):
        print(
            f"  wrong name ({a.tier}{', held: ' + a.held if a.held else ''}): {a.label} of {name_of[a.episode_id]}"
            f" is {truth.identity[a.speaker_id]}, attributed to {a.person} (score {a.score:.3f})"
        )
    shown = sum(a.tier in ("verified", "matched") for a in wrong)
    print(f"wrong names shown (matched or better): {shown}; kept hidden as low: {len(wrong) - shown}")


def episode_table(lib: Library, corpus: VoiceCorpus, truth: Truth, ids: dict[str, int]) -> None:
    attributed = {a.speaker_id: a for a in lib.store.people.attributions()}
    profiles = {p.person_id: p for p in lib.people._profiles()}
    print(
        "\nPer episode (learning on). score: best over the profile's exemplars, learnt ones included (the excerpts"
        " repeat\nstretches of sc-second-half, so a learnt exemplar can score about 1.0); enrol: against the enrolment"
        " exemplar alone."
    )
    print(f"{'episode':26} {'dur':>5} {'found/true':>10}  {'label':11} {'speech':>7}  {'truth':18} attributed")
    for ep in corpus.episodes:
        eid = ids[ep.name]
        speakers = sorted(lib.store.episodes.speakers(eid), key=lambda s: -s.speaking_time)
        ref = speech(ep.turns)
        true = ", ".join(f"{w} {ref[w]:.0f}s" for w in sorted(ep.identities, key=lambda w: -ref[w]))
        head = f"{ep.name:26} {lib.store.episodes.get(eid).duration:5.0f} {len(speakers):>4}/{len(ep.identities):<5}"
        for i, s in enumerate(speakers):
            a = attributed.get(s.id)
            what = "-" if a is None else f"{a.person} {a.tier}" + (f" {a.score:.3f}" if a.score is not None else "")
            if a is not None and a.score is not None and s.embedding is not None:
                grounded = rules.score_matrix(s.embedding[None, :], [profiles[a.person_id]], grounded=True)
                what += f" (enrol {float(grounded[0, 0]):.3f})"
            if a is not None and a.held:
                what += f" (held: {a.held})"
            if a is not None and a.tier != "low" and a.person != truth.identity[s.id]:
                what += "  <- WRONG"
            print(
                f"{head if i == 0 else '':43}  {s.label:11} {s.speaking_time:6.1f}s  {truth.identity[s.id]:18} {what}"
            )
        if not speakers:
            print(head)
        print(f"{'':43}  reference: {true}")


def impostors(lib: Library, corpus: VoiceCorpus, truth: Truth, ids: dict[str, int]) -> None:
    """Each distractor speaker's score against each enrolled person, and the lowest genuine score."""
    people = lib.store.people.names()
    profiles = [p for p in lib.people._profiles() if len(p.exemplars)]  # the profiles as matching sees them
    names = [people[p.person_id] for p in profiles]
    group = {ids[e.name]: e.condition for e in corpus.episodes}
    enrolment = {ids[n] for n in corpus.enrolled.values()}
    name_of = {i: n for n, i in ids.items()}
    voices = lib.store.people.speaker_voices()
    scores = rules.score_matrix(np.stack([v.embedding for v in voices]), profiles)
    print(f"\nImpostor margin: distractor speakers against {', '.join(names)}")
    print(f"{'episode':26} {'label':11} {'truth':18} " + " ".join(f"{n[:8]:>8}" for n in names) + "     best")
    worst = -1.0
    for v, row in zip(voices, scores, strict=True):
        who = truth.identity[v.speaker_id]
        if group[v.episode_id] != "distractor" and (who in corpus.enrolled or who == "mixed"):
            continue
        best = int(row.argmax())
        worst = max(worst, float(row[best]))
        cells = " ".join(f"{s:8.3f}" for s in row)
        print(f"{name_of[v.episode_id]:26} {v.label:11} {who:18} {cells} {names[best]:>8}")
    genuine = [
        float(row[names.index(truth.identity[v.speaker_id])])
        for v, row in zip(voices, scores, strict=True)
        if truth.identity[v.speaker_id] in names and v.episode_id not in enrolment
    ]
    t = lib.people.thresholds
    print(
        f"highest impostor score {worst:.3f}; thresholds low {t.low} matched {t.matched} verified {t.verified};"
        f" margin to matched {t.matched - worst:+.3f}; lowest genuine score {min(genuine, default=float('nan')):.3f}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="tiny.en", help="Whisper model for ingestion (transcripts only feed quotes)")
    ap.add_argument("--workdir", type=Path, default=ROOT / "bench" / "out" / "voices_real")
    ap.add_argument("--no-stitched", dest="stitched", action="store_false", help="skip the LibriSpeech episodes")
    ap.add_argument("--reuse", action="store_true", help="keep the library of the last run instead of a fresh one")
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="a setting for matching")
    args = ap.parse_args()
    settings: dict[str, Any] = dict(s.split("=", 1) for s in args.set)

    corpus = build_corpus(args.workdir, args.stitched)
    base = args.workdir / ("home" if args.stitched else "home-no-stitched")
    if not args.reuse and base.exists():
        shutil.rmtree(base)
    t0 = time.perf_counter()
    truth = ingest(corpus, base, args.model)
    ids = {name: eid for eid, name in truth.episode_name.items()}
    with Library(base) as lib:
        minutes = sum(lib.store.episodes.get(i).duration for i in ids.values()) / 60
        able = enrollability(lib, corpus, ids)
    print(
        f"Corpus: {len(corpus.episodes)} real episodes ({minutes:.1f} min, ingest {time.perf_counter() - t0:.0f} s),"
        f" {len(truth.identity)} diarized speakers ({sum(w == 'mixed' for w in truth.identity.values())} mixed),"
        f" {len(corpus.enrolled)} people to enrol"
    )
    for who, (ok, label, purity, coverage) in able.items():
        print(
            f"  {who:8} enrollable: {'yes' if ok else 'no '} (purity {purity:.2f}, coverage {coverage:.2f})"
            f"  {label} of {corpus.enrolled[who]}"
        )
    enrolled = dataclasses.replace(corpus, enrolled={w: e for w, e in corpus.enrolled.items() if able[w][0]})
    if missing := sorted(set(corpus.enrolled) - set(enrolled.enrolled)):
        print(f"  not enrolled (diarization merged their voice): {', '.join(missing)}; left out of recall below")
    enrol_speakers = {truth.label_of[(e, w)] for w, e in enrolled.enrolled.items()}

    off = copy_library(base, {**settings, "voice_learning": False})
    with off:
        enrol_all(off, enrolled, truth)
        board_off = scoreboard(off, enrolled, truth, enrol_speakers)
    shutil.rmtree(off.home, ignore_errors=True)
    lib = copy_library(base, {**settings, "voice_learning": True})
    with lib:
        enrol_all(lib, enrolled, truth)
        t = lib.people.thresholds
        print(f"\nMatching (learning on; thresholds low {t.low}, matched {t.matched}, verified {t.verified})")
        report(lib, enrolled, truth, ids)
        print()
        print_board("speakers, learning off", board_off)
        print_board("speakers, learning on", scoreboard(lib, enrolled, truth, enrol_speakers))
        episode_table(lib, enrolled, truth, ids)
        impostors(lib, enrolled, truth, ids)
    shutil.rmtree(lib.home, ignore_errors=True)


if __name__ == "__main__":
    main()
