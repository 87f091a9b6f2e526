"""Voice-profile benchmark: enrol each recurring person from one episode, then score who is recognised where.

Why a script and not a test: it ingests 36 episodes (46 minutes of audio), runs several experiments on copies of the
library and prints tables for people (threshold calibration, regression hunting). Run it from the repository root:

    .venv/bin/python bench/voices.py              # the full corpus (bench/voice_corpus.py), every experiment
    .venv/bin/python bench/voices.py --quick      # the 12-episode subset
    .venv/bin/python bench/voices.py --set match_threshold=0.45 --set verified_threshold=0.65

Corpus: `bench/voice_corpus.py` (10 enrolled people, 2 recurring unknown voices, 3 one-off guests; clean, telephone,
noisy, reverberant and speed-changed episodes). Ground truth: each episode speaker found by diarization is the
reference identity it overlaps most (when that covers at least half of its speech; otherwise it is "mixed" and counts
as nobody).

Printed:
1. Score curves from raw scores (each episode speaker against each enrolled person's enrolment exemplar): for each
   threshold, precision and recall of attributing at that threshold (joint assignment per episode), and the
   impostor / genuine score distributions: what the threshold defaults are calibrated from.
2. Per-tier precision and recall after one enrolment per person, with learning off and on; wrong `verified` count;
   recall per condition.
3. A human reviewer (an oracle) confirming or rejecting every `matched` attribution: recall and precision after.
4. One deliberately wrong confirmation: is it flagged, and does the profile then claim other voices?
5. Recurring unknown voices: share grouped into one cluster each, clusters mixing people.
6. Time to re-score the whole library.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "src"))

from podscope.library import Library  # noqa: E402
from podscope.voices import profiles as rules  # noqa: E402
from voice_corpus import VoiceCorpus, voice_corpus  # noqa: E402

SHOWN = ("confirmed", "verified", "matched")


@dataclass(frozen=True)
class Truth:
    identity: dict[int, str]  # speaker id -> identity ("mixed" when no identity covers half its speech)
    label_of: dict[tuple[str, str], int]  # (episode name, identity) -> speaker id
    episode_name: dict[int, str]  # episode id -> corpus name
    condition: dict[int, str]  # speaker id -> condition of its episode


def ingest(corpus: VoiceCorpus, home: Path, model: str) -> Truth:
    identity: dict[int, str] = {}
    label_of: dict[tuple[str, str], int] = {}
    names: dict[int, str] = {}
    condition: dict[int, str] = {}
    t0 = time.perf_counter()
    audio_seconds = 0.0
    with Library(home, settings={"asr_model": model}) as lib:
        for n, ep in enumerate(corpus.episodes, start=1):
            result = lib.add_audio(ep.audio_path, podcast=ep.podcast, title=ep.title, published=ep.published)
            if result.created:
                audio_seconds += result.episode.duration
                print(f"  ingested {n}/{len(corpus.episodes)} {ep.name}", file=sys.stderr)
            eid = result.episode.id
            names[eid] = ep.name
            speakers = {s.label: s for s in lib.store.episodes.speakers(eid)}
            overlap: dict[tuple[str, str], float] = defaultdict(float)
            spoken: dict[str, float] = defaultdict(float)
            for t in lib.store.episodes.turns(eid):
                spoken[t.speaker] += t.end - t.start
                for s, e, who in ep.turns:
                    o = min(t.end, e) - max(t.start, s)
                    if o > 0:
                        overlap[(t.speaker, who)] += o
            for label, sp in speakers.items():
                cands = [(v, who) for (lab, who), v in overlap.items() if lab == label]
                best, who = max(cands, default=(0.0, "mixed"))
                identity[sp.id] = who if best >= 0.5 * max(spoken[label], 1e-9) else "mixed"
                condition[sp.id] = ep.condition
            # The speaker to enrol: the one overlapping the identity most, if that speaker is mostly them (a
            # speaker that diarization merged from two voices is not a sample a person would name).
            for who in ep.identities:
                cands = [(v, lab) for (lab, w), v in overlap.items() if w == who]
                if cands and identity[speakers[max(cands)[1]].id] == who:
                    label_of[(ep.name, who)] = speakers[max(cands)[1]].id
    if audio_seconds:
        print(f"  ingest: {audio_seconds / 60:.1f} min of audio in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return Truth(identity, label_of, names, condition)


def copy_library(base: Path, settings: dict[str, Any]) -> Library:
    home = Path(tempfile.mkdtemp(prefix="podscope-voices-"))
    shutil.copy(base / "podscope.db", home / "podscope.db")
    return Library(home, settings=settings)


def enrol_all(lib: Library, corpus: VoiceCorpus, truth: Truth) -> dict[int, str]:
    """Enrol each recurring person from their enrolment episode; returns person id -> identity."""
    people = {}
    for who in sorted(corpus.enrolled):
        speaker_id = enrolment_speaker(corpus, truth, who)
        voice = lib.store.people.speaker_voices(speaker_ids=[speaker_id])[0]
        lib.people.enroll_speaker(who, voice.episode_id, voice.label)
        people[lib.store.people.get(who).id] = who
    return people


def enrolment_speaker(corpus: VoiceCorpus, truth: Truth, who: str) -> int:
    """The episode speaker a person is enrolled from: in their enrolment episode, or (when diarization merged them
    with someone there) in their first clean episode where they are a speaker of their own."""
    first = truth.label_of.get((corpus.enrolled[who], who))
    if first is not None:
        return first
    for ep in corpus.episodes:
        if ep.condition == "clean" and (ep.name, who) in truth.label_of:
            return truth.label_of[(ep.name, who)]
    raise SystemExit(f"{who} is never a speaker of their own in a clean episode")


def scoreboard(lib: Library, corpus: VoiceCorpus, truth: Truth, skip: set[int]) -> dict[str, Any]:
    """Per-tier precision/recall over episode speakers not decided by a human (and not in `skip`)."""
    enrolled = set(corpus.enrolled)
    attributed = {a.speaker_id: a for a in lib.store.people.attributions()}
    voices = [v for v in lib.store.people.speaker_voices() if v.speaker_id not in skip]
    stats: dict[str, Counter[str]] = defaultdict(Counter)
    by_condition: dict[str, Counter[str]] = defaultdict(Counter)
    for v in voices:
        who = truth.identity[v.speaker_id]
        a = attributed.get(v.speaker_id)
        if a is not None and a.tier == "confirmed":
            continue
        cond = truth.condition[v.speaker_id]
        if who in enrolled:
            stats["all"]["positives"] += 1
            by_condition[cond]["positives"] += 1
        if a is None:
            continue
        right = a.person == who
        stats[a.tier]["right" if right else "wrong"] += 1
        if a.tier in ("verified", "matched"):
            stats["shown"]["right" if right else "wrong"] += 1
            if right:
                by_condition[cond]["found"] += 1
    positives = stats["all"]["positives"]

    def pr(c: Counter[str]) -> tuple[float, float]:
        n = c["right"] + c["wrong"]
        return (c["right"] / n if n else 1.0), (c["right"] / positives if positives else 0.0)

    out: dict[str, Any] = {"positives": positives}
    for tier in ("verified", "shown", "low"):
        p, r = pr(stats[tier])
        out[tier] = {"n": stats[tier]["right"] + stats[tier]["wrong"], "wrong": stats[tier]["wrong"], "p": p, "r": r}
    out["conditions"] = {c: (v["found"], v["positives"]) for c, v in sorted(by_condition.items())}
    return out


def print_board(title: str, board: dict[str, Any]) -> None:
    v, s, low = board["verified"], board["shown"], board["low"]
    print(
        f"{title:34} verified {v['n']:3} (wrong {v['wrong']}, P {v['p']:.3f})  matched+ {s['n']:3} P {s['p']:.3f}"
        f" R {s['r']:.3f}  low {low['n']:3} (wrong {low['wrong']})  [{board['positives']} to find]"
    )


def curves(lib: Library, corpus: VoiceCorpus, truth: Truth, enrol_speakers: set[int]) -> None:
    """Raw score distributions and precision/recall of the joint assignment at each threshold."""
    people = [(p.id, p.name) for p in lib.store.people.list_people()]
    profiles = lib.people._profiles()  # the profiles as matching sees them
    by_person = {p.person_id: p for p in profiles}
    voices = [v for v in lib.store.people.speaker_voices() if v.speaker_id not in enrol_speakers]
    genuine, impostor = [], []
    for v in voices:
        for pid, name in people:
            s = float(rules.score_matrix(v.embedding[None, :], [by_person[pid]])[0, 0])
            (genuine if truth.identity[v.speaker_id] == name else impostor).append(s)
    g, im = np.array(genuine), np.array(impostor)
    print(f"\nRaw scores: genuine n={len(g)} min {g.min():.3f} p5 {np.percentile(g, 5):.3f} median {np.median(g):.3f}")
    print(
        f"            impostor n={len(im)} max {im.max():.3f} p99.9 {np.percentile(im, 99.9):.3f}"
        f" p99 {np.percentile(im, 99):.3f} median {np.median(im):.3f}"
    )
    by_episode: dict[int, list[Any]] = defaultdict(list)
    for v in voices:
        by_episode[v.episode_id].append(v)
    ids = [p.person_id for p in profiles]
    enrolled = set(corpus.enrolled)
    positives = sum(truth.identity[v.speaker_id] in enrolled for v in voices)
    print(f"\n{'threshold':>9} {'attributed':>10} {'wrong':>6} {'precision':>9} {'recall':>7}   (joint, no learning)")
    for th in np.arange(0.20, 0.91, 0.05):
        t = rules.Thresholds(low=float(th), matched=float(th), verified=float(th))
        right = wrong = 0
        for group in by_episode.values():
            scores = rules.score_matrix(np.stack([v.embedding for v in group]), profiles)
            for m in rules.assign(scores, ids, t):
                name = dict(people)[m.person_id]
                if truth.identity[group[m.speaker_index].speaker_id] == name:
                    right += 1
                else:
                    wrong += 1
        n = right + wrong
        print(f"{th:9.2f} {n:10} {wrong:6} {right / n if n else 1.0:9.3f} {right / positives:7.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="the 12-episode subset")
    ap.add_argument("--model", default="tiny.en", help="Whisper model for ingestion (transcripts only feed quotes)")
    ap.add_argument("--workdir", type=Path, default=ROOT / "bench" / "out" / "voices")
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="a setting for the experiments")
    args = ap.parse_args()
    settings: dict[str, Any] = dict(s.split("=", 1) for s in args.set)

    corpus = voice_corpus(args.workdir, quick=args.quick)
    base = args.workdir / ("home-quick" if args.quick else "home")
    truth = ingest(corpus, base, args.model)
    roles = Counter(truth.identity.values())
    print(
        f"Corpus: {len(corpus.episodes)} episodes, {len(truth.identity)} episode speakers"
        f" ({roles['mixed']} mixed), {len(corpus.enrolled)} enrolled people,"
        f" recurring unknown {sorted(corpus.recurring_unknown)}, one-off {sorted(corpus.one_off)}"
    )
    enrol_speakers = {enrolment_speaker(corpus, truth, who) for who in corpus.enrolled}
    for who, ep in sorted(corpus.enrolled.items()):
        if (ep, who) not in truth.label_of:
            print(f"  {who}: diarization merged them with another voice in {ep}; enrolled from another episode")

    # 1. Curves, from the enrolment exemplars alone.
    with copy_library(base, {**settings, "voice_learning": False}) as lib:
        enrol_all(lib, corpus, truth)
        print(
            "Settings:",
            {k: getattr(lib.settings, k) for k in ("low_threshold", "match_threshold", "verified_threshold")},
        )
        curves(lib, corpus, truth, enrol_speakers)

    # 2. Learning off and on.
    print()
    boards = {}
    for learning in (False, True):
        with copy_library(base, {**settings, "voice_learning": learning}) as lib:
            enrol_all(lib, corpus, truth)
            boards[learning] = scoreboard(lib, corpus, truth, enrol_speakers)
            print_board(f"one enrolment, learning {'on' if learning else 'off'}", boards[learning])
            for a in lib.store.people.attributions(tiers=("verified", "matched")):
                if truth.identity[a.speaker_id] != a.person:
                    print(
                        f"  wrong: {truth.identity[a.speaker_id]} in {truth.episode_name[a.episode_id]}"
                        f" ({truth.condition[a.speaker_id]}) attributed to {a.person}, {a.tier} {a.score}"
                    )
            alikes = lib.people.sound_alikes()
            pairs = sorted(
                {tuple(sorted((lib.store.people.by_id(a).name, b))) for a, v in alikes.items() for b, _ in v}
            )
            print(f"  near-identical profiles flagged: {pairs or 'none'}")
            if learning:
                t0 = time.perf_counter()
                lib.people.match()
                rescore = time.perf_counter() - t0
                exemplars = Counter(x.origin for x in lib.store.people.exemplars())
                flagged = sum(1 for x in lib.store.people.exemplars() if x.flagged)
    conds = boards[True]["conditions"]
    print("  recall by condition (learning on): " + ", ".join(f"{c} {f}/{n}" for c, (f, n) in conds.items()))
    print(f"  exemplars after learning: {dict(exemplars)}; flagged {flagged}")

    # 3. A human reviewer confirms right matches and rejects wrong ones.
    with copy_library(base, {**settings, "voice_learning": True}) as lib:
        enrol_all(lib, corpus, truth)
        decided = set(enrol_speakers)
        confirmed = rejected = 0
        for _ in range(3):
            queue = [i.attribution for i in lib.people.review("matched")]
            queue = [a for a in queue if a.speaker_id not in decided]
            if not queue:
                break
            for a in queue:
                current = lib.store.people.attribution(a.speaker_id)
                if current is None or current.tier == "confirmed":
                    continue
                decided.add(a.speaker_id)
                if truth.identity[a.speaker_id] == current.person:
                    lib.people.confirm(a.speaker_id)
                    confirmed += 1
                else:
                    lib.people.reject(a.speaker_id)
                    rejected += 1
        board = scoreboard(lib, corpus, truth, decided)
        print_board(f"after review ({confirmed} conf., {rejected} rej.)", board)
        shown = [a for a in lib.store.people.attributions(tiers=SHOWN) if a.speaker_id not in enrol_speakers]
        enrolled = set(corpus.enrolled)
        positives = sum(1 for sid, who in truth.identity.items() if who in enrolled and sid not in enrol_speakers)
        right = sum(1 for a in shown if truth.identity[a.speaker_id] == a.person)
        print(
            f"  all shown attributions incl. human ones: precision {right / max(len(shown), 1):.3f},"
            f" recall {right / max(positives, 1):.3f}"
        )

    # 4. One wrong confirmation.
    print()
    with copy_library(base, {**settings, "voice_learning": True}) as lib:
        people = enrol_all(lib, corpus, truth)
        before = scoreboard(lib, corpus, truth, enrol_speakers)
        victim = "flite-awb" if "flite-awb" in corpus.enrolled else sorted(corpus.enrolled)[0]
        # The wrong voice: a speaker of another enrolled person that the victim's profile does not claim.
        with_victim = {
            v.episode_id for v in lib.store.people.speaker_voices() if truth.identity[v.speaker_id] == victim
        }
        wrong_speaker = next(
            v.speaker_id
            for v in lib.store.people.speaker_voices()
            if truth.identity[v.speaker_id] in corpus.enrolled
            and truth.identity[v.speaker_id] != victim
            and v.speaker_id not in enrol_speakers
            and v.episode_id not in with_victim
        )
        wrong_who = truth.identity[wrong_speaker]
        v = lib.store.people.speaker_voices(speaker_ids=[wrong_speaker])[0]
        lib.people.assign(v.episode_id, v.label, victim)
        after = scoreboard(lib, corpus, truth, enrol_speakers | {wrong_speaker})
        pid = lib.store.people.get(victim).id
        flagged = [x for x in lib.store.people.exemplars(pid) if x.flagged]
        claimed = [
            a
            for a in lib.store.people.attributions(person_id=pid, tiers=("verified", "matched"))
            if truth.identity[a.speaker_id] == wrong_who
        ]
        print(
            f"one wrong confirmation ({wrong_who} confirmed as {victim}): flagged {len(flagged)} exemplar(s);"
            f" {victim} now claims {len(claimed)} other {wrong_who} speaker(s)"
        )
        print_board("  before", before)
        print_board("  after", after)
        del people

    # 5. Recurring unknown voices (after one enrolment each, learning on).
    with copy_library(base, {**settings, "voice_learning": True}) as lib:
        enrol_all(lib, corpus, truth)
        clusters = lib.people.unknown(recurring_only=False)
        shown_ids = {a.speaker_id for a in lib.store.people.attributions(tiers=SHOWN)}
        grouped = 0
        report = []
        episode_of = {v.speaker_id: v.episode_id for v in lib.store.people.speaker_voices()}
        for who in sorted(corpus.recurring_unknown):
            # Grouped: one cluster covers every episode the voice is heard in (a voice that diarization split in
            # two within one episode leaves a fragment that cannot join: counted, not held against clustering).
            mine = {sid for sid, w in truth.identity.items() if w == who and sid not in shown_ids}
            episodes = {episode_of[s] for s in mine}
            homes = [c for c in clusters if mine & set(c.speaker_ids)]
            covering = [c for c in homes if episodes <= {episode_of[s] for s in c.speaker_ids}]
            grouped += bool(covering)
            split = len(mine) - len(episodes)
            report.append(
                f"{who}: {len(episodes)} episodes, {len(mine)} speakers, {len(homes)} cluster(s)"
                + (f", {split} split within an episode" if split else "")
            )
        mixed = [c for c in clusters if len({truth.identity[s] for s in c.speaker_ids} - {"mixed"}) > 1]
        recurring = [c for c in clusters if len(c.episodes) > 1]
        print(
            f"\nUnknown voices: {grouped}/{len(corpus.recurring_unknown)} recurring unknown voices in one cluster each"
            f" ({'; '.join(report)}); {len(recurring)} recurring clusters listed; clusters mixing people: {len(mixed)}"
        )
    print(f"Re-scoring the whole library: {rescore * 1000:.0f} ms")


if __name__ == "__main__":
    main()
