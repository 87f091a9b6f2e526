"""ASR benchmark: the language each file is detected as, and what deterministic decoding costs in WER.

Why a script and not a test: it prints figures for people. Run it from the repository root:

    .venv/bin/python bench/asr.py                 # real short files: pyannote sample, jfk, speechbrain sentences
    .venv/bin/python bench/asr.py --long          # also the 9.5-minute gecko sales call (about 70 s a run on 2 cores)
    .venv/bin/python bench/asr.py --runs 3 --fallback-runs 1 --only gecko --long

Every file goes through podscope's own recogniser (`WhisperTranscriber`, the default `AsrOptions`: model base, int8,
beam 1, Silero VAD, 2 threads) with no language declared, so the language is detected as in the library: up to five
speech-rich 30 s windows over the recording, probabilities averaged. For comparison the table also shows what Whisper
says from the first 30 s alone (how podscope detected before). Each file is then recognised in two modes, each
`--runs` times in one process:

- greedy: temperature 0 only, speech stretches decoded in batches of 8: podscope's decoding;
- one-by-one: the same, one stretch after another (`batch_size=1`, faster-whisper's sequential decoding): what
  batching costs or gains in WER, and the time of each;
- fallback: faster-whisper's default schedule (0.0, 0.2, ... 1.0), sequential (the batched pipeline uses the first
  temperature only): a segment whose text looks doubtful (compression
  ratio over 2.4, mean log-probability under -1) is decoded again by random sampling at the next temperature;
- seeded (with --seeded): the fallback with `ctranslate2.set_random_seed(0)` before every run. CTranslate2 seeds each
  thread's generator once, at its first use, so this does not make runs in one process repeat each other.

Printed per file and mode: the WER of each run, whether every run gave exactly the same text, and how many segments
the fallback re-decoded by sampling. WER is jiwer over lower-cased words without punctuation (hyphens split);
references: pyannote's sample.stm, the known JFK sentence, speechbrain's ASR_train.json (the 8 sentences that have
words), the gecko call's demo.json words (terms of type WORD; tests/data/conversations, skipped when missing).
Figures go to bench/out/asr.json too.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import ctranslate2  # noqa: E402
import jiwer  # noqa: E402
from faster_whisper.vad import VadOptions  # noqa: E402

from podscope import audio  # noqa: E402
from podscope.asr.whisper import AsrOptions, WhisperTranscriber, load_model  # noqa: E402

DATA = ROOT / "tests" / "data"
OUT = ROOT / "bench" / "out"
JFK = "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country."
FALLBACK = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)


@dataclass
class Case:
    """One evaluation file, or a set of short files scored together: their audio and reference words."""

    name: str
    files: list[Path]
    references: list[str]
    language: str | None = None  # set instead of detected


def normalise(text: str) -> str:
    text = text.lower().replace("-", " ")
    text = re.sub(r"[^\w\s']", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def cases(long: bool, wrong: str | None) -> list[Case]:
    out = []
    stm = DATA / "pyannote-sample" / "sample.stm"
    words = [f[5] for f in (line.split(maxsplit=5) for line in stm.read_text().splitlines()) if len(f) == 6]
    out.append(Case("pyannote-sample (30 s call)", [DATA / "pyannote-sample" / "sample.wav"], [" ".join(words)]))
    out.append(Case("whisper jfk (11 s)", [DATA / "whisper" / "jfk.flac"], [JFK]))
    sb = DATA / "speechbrain-asr"
    texts = json.loads((sb / "ASR_train.json").read_text())
    keys = sorted(k for k in texts if (sb / f"{k}.wav").exists())
    out.append(
        Case(f"speechbrain ({len(keys)} sentences)", [sb / f"{k}.wav" for k in keys], [texts[k]["wrd"] for k in keys])
    )
    gecko = DATA / "conversations" / "gecko-sales-call"
    if long and (gecko / "demo.mp3").exists():
        doc = json.loads((gecko / "demo.json").read_text())
        ref = " ".join(t["text"] for m in doc["monologues"] for t in m["terms"] if t.get("type") == "WORD")
        out.append(Case("gecko sales call (9.5 min)", [gecko / "demo.mp3"], [ref]))
    elif long:
        print(f"skipped the gecko call: {gecko / 'demo.mp3'} is missing")
    if wrong:  # the incident: English decoded as another language, where the fallback samples
        out.append(Case(f"pyannote-sample set to {wrong!r}", out[0].files, out[0].references, wrong))
    return out


def first_window_language(transcriber: WhisperTranscriber, path: Path) -> tuple[str, float]:
    """What Whisper detects from the first 30 s of speech alone, as podscope did before it looked at several windows
    (faster-whisper's own detection on the first chunk, after the same VAD)."""
    opts = transcriber.options
    model = load_model(transcriber.resolved, opts.compute_type, opts.cpu_threads)
    if not model.model.is_multilingual:
        return "en", 1.0
    with audio.decode(path) as decoded:
        first_chunk = decoded.read(0.0, opts.chunk_seconds)
    language, probability, _all = model.detect_language(
        audio=first_chunk, vad_filter=True, vad_parameters=VadOptions(min_silence_duration_ms=500, speech_pad_ms=200)
    )
    return language, float(probability)


def run_case(case: Case, transcribers: dict[str, WhisperTranscriber], runs: dict[str, int]) -> dict[str, object]:
    row: dict[str, object] = {"name": case.name, "modes": {}}
    greedy = transcribers["greedy"]
    seconds = 0.0
    languages = []
    for path in case.files:
        with audio.decode(path) as decoded:
            seconds += decoded.duration
            t0 = time.perf_counter()
            choice = greedy.choose_language(decoded, language=case.language)
            detect_s = time.perf_counter() - t0
        first = first_window_language(greedy, path)
        languages.append(
            {
                "file": path.name,
                "language": choice.code,
                "source": choice.source,
                "probability": round(choice.probability, 4),
                "windows": choice.windows,
                "first_30s": first[0],
                "first_30s_probability": round(first[1], 4),
                "detect_seconds": round(detect_s, 2),
            }
        )
    row["duration"] = seconds
    row["languages"] = languages
    chosen = {entry["file"]: str(entry["language"]) for entry in languages}  # detected once: it is deterministic
    for mode, transcriber in transcribers.items():
        texts: list[list[str]] = []
        wers, resampled, times, counts = [], [], [], []
        if not runs[mode]:
            continue
        for _ in range(runs[mode]):
            if mode == "seeded":
                ctranslate2.set_random_seed(0)
            hyps, changed = [], 0
            t0 = time.perf_counter()
            for path in case.files:
                with audio.decode(path) as decoded:
                    result = transcriber.transcribe(decoded, language=chosen[path.name])
                hyps.append(" ".join(s.text for s in result.segments))
                changed += transcriber.last_resampled
            times.append(time.perf_counter() - t0)
            texts.append(hyps)
            counts.append(sum(len(normalise(h).split()) for h in hyps))
            wers.append(jiwer.wer([normalise(r) for r in case.references], [normalise(h) or "<empty>" for h in hyps]))
            resampled.append(changed)
        row["modes"][mode] = {  # type: ignore[index]
            "wer": wers,
            "same_every_run": all(t == texts[0] for t in texts),
            "resampled_segments": resampled,
            "seconds_per_run": [round(t, 1) for t in times],
            "words": counts,
            "reference_words": sum(len(normalise(r).split()) for r in case.references),
        }
    return row


def pct(values: list[float]) -> str:
    return " / ".join(f"{100 * v:.2f}%" for v in values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="base")
    parser.add_argument("--long", action="store_true", help="also the 9.5-minute gecko sales call")
    parser.add_argument("--only", default=None, help="run only cases whose name contains this")
    parser.add_argument("--runs", type=int, default=2, help="greedy (and seeded) runs per file; 2+ checks they match")
    parser.add_argument("--fallback-runs", type=int, default=None, help="fallback runs per file (default: --runs)")
    parser.add_argument("--seeded", action="store_true", help="also the fallback seeded before every run")
    parser.add_argument(
        "--wrong-language",
        default="cy",
        help="also recognise the pyannote sample in this language (the incident: English detected as Welsh); '' skips",
    )
    args = parser.parse_args()
    cache = OUT / "models"  # the split offline base model is joined here once
    transcribers = {
        "greedy": WhisperTranscriber(AsrOptions(model=args.model, allow_download=False), cache),
        "one-by-one": WhisperTranscriber(AsrOptions(model=args.model, allow_download=False, batch_size=1), cache),
        "fallback": WhisperTranscriber(
            AsrOptions(model=args.model, allow_download=False, temperatures=FALLBACK, batch_size=1), cache
        ),
    }
    runs = {
        "greedy": args.runs,
        "one-by-one": 1,
        "fallback": args.fallback_runs if args.fallback_runs is not None else args.runs,
    }
    if args.seeded:
        transcribers["seeded"] = transcribers["fallback"]
        runs["seeded"] = args.runs
    rows = []
    for case in cases(args.long, args.wrong_language or None):
        if args.only and args.only not in case.name:
            continue
        row = run_case(case, transcribers, runs)
        rows.append(row)
        langs = row["languages"]
        assert isinstance(langs, list)
        detected = ", ".join(sorted({f"{x['language']} ({x['source']})" for x in langs}))
        probability = min(x["probability"] for x in langs)
        first = ", ".join(sorted({f"{x['first_30s']}" for x in langs}))
        windows = max(len(x["windows"]) for x in langs)
        print(
            f"{case.name}: {row['duration']:.1f} s; language {detected}, p >= {probability:.3f}"
            f" ({windows} window(s) at most, {sum(x['detect_seconds'] for x in langs):.1f} s);"
            f" first 30 s alone: {first}"
        )
        for mode, m in row["modes"].items():  # type: ignore[attr-defined]
            print(
                f"  {mode:<10} WER {pct(m['wer']):<24} same every run: {'yes' if m['same_every_run'] else 'NO':<4}"
                f" words {m['words']} of {m['reference_words']}  re-sampled segments {m['resampled_segments']}"
                f"  {' / '.join(f'{t:.1f}' for t in m['seconds_per_run'])} s per run",
                flush=True,
            )
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "asr.json").write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
