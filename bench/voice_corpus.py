"""Voice-profile benchmark corpus: 36 short episodes of 4 podcasts in which 15 voices recur, or do not, on purpose.

Why: recognising a person across episodes (enrol them once, find them again later) can only be scored on a library
where the same voices come back under different conditions, next to voices that must *not* be recognised. So:

* 10 **enrolled** people (4 LibriSpeech readers, the 4 distinct flite voices, piper's "joe", SpeechBrain's spk1).
  Each has exactly one clean *enrolment episode* in which they speak 15 s or more, and at least three more episodes
  with other partners, at least one of them degraded. Four of them host a podcast and so appear in most of its
  episodes; the others rotate as guests across podcasts.
* 2 **recurring unknown** voices (ls-367 in 4 episodes, sb-spk2 in 3), never enrolled: a good system clusters them
  across episodes but must not attribute them to an enrolled person.
* 3 **one-off guests** (the two callers of pyannote's sample recording, cut out along its reference, and JFK), never
  enrolled: they must stay unknown.
* About 60% of the episodes are clean; the rest are degraded as a whole with one of "phone" (300-3400 Hz band,
  8 kHz), "noise" (babble or white noise at 10-15 dB SNR over the speech), "room" (0.5 s reverberation) or "speed"
  (resampled to 0.9x or 1.1x, so the pitch moves too, like sped-up playback). Enrolment is always from clean audio,
  so the degraded episodes measure robustness to a channel the profile never saw.
* Real speakers' recordings are dealt out so that episodes use mostly different utterances, and the utterances of a
  LibriSpeech speaker's enrolment episode are not reused in their other episodes (identical audio would flatter the
  score). SpeechBrain's speakers only have six sentences of ~2.5 s, so theirs are reused in varying subsets. A
  synthetic voice never says the same sentence twice in the corpus (only short back-channels repeat): flite and
  piper are deterministic, so a repeated sentence would be an exact copy.

Episodes are 45-120 s with 2-4 speakers, a few short overlaps outside enrolment episodes, per-speaker loudness
differences of a few dB and `published` dates over 2025-2026. The dry mix is built by `podscope.synth` (reused when
unchanged) in <out>/dry/; the final <out>/<name>.wav gets the condition, with <name>.json (reference turns in the final
audio's time, i.e. after a speed change, and the condition's parameters) and <name>.rttm next to it; both are reused
when nothing changed. `corpus.json` lists everything. `quick=True` builds a 12-episode subset (6 enrolled people,
ls-367 as the recurring unknown, JFK as the one-off) of the same files.

    .venv/bin/python bench/voice_corpus.py [out_dir] [--quick]      # default out_dir: bench/out/voices
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import math
import random
import sys
import time
import wave
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.signal import resample_poly

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "src"))

import corpus  # noqa: E402
from podscope.audio import probe  # noqa: E402
from podscope.records import SAMPLE_RATE  # noqa: E402
from podscope.synth import Line, build_conversation, load_audio, rttm_label, write_wav  # noqa: E402

__all__ = ["VoiceCorpus", "VoiceEpisode", "voice_corpus"]

# Bumped whenever the plan or the degradations change in a way the cache keys do not see.
CORPUS_VERSION = 1

# ------------------------------------------------------------------------------------------------------ identities

SYNTHETIC = {
    "flite-awb": "flite:awb",
    "flite-rms": "flite:rms",
    "flite-slt": "flite:slt",
    "flite-kal16": "flite:kal16",
    "piper-joe": "piper:joe",
}
# Words per second of speech once trimmed, to size synthetic turns before they are rendered.
WORD_RATE = {"flite-awb": 2.9, "flite-rms": 2.8, "flite-slt": 2.8, "flite-kal16": 2.9, "piper-joe": 2.9}
ENROLLED = ("ls-1688", "ls-1998", "ls-2033", "ls-3080", "flite-awb", "flite-rms", "flite-slt", "flite-kal16")
ENROLLED += ("piper-joe", "sb-spk1")
RECURRING_UNKNOWN = ("ls-367", "sb-spk2")
ONE_OFF = ("pn-a", "pn-b", "jfk")
JFK_TEXT = "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country."
PYANNOTE_SAMPLE = corpus.DATA_DIR / "pyannote-sample"
BABBLE_SOURCE = corpus.DATA_DIR / "whisper" / "stereo_diarization.wav"  # two voices that are in no episode
TOPICS = {
    "lighthouses": corpus._LIGHTHOUSES,
    "maps": corpus._MAPS,
    "glaciers": corpus._GLACIERS,
    "beekeeping": corpus._BEEKEEPING,
    "coffee": corpus._COFFEE,
}

# ------------------------------------------------------------------------------------------------------------ plan

PODCASTS = {  # key -> (title, host, first episode date, days between episodes)
    "harbour": ("Harbour Lights", "flite-awb", datetime.date(2025, 1, 14), 63),
    "margins": ("In the Margins", "ls-1688", datetime.date(2025, 2, 3), 95),
    "wonders": ("Small Wonders", "flite-slt", datetime.date(2025, 1, 28), 68),
    "workbench": ("The Workbench", "piper-joe", datetime.date(2025, 3, 5), 78),
}


@dataclass(frozen=True)
class _Spec:
    podcast: str
    title: str
    topic: str
    speakers: tuple[str, ...]  # the first one opens the episode (the host, when present)
    condition: str
    enrol: str = ""  # the enrolled person this is the enrolment episode of
    quick: bool = False


def _s(podcast: str, title: str, topic: str, speakers: str, condition: str = "clean", **kw: Any) -> _Spec:
    return _Spec(podcast, title, topic, tuple(speakers.split()), condition, **kw)


# fmt: off
_PLAN = (
    _s("harbour", "The keepers' logbooks", "lighthouses", "flite-awb ls-1998 flite-rms", enrol="flite-awb", quick=True),
    _s("harbour", "Lines on a chart", "maps", "flite-awb ls-2033", enrol="ls-2033"),
    _s("harbour", "Foghorns", "lighthouses", "flite-awb flite-kal16 ls-367", "phone"),
    _s("harbour", "Ice at the edge of the map", "glaciers", "flite-awb sb-spk1 ls-3080"),
    _s("harbour", "Fresnel's lens", "lighthouses", "flite-awb ls-1688", "noise", quick=True),
    _s("harbour", "Listener calls", "maps", "flite-awb piper-joe pn-a pn-b"),
    _s("harbour", "Crevasses", "glaciers", "flite-awb ls-3080", "room"),
    _s("harbour", "Guest host: sea charts", "maps", "flite-rms ls-1998 flite-kal16"),
    _s("harbour", "Longitude", "maps", "flite-awb flite-slt ls-367", "speed", quick=True),
    _s("harbour", "Island stations", "lighthouses", "flite-awb ls-2033 sb-spk2"),
    _s("margins", "Reading the sea", "lighthouses", "ls-1688 flite-awb ls-1998", enrol="ls-1688", quick=True),
    _s("margins", "Maps in novels", "maps", "ls-1688 flite-kal16", enrol="flite-kal16"),
    _s("margins", "Books about coffee", "coffee", "ls-1688 ls-2033 flite-slt", "phone"),
    _s("margins", "Guest host: short readings", "beekeeping", "flite-rms sb-spk1 sb-spk2"),
    _s("margins", "Speeches", "maps", "ls-1688 flite-rms jfk", quick=True),
    _s("margins", "Cold places", "glaciers", "ls-1688 ls-3080 piper-joe", "speed"),
    _s("margins", "The bee in literature", "beekeeping", "ls-1688 ls-367 flite-kal16", "room"),
    _s("wonders", "A year with bees", "beekeeping", "flite-slt flite-rms", enrol="flite-slt", quick=True),
    _s("wonders", "First crack", "coffee", "flite-slt ls-3080", enrol="ls-3080"),
    _s("wonders", "Meltwater", "glaciers", "flite-slt sb-spk1", enrol="sb-spk1"),
    _s("wonders", "Swarms", "beekeeping", "flite-slt ls-1998 piper-joe", "noise", quick=True),
    _s("wonders", "The perfect grind", "coffee", "flite-slt flite-kal16 ls-2033"),
    _s("wonders", "Varroa", "beekeeping", "flite-slt flite-rms ls-1688", "phone", quick=True),
    _s("wonders", "Milk and microfoam", "coffee", "flite-slt ls-367", quick=True),
    _s("wonders", "Ice cores", "glaciers", "flite-slt flite-awb sb-spk1", "room"),
    _s("wonders", "City honey", "beekeeping", "flite-slt flite-kal16 ls-3080 sb-spk2", "speed"),
    _s("wonders", "Guest host: espresso", "coffee", "flite-kal16 ls-2033", "noise"),
    _s("workbench", "Roasting at home", "coffee", "piper-joe flite-slt", enrol="piper-joe", quick=True),
    _s("workbench", "Building a hive", "beekeeping", "piper-joe flite-rms", enrol="flite-rms", quick=True),
    _s("workbench", "Drawing your own map", "maps", "piper-joe ls-1998", enrol="ls-1998", quick=True),
    _s("workbench", "Water for coffee", "coffee", "piper-joe ls-2033 sb-spk1", "phone"),
    _s("workbench", "Smokers and hive tools", "beekeeping", "piper-joe flite-kal16 flite-rms"),
    _s("workbench", "A survey by hand", "maps", "piper-joe ls-3080 flite-awb", "noise"),
    _s("workbench", "Grinders", "coffee", "piper-joe flite-slt ls-2033"),
    _s("workbench", "Field kit", "glaciers", "piper-joe sb-spk1 ls-1998"),
    _s("workbench", "Four at the bench", "beekeeping", "piper-joe flite-rms ls-3080 flite-kal16", "speed"),
)
# fmt: on

# ------------------------------------------------------------------------------------------------------------ API


@dataclass(frozen=True)
class VoiceEpisode:
    name: str  # "ve01-..." unique, also the wav stem
    podcast: str
    title: str
    published: datetime.date
    audio_path: Path
    condition: str  # "clean" | "phone" | "noise" | "room" | "speed"
    turns: tuple[tuple[float, float, str], ...]  # reference (start, end, identity) in the final audio's time
    identities: tuple[str, ...]  # who speaks in it


@dataclass(frozen=True)
class VoiceCorpus:
    episodes: tuple[VoiceEpisode, ...]
    enrolled: dict[str, str]  # identity -> name of its enrolment episode
    recurring_unknown: frozenset[str]
    one_off: frozenset[str]


# --------------------------------------------------------------------------------------------------- building plans


@dataclass(frozen=True)
class _Episode:
    """One planned episode: everything needed to render it."""

    name: str
    spec: _Spec
    published: datetime.date
    lines: tuple[Line, ...]
    seed: int
    params: dict[str, Any]  # the condition's parameters


def _names() -> list[str]:
    counts: Counter[str] = Counter()
    names = []
    for i, spec in enumerate(_PLAN):
        counts[spec.podcast] += 1
        names.append(f"ve{i + 1:02d}-{spec.podcast}-{counts[spec.podcast]:02d}")
    return names


def _check_plan() -> None:
    """The properties the module docstring promises, on the plan (the built audio is checked in `_check_built`)."""
    episodes: dict[str, list[_Spec]] = {}
    partners: dict[str, set[str]] = {}
    for spec in _PLAN:
        assert len(set(spec.speakers)) == len(spec.speakers) and 2 <= len(spec.speakers) <= 4, spec
        assert spec.condition in ("clean", "phone", "noise", "room", "speed"), spec
        assert any(s in SYNTHETIC for s in spec.speakers), f"{spec.title}: needs a synthetic voice to fill time"
        for who in spec.speakers:
            episodes.setdefault(who, []).append(spec)
            partners.setdefault(who, set()).update(set(spec.speakers) - {who})
    assert set(episodes) == set(ENROLLED + RECURRING_UNKNOWN + ONE_OFF), sorted(episodes)
    for who in ENROLLED:
        enrol = [s for s in episodes[who] if s.enrol == who]
        assert len(enrol) == 1 and enrol[0].condition == "clean", who
        assert len(episodes[who]) >= 4 and len(partners[who]) >= 3, who
        assert any(s.condition != "clean" for s in episodes[who]), who
    assert 3 <= len(episodes["ls-367"]) <= 4 and 2 <= len(episodes["sb-spk2"]) <= 3
    assert all(len(episodes[who]) == 1 for who in ONE_OFF)
    assert all(not s.enrol or s.enrol in s.speakers for s in _PLAN)


def _real_sources(out_dir: Path) -> dict[str, list[tuple[Path, str]]]:
    """Every real identity's recordings as (file, transcript or "")."""
    sources: dict[str, list[tuple[Path, str]]] = {}
    for speaker in ("1688", "1998", "2033", "3080", "367"):
        sources[f"ls-{speaker}"] = [(path, text) for _, path, text in corpus._librispeech(speaker)]
    for speaker in ("spk1", "spk2"):
        sources[f"sb-{speaker}"] = [(path, text) for _, path, text in corpus._speechbrain(speaker)]
    sources.update(_pyannote_cuts(out_dir / "sources"))
    sources["jfk"] = [(corpus.DATA_DIR / "whisper" / "jfk.flac", JFK_TEXT)]
    return sources


def _pyannote_cuts(folder: Path, min_seconds: float = 0.4) -> dict[str, list[tuple[Path, str]]]:
    """The two callers of pyannote's sample as separate clips: each speaker's reference turns minus the other speaker's
    (no overlapped speech), pieces of `min_seconds` or more. Rewritten only when the sample changed, so the clips'
    modification times (part of the conversation cache key) stay put."""
    rows = [line.split() for line in (PYANNOTE_SAMPLE / "sample.rttm").read_text().splitlines() if line.strip()]
    turns = [(float(r[3]), float(r[3]) + float(r[4]), r[7]) for r in rows]
    identity = {"speaker90": "pn-a", "speaker91": "pn-b"}
    pieces: dict[str, list[tuple[float, float]]] = {"pn-a": [], "pn-b": []}
    for start, end, label in turns:
        spans = [(start, end)]
        for s2, e2, other in turns:
            if other != label:
                spans = [p for a, b in spans for p in ((a, min(b, s2)), (max(a, e2), b)) if p[1] - p[0] > 0]
        pieces[identity[label]] += [(a, b) for a, b in spans if b - a >= min_seconds]
    wav = PYANNOTE_SAMPLE / "sample.wav"
    st = wav.stat()
    key = json.dumps([CORPUS_VERSION, st.st_size, st.st_mtime_ns, pieces], sort_keys=True)
    marker = folder / "pyannote-cuts.json"
    paths = {who: [folder / f"{who}-{k + 1:02d}.wav" for k in range(len(spans))] for who, spans in pieces.items()}
    fresh = marker.is_file() and marker.read_text() == key and all(p.is_file() for ps in paths.values() for p in ps)
    if not fresh:
        audio = load_audio(wav)
        for who, spans in pieces.items():
            for (a, b), path in zip(sorted(spans), paths[who], strict=True):
                write_wav(path, audio[round(a * SAMPLE_RATE) : round(b * SAMPLE_RATE)])
        marker.write_text(key)
    return {who: [(p, "") for p in ps] for who, ps in paths.items()}


def _deal_recordings(
    recordings: list[tuple[Path, str]], appearances: list[tuple[int, bool]], rng: random.Random
) -> dict[int, list[tuple[Path, str]]]:
    """Which recordings a real speaker says in each of their episodes (episode index -> recordings).

    The enrolment appearance takes recordings until about 16 s of speech; the others take 2-3 (3-4 short ones) of
    the rest, the least used first, so consecutive episodes use mostly different utterances."""
    seconds = {path: max(0.3, float(probe(path).declared_duration or 0.0) - 0.4) for path, _ in recordings}
    short = sum(seconds.values()) / len(seconds) < 4.0
    order = list(recordings)
    rng.shuffle(order)
    out: dict[int, list[tuple[Path, str]]] = {}
    enrol_used: set[Path] = set()
    for index, enrol in appearances:
        if enrol:
            chosen: list[tuple[Path, str]] = []
            for item in order:
                if sum(seconds[p] for p, _ in chosen) >= 16.0:
                    break
                chosen.append(item)
            out[index] = chosen
            enrol_used = {p for p, _ in chosen}
    rest = [r for r in order if r[0] not in enrol_used]
    pool = rest if len(rest) >= 4 else order
    usage = Counter[Path]()
    previous: set[Path] = set()
    for index, enrol in appearances:
        if enrol:
            continue
        k = min(len(pool), rng.choice((3, 4) if short else (2, 3)))
        ranked = sorted(pool, key=lambda r: (usage[r[0]] + (0.5 if r[0] in previous else 0.0), rng.random()))
        chosen = ranked[:k]
        if not short and k == 3 and sum(seconds[p] for p, _ in chosen) > 30.0:
            chosen = chosen[:2]
        usage.update(p for p, _ in chosen)
        previous = {p for p, _ in chosen}
        out[index] = chosen
    return out


class _Sentences:
    """Per synthetic voice, sentences of an episode's topic in order, from a seeded starting point, never one the voice
    has already said anywhere in the corpus; when a voice has said all of a topic, it moves on to the next topic."""

    def __init__(self, rng: random.Random):
        self.pools = {topic: corpus._sentences(block) for topic, block in TOPICS.items()}
        self.rng = rng
        self.cursor: dict[tuple[str, str], int] = {}
        self.said: dict[str, set[str]] = {}

    def take(self, voice: str, topic: str) -> str:
        said = self.said.setdefault(voice, set())
        topics = list(self.pools)
        first = topics.index(topic)
        for t in topics[first:] + topics[:first]:
            pool = self.pools[t]
            start = self.cursor.setdefault((voice, t), self.rng.randrange(len(pool)))
            for step in range(len(pool)):
                sentence = pool[(start + step) % len(pool)]
                if sentence not in said:
                    said.add(sentence)
                    self.cursor[(voice, t)] = (start + step + 1) % len(pool)
                    return sentence
        raise RuntimeError(f"{voice} has said every sentence of every topic: the corpus needs more text")


def _plan(out_dir: Path) -> list[_Episode]:
    """All 36 episodes' lines, dates and conditions. Cheap (no audio is rendered), deterministic, and the same in quick
    mode, which only builds a subset of it."""
    _check_plan()
    names = _names()
    sources = _real_sources(out_dir)
    real_lines: dict[str, dict[int, list[tuple[Path, str]]]] = {}
    for who, recordings in sources.items():
        appearances = [(i, spec.enrol == who) for i, spec in enumerate(_PLAN) if who in spec.speakers]
        if who in ONE_OFF:  # their one episode has all of them
            real_lines[who] = {index: recordings for index, _ in appearances}
        else:
            real_lines[who] = _deal_recordings(recordings, appearances, random.Random(f"deal-{who}"))
    seconds = {path: float(probe(path).declared_duration or 0.0) for rs in sources.values() for path, _ in rs}
    sentences = _Sentences(random.Random(7))
    short_turns = {who: list(corpus._SHORT_TURNS) for who in SYNTHETIC}
    for who, turns in short_turns.items():
        random.Random(who).shuffle(turns)
    conditions = Counter[str]()
    episode_count = Counter[str]()
    episodes = []
    for i, (name, spec) in enumerate(zip(names, _PLAN, strict=True)):
        erng = random.Random(1000 + i)
        _, _, first, every = PODCASTS[spec.podcast]
        published = first + datetime.timedelta(days=every * episode_count[spec.podcast] + erng.randint(-3, 3))
        episode_count[spec.podcast] += 1
        # Real speakers' turns are their recordings; synthetic speakers fill the rest of a target length.
        queues: dict[str, list[tuple[Line, float]]] = {}
        real_seconds = 0.0
        for who in spec.speakers:
            if who not in SYNTHETIC:
                recs = real_lines[who][i]
                queues[who] = [(Line(who, text, f"audio:{p}"), max(0.3, seconds[p] - 0.4)) for p, text in recs]
                real_seconds += sum(s for _, s in queues[who])
        synthetic = [s for s in spec.speakers if s in SYNTHETIC]
        target = erng.uniform(75.0, 108.0) if len(spec.speakers) == 4 else erng.uniform(55.0, 100.0)
        fill = max(0.0, (target - 1.0) / 1.12 - real_seconds)
        weights = {s: 1.8 if s == spec.enrol else 1.4 if s == PODCASTS[spec.podcast][1] else 1.0 for s in synthetic}
        for who in synthetic:
            want = max(24.0 if who == spec.enrol else 10.0, fill * weights[who] / sum(weights.values()))
            queues[who] = []
            said = 0.0
            while said < want:
                text = " ".join(sentences.take(who, spec.topic) for _ in range(erng.choice((1, 2, 2, 3))))
                estimate = len(text.split()) / WORD_RATE[who]
                queues[who].append((Line(who, text, SYNTHETIC[who]), estimate))
                said += estimate
        lines = _interleave(spec.speakers, queues, short_turns, erng)
        conditions[spec.condition] += 1
        params: dict[str, Any] = {}
        if spec.condition == "speed":
            params["speed"] = (1.1, 0.9)[conditions["speed"] % 2]
        elif spec.condition == "noise":
            params["noise"] = ("babble", "white")[conditions["noise"] % 2]
            params["snr_db"] = round(erng.uniform(10.0, 15.0), 1)
        episodes.append(_Episode(name, spec, published, tuple(lines), 1000 + i, params))
    return episodes


def _interleave(
    speakers: Sequence[str],
    queues: dict[str, list[tuple[Line, float]]],
    short_turns: dict[str, list[str]],
    rng: random.Random,
) -> list[Line]:
    """One conversation order: the first speaker opens, then the next speaker is drawn among those who did not just
    speak, weighted by the seconds they have left; now and then a synthetic listener drops in a short turn."""
    left = {who: sum(s for _, s in queues[who]) for who in speakers}
    lines: list[Line] = []
    last = ""
    while any(queues.values()):
        ready = [s for s in speakers if queues[s]]
        candidates = [s for s in ready if s != last] or ready
        who = (
            speakers[0]
            if not lines and queues[speakers[0]]
            else rng.choices(candidates, [left[s] for s in candidates])[0]
        )
        line, seconds = queues[who].pop(0)
        left[who] -= seconds
        lines.append(line)
        last = who
        listeners = [s for s in speakers if s in SYNTHETIC and s != who]
        if listeners and any(queues.values()) and rng.random() < 0.2:
            listener = rng.choice(listeners)
            turns = short_turns[listener]
            turns.append(turns.pop(0))
            lines.append(Line(listener, turns[-1], SYNTHETIC[listener]))
            last = listener
    return lines


# ------------------------------------------------------------------------------------------------------ rendering


def _degrade(
    audio: np.ndarray, condition: str, params: dict[str, Any], seed: int, turns: list[tuple[float, float, str]]
) -> np.ndarray:
    if condition == "clean":
        return audio
    if condition in ("phone", "room"):
        import diarization  # heavy (pyannote, the diarizer): only when an episode is actually rendered

        return diarization._apply(condition, audio, seed)
    if condition == "speed":
        up, down = 10, round(10 * params["speed"])
        return np.asarray(resample_poly(audio, up, down), dtype=np.float32)
    if condition == "noise":
        rng = np.random.default_rng([seed, 11])
        if params["noise"] == "babble":
            source = load_audio(BABBLE_SOURCE)
            stream = np.tile(source, math.ceil(len(audio) / len(source)) + 1)
            noise = sum(
                np.roll(stream, int(rng.integers(len(source))))[: len(audio)] * rng.uniform(0.6, 1.0) for _ in range(6)
            )
        else:
            noise = rng.standard_normal(len(audio))
        speech = np.zeros(len(audio), dtype=bool)
        for start, end, _ in turns:
            speech[round(start * SAMPLE_RATE) : round(end * SAMPLE_RATE)] = True
        power = float(np.mean(np.square(audio[speech], dtype=np.float64)))
        noise = np.asarray(noise, dtype=np.float64)
        noise *= math.sqrt(power / 10 ** (params["snr_db"] / 10) / float(np.mean(noise[speech] ** 2)))
        out = audio + noise
        return (out * min(1.0, 0.9 / float(np.max(np.abs(out))))).astype(np.float32)
    raise ValueError(f"unknown condition {condition!r}")


def _render(episode: _Episode, out_dir: Path) -> VoiceEpisode:
    """The dry mix (cached by `build_conversation`), then the condition, cached by a key over the dry mix's key."""
    spec = episode.spec
    rng = random.Random(episode.seed)
    gains = {who: round(rng.uniform(-4.0, 3.0), 1) for who in spec.speakers}
    dry = build_conversation(
        list(episode.lines),
        out_dir / "dry" / f"{episode.name}.wav",
        gap=(0.15, 0.9),
        overlap_prob=0.0 if spec.enrol else 0.06,
        overlap=(0.3, 0.8),
        seed=episode.seed,
        gain_db=gains,
        level_db=-22.0,
        noise_db=-62.0,
    )
    dry_key = json.loads(dry.audio_path.with_suffix(".ref.json").read_text())["key"]
    key = hashlib.sha256(
        json.dumps([CORPUS_VERSION, dry_key, spec.condition, episode.params], sort_keys=True).encode()
    ).hexdigest()
    audio_path = out_dir / f"{episode.name}.wav"
    meta_path = audio_path.with_suffix(".json")
    turns = _load_final(audio_path, meta_path, key)
    if turns is None:
        dry_turns = [(t.start, t.end, t.speaker) for t in dry.turns]
        audio = _degrade(load_audio(dry.audio_path), spec.condition, episode.params, episode.seed, dry_turns)
        factor = float(episode.params.get("speed", 1.0))
        duration = len(audio) / SAMPLE_RATE
        turns = [(round(s / factor, 6), round(min(e / factor, duration), 6), who) for s, e, who in dry_turns]
        write_wav(audio_path, audio)
        meta = {
            "key": key,
            "name": episode.name,
            "podcast": PODCASTS[spec.podcast][0],
            "title": spec.title,
            "published": episode.published.isoformat(),
            "condition": spec.condition,
            "params": episode.params,
            "duration": duration,
            "turns": [list(t) for t in turns],
        }
        uri = rttm_label(episode.name)
        audio_path.with_suffix(".rttm").write_text(
            "".join(f"SPEAKER {uri} 1 {s:.6f} {e - s:.6f} <NA> <NA> {who} <NA> <NA>\n" for s, e, who in turns)
        )
        meta_path.write_text(json.dumps(meta, indent=1) + "\n")
    return VoiceEpisode(
        name=episode.name,
        podcast=PODCASTS[spec.podcast][0],
        title=spec.title,
        published=episode.published,
        audio_path=audio_path,
        condition=spec.condition,
        turns=tuple(turns),
        identities=spec.speakers,
    )


def _load_final(audio_path: Path, meta_path: Path, key: str) -> list[tuple[float, float, str]] | None:
    try:
        meta = json.loads(meta_path.read_text())
        if meta.get("key") != key:
            return None
        with wave.open(str(audio_path), "rb") as w:
            if w.getframerate() != SAMPLE_RATE or w.getnframes() != round(float(meta["duration"]) * SAMPLE_RATE):
                return None
        return [(float(s), float(e), str(who)) for s, e, who in meta["turns"]]
    except (OSError, ValueError, KeyError, TypeError, EOFError, wave.Error):
        return None


def _speaking(episode: VoiceEpisode) -> dict[str, float]:
    """Seconds of reference turns per identity."""
    out = dict.fromkeys(episode.identities, 0.0)
    for start, end, who in episode.turns:
        out[who] += end - start
    return out


def _duration(episode: VoiceEpisode) -> float:
    with wave.open(str(episode.audio_path), "rb") as w:
        return w.getnframes() / w.getframerate()


def _check_built(voices: VoiceCorpus) -> None:
    for episode in voices.episodes:
        duration = _duration(episode)
        if not 45.0 <= duration <= 120.0:
            raise RuntimeError(f"{episode.name} lasts {duration:.1f} s, outside 45-120 s")
    by_name = {e.name: e for e in voices.episodes}
    for who, name in voices.enrolled.items():
        seconds = _speaking(by_name[name])[who]
        if seconds < 15.0:
            raise RuntimeError(f"{who} speaks only {seconds:.1f} s in their enrolment episode {name}")


def voice_corpus(out_dir: Path, *, quick: bool = False) -> VoiceCorpus:
    """Build (or reuse) the corpus in `out_dir`; `quick` builds the 12-episode subset."""
    out_dir = Path(out_dir)
    plan = _plan(out_dir)
    if quick:
        plan = [e for e in plan if e.spec.quick]
    episodes = tuple(_render(e, out_dir) for e in plan)
    appearances = Counter(who for e in episodes for who in e.identities)
    enrolled = {e.spec.enrol: e.name for e in plan if e.spec.enrol}
    voices = VoiceCorpus(
        episodes=episodes,
        enrolled=enrolled,
        recurring_unknown=frozenset(w for w in RECURRING_UNKNOWN if appearances[w] >= 2),
        one_off=frozenset(w for w in ONE_OFF if appearances[w] == 1),
    )
    _check_built(voices)
    if quick:
        assert len(enrolled) == 6 and all(appearances[w] >= 2 for w in enrolled), appearances
        assert len(voices.recurring_unknown) == 1 and len(voices.one_off) == 1, voices
        assert set(appearances) == set(enrolled) | voices.recurring_unknown | voices.one_off, appearances
    manifest = {
        "enrolled": voices.enrolled,
        "recurring_unknown": sorted(voices.recurring_unknown),
        "one_off": sorted(voices.one_off),
        "episodes": [
            {
                "name": e.name,
                "podcast": e.podcast,
                "title": e.title,
                "published": e.published.isoformat(),
                "audio": e.audio_path.name,
                "condition": e.condition,
                "identities": list(e.identities),
                "turns": [list(t) for t in e.turns],
            }
            for e in episodes
        ],
    }
    (out_dir / ("corpus-quick.json" if quick else "corpus.json")).write_text(json.dumps(manifest, indent=1) + "\n")
    return voices


# ------------------------------------------------------------------------------------------------------------ CLI


def _role(voices: VoiceCorpus, who: str) -> str:
    if who in voices.enrolled:
        return f"enrolled from {voices.enrolled[who]}"
    return "recurring unknown" if who in voices.recurring_unknown else "one-off"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out_dir", nargs="?", type=Path, default=ROOT / "bench" / "out" / "voices")
    parser.add_argument("--quick", action="store_true", help="build the 12-episode subset")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    voices = voice_corpus(args.out_dir, quick=args.quick)
    seconds = time.perf_counter() - t0
    totals: dict[str, list[float]] = {}
    for e in voices.episodes:
        speaking = _speaking(e)
        who = "  ".join(f"{w} {s:4.1f}" for w, s in speaking.items())
        print(f"{e.name:17} {e.podcast:15} {e.published} {e.condition:6} {_duration(e):6.1f} s  {who}")
        for w, s in speaking.items():
            totals.setdefault(w, []).append(s)
    print()
    for who in sorted(totals, key=lambda w: (_role(voices, w).split()[0], w)):
        print(f"{who:12} {len(totals[who]):3} episodes {sum(totals[who]):7.1f} s   {_role(voices, who)}")
    total = sum(_duration(e) for e in voices.episodes)
    print(
        f"\n{len(voices.episodes)} episodes, {total / 60:.1f} min of audio, built in {seconds:.1f} s in {args.out_dir}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
