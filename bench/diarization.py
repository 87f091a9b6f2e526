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
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from scipy.signal import butter, fftconvolve, resample_poly, sosfilt

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from pyannote.core import Annotation, Segment  # noqa: E402
from pyannote.metrics.diarization import DiarizationErrorRate  # noqa: E402

from podscope.audio import load_audio  # noqa: E402
from podscope.models import Diarization  # noqa: E402
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


@dataclass(frozen=True)
class Case:
    name: str
    audio: Path
    reference: list[tuple[float, float, str]]
    speakers: int


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
    """Channel effects for robustness checks: "phone" (300-3400 Hz band, 8 kHz, hiss) or "room" (reverberation with
    a 0.5 s decay at a 6 dB direct-to-reverberant ratio, plus hiss). References stay those of the dry mix."""
    rng = np.random.default_rng([seed, 7])
    if effect == "phone":
        sos = butter(6, [300, 3400], btype="bandpass", fs=16000, output="sos")
        out = resample_poly(resample_poly(sosfilt(sos, audio), 1, 2), 2, 1)[: len(audio)]
        noise_db = -50.0
    elif effect == "room":
        t = np.arange(int(0.6 * 16000)) / 16000
        tail = rng.standard_normal(len(t)) * np.exp(-6.9 * t / 0.5)
        tail[: int(0.003 * 16000)] = 0.0
        tail *= 10 ** (-6 / 20) / np.sqrt(np.sum(tail**2))
        tail[0] = 1.0
        out = fftconvolve(audio, tail)[: len(audio)]
        noise_db = -50.0
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
    sample = DATA / "pyannote-sample"
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
    if only is None or only in "sample":
        out.append(Case("sample", sample / "sample.wav", _rttm(sample / "sample.rttm"), 2))
    for name, spec in specs + (MORE if more else []):
        if only is not None and only not in name:
            continue
        out.append(_build(name, workdir, **spec))  # type: ignore[arg-type]
    return out


# -------------------------------------------------------------------------------------------------------- scoring


def annotation(rows: list[tuple[float, float, str]]) -> Annotation:
    ann = Annotation()
    for i, (s, e, label) in enumerate(rows):
        ann[Segment(s, e), i] = label
    return ann


def score(case: Case, result: Diarization) -> tuple[float, float]:
    ref = annotation(case.reference)
    hyp = annotation([(t.start, t.end, t.speaker) for t in result.turns])
    uem_end = max([e for _, e, _ in case.reference] + [t.end for t in result.turns])
    from pyannote.core import Timeline

    uem = Timeline([Segment(0.0, uem_end)])
    excluded = DiarizationErrorRate(collar=0.5, skip_overlap=True)(ref, hyp, uem=uem)
    included = DiarizationErrorRate(collar=0.5, skip_overlap=False)(ref, hyp, uem=uem)
    return float(excluded), float(included)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", help="run only files whose name contains this")
    parser.add_argument("--workdir", type=Path, help="keep generated audio here (default: a temporary folder)")
    parser.add_argument("--more", action="store_true", help="also run the second set of conversations")
    parser.add_argument("--long", type=float, default=0.0, help="also time a file of this many minutes")
    parser.add_argument("--set", action="append", default=[], help="override an option, e.g. --set threshold=0.45")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")

    opts = DiarizationOptions()
    for item in args.set:
        key, value = item.split("=", 1)
        current = getattr(opts, key)
        opts = replace(opts, **{key: type(current)(value) if current is not None else int(value)})

    with tempfile.TemporaryDirectory(prefix="podscope-bench-") as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        todo = cases(workdir, args.only, args.more)
        diarize(load_audio(todo[0].audio)[: 16000 * 12], options=opts)  # load the models once, outside the timing
        print(
            f"{'file':<16} {'minutes':>7} {'DER excl.':>9} {'DER incl.':>9} {'speakers':>9} {'seconds':>8} {'xRT':>6}"
        )
        rows: list[tuple[float, bool]] = []
        for case in todo:
            audio = load_audio(case.audio)
            t0 = time.perf_counter()
            result = diarize(audio, options=opts)
            seconds = time.perf_counter() - t0
            excl, incl = score(case, result)
            minutes = len(audio) / 16000 / 60
            found = len(result.speakers)
            rows.append((excl, found == case.speakers))
            flag = "" if found == case.speakers else "  <- count"
            print(
                f"{case.name:<16} {minutes:7.1f} {100 * excl:8.2f}% {100 * incl:8.2f}% {found:>4}/{case.speakers:<4}"
                f" {seconds:8.2f} {len(audio) / 16000 / seconds:6.0f}{flag}",
                flush=True,
            )
        print(
            f"{len(rows)} files: mean DER (overlap excluded) {100 * np.mean([r[0] for r in rows]):.2f}%, "
            f"worst {100 * max(r[0] for r in rows):.2f}%, speaker count right in {sum(r[1] for r in rows)}/{len(rows)}"
        )
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
