"""Benchmark of the episode pipeline: DER, WER, speaker counts, real-time factor per stage, peak memory.

    .venv/bin/python bench/pipeline.py                  # real sample + stitched real speech + synthetic + 10 min
    .venv/bin/python bench/pipeline.py --long           # also a 60-minute and a 3-hour episode (slow)
    .venv/bin/python bench/pipeline.py --model tiny.en  # another Whisper model
    .venv/bin/python bench/pipeline.py --speed          # only the side-by-side speed check below

Speed, side by side (`--speed`, also printed after the table): one real 9.5-minute call (or `--speed-file FILE`) is
transcribed by faster-whisper alone (the same model folder, int8, 2 threads, beam 1, word timestamps, Silero VAD: what
a user would run without podscope) and processed by `podscope add-audio` (decode, diarize, transcribe, align, store,
index), each in a fresh process timed from start to exit (start-up and model loading included), in a home whose
models are ready and in a new home (models joined and exported on first use). The ratio podscope / faster-whisper is
the figure to watch; absolute times on a shared 2-core machine mean little.

Each file runs in its own process through the library (`Library.add_audio` into a scratch home), so peak RSS is that
file's alone. DER uses pyannote.metrics with a 0.25 s collar on each side (collar=0.5 total), with overlapped speech
excluded and included; WER uses jiwer on lower-cased text without punctuation.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import wave
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
OUT = ROOT / "bench" / "out"
sys.path.insert(0, str(ROOT / "bench"))


@dataclass
class Item:
    name: str
    kind: str
    audio: str
    turns: list[tuple[str, float, float]]  # reference (speaker, start, end)
    text: str  # reference words, empty when unknown


def normalise(text: str) -> str:
    text = text.lower().replace("-", " ")
    text = re.sub(r"[^\w\s']", " ", text)
    return re.sub(r"\s+", " ", text).strip()


# -- evaluation files ----------------------------------------------------------------------------------------------


def pyannote_sample() -> Item:
    folder = DATA / "pyannote-sample"
    turns = []
    for line in (folder / "sample.rttm").read_text().splitlines():
        f = line.split()
        turns.append((f[7], float(f[3]), float(f[3]) + float(f[4])))
    words = []
    for line in (folder / "sample.stm").read_text().splitlines():
        f = line.split(maxsplit=5)
        if len(f) == 6:
            words.append(f[5])
    return Item("pyannote-sample (real)", "real", str(folder / "sample.wav"), turns, " ".join(words))


def from_conversation(name: str, kind: str, conv: object) -> Item:
    turns = [(t.speaker, t.start, t.end) for t in conv.turns]  # type: ignore[attr-defined]
    # WER only where every turn has its words: a partial reference would count real speech as insertions.
    complete = all(t.text.strip() for t in conv.turns)  # type: ignore[attr-defined]
    text = conv.reference_text() if complete else ""  # type: ignore[attr-defined]
    return Item(name, kind, str(conv.audio_path), turns, text)


def concatenate(items: list[Item], seconds: float, dest: Path, name: str) -> Item:
    """A long episode made of evaluation files back to back (speaker labels kept per voice), about `seconds` long."""
    from podscope.audio import load_audio

    chunks, turns, texts, offset = [], [], [], 0.0
    while offset < seconds:
        for item in items:
            samples = load_audio(item.audio)
            chunks.append(samples)
            chunks.append(np.zeros(8000, np.float32))
            turns += [(s, a + offset, b + offset) for s, a, b in item.turns]
            texts.append(item.text)
            offset += samples.size / 16000 + 0.5
            if offset >= seconds:
                break
    audio = np.concatenate(chunks)
    pcm = (np.clip(audio, -1, 1) * 32767).astype("<i2")
    with wave.open(str(dest), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(pcm.tobytes())
    return Item(name, "long", str(dest), turns, " ".join(texts))


def build_items(long: bool) -> list[Item]:
    import corpus

    OUT.mkdir(parents=True, exist_ok=True)
    items = [pyannote_sample()]
    for conv in corpus.real_conversations(OUT / "real"):
        items.append(from_conversation(f"real {conv.audio_path.stem}", "real", conv))
    synthetic = [
        from_conversation(f"synthetic {c.audio_path.stem}", "synthetic", c)
        for c in corpus.synthetic_conversations(OUT / "synthetic")
    ]
    items += synthetic
    items.append(concatenate(synthetic, 600, OUT / "long-10min.wav", "10-minute episode"))
    if long:
        items.append(concatenate(synthetic, 3600, OUT / "long-60min.wav", "60-minute episode"))
        items.append(concatenate(synthetic, 3 * 3600, OUT / "long-3h.wav", "3-hour episode"))
    return items


# -- one file, in its own process ------------------------------------------------------------------------------------


def run_one(item: Item, model: str) -> dict[str, object]:
    from pyannote.core import Annotation, Segment, Timeline
    from pyannote.metrics.diarization import DiarizationErrorRate

    from podscope.library import Library

    with tempfile.TemporaryDirectory() as home:
        lib = Library(home, settings={"asr_model": model, "allow_download": False})
        t0 = time.perf_counter()
        lib.transcriber()  # resolve the model now; loading happens on first use
        result = lib.add_audio(item.audio, podcast="bench", title=item.name)
        assert result.report is not None
        wall = time.perf_counter() - t0
        peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # before scoring, which is heavy
        episode = result.episode
        turns = lib.store.episodes.turns(episode.id)
        transcript = lib.transcript(episode.id)
        lib.close()
    duration = episode.duration
    ref, hyp = Annotation(), Annotation()
    for i, (spk, a, b) in enumerate(item.turns):
        ref[Segment(a, b), i] = spk
    for i, t in enumerate(turns):
        hyp[Segment(t.start, t.end), i] = t.speaker
    uem = Timeline([Segment(0, duration)])
    metric = DiarizationErrorRate(collar=0.5, skip_overlap=True)
    der_no_ov = metric(ref, hyp, uem=uem)
    mapping = metric.optimal_mapping(ref, hyp)
    der_ov = DiarizationErrorRate(collar=0.5, skip_overlap=False)(ref, hyp, uem=uem)
    wer = None
    if item.text.strip():
        import jiwer

        hyp_text = normalise(" ".join(s.text for s in transcript.segments))
        wer = jiwer.wer(normalise(item.text), hyp_text)
    final_words = [w for seg in transcript.segments for w in seg.words]
    word_accuracy = attribution_accuracy(item.turns, final_words, mapping)
    early_raw = early_starts(item.turns, result.report.asr_words)
    early_final = early_starts(item.turns, final_words)
    stages = dict(result.report.stage_seconds)
    overlapping = ("diarize", "transcribe")  # run side by side; "diarize+transcribe" is their wall time
    processing = sum(v for k, v in stages.items() if k not in overlapping)
    return {
        "name": item.name,
        "kind": item.kind,
        "duration": duration,
        "speakers_true": len({s for s, _, _ in item.turns}),
        "speakers_found": len(lib_speakers(turns)),
        "der": float(der_no_ov),
        "der_overlap": float(der_ov),
        "wer": wer,
        "rtf": processing / duration,
        "rtf_stages": {k: v / duration for k, v in stages.items()},
        "wall_with_model_load": wall,
        "early_starts_fixed": result.report.align.early_starts_fixed,
        "word_speaker_accuracy": word_accuracy,
        "early_raw": early_raw,
        "early_final": early_final,
        "repetitions_dropped": result.report.guard.repeated_segments_dropped + result.report.guard.looped_words_dropped,
        "peak_rss_mb": peak_rss_mb,
    }


def early_starts(turns: list[tuple[str, float, float]], words: list[object], silence: float = 1.0) -> list[float]:
    """How early (seconds) the first word of each turn that follows >= `silence` s of silence is timestamped."""
    ordered = sorted(turns, key=lambda t: t[1])
    errors = []
    speech_end = -1e9
    for _spk, start, end in ordered:
        if start - speech_end >= silence:
            first = next((w for w in words if w.end > start), None)  # type: ignore[attr-defined]
            if first is not None and first.start < start + 1.0:  # type: ignore[attr-defined]
                errors.append(start - first.start)  # type: ignore[attr-defined]
        speech_end = max(speech_end, end)
    return errors


def attribution_accuracy(
    turns: list[tuple[str, float, float]], words: list[object], mapping: dict[str, str]
) -> float | None:
    """Share of words (outside overlapped speech) credited to the speaker who said them, under DER's mapping."""
    right = total = 0
    for w in words:
        mid = (w.start + w.end) / 2  # type: ignore[attr-defined]
        talking = {spk for spk, a, b in turns if a <= mid < b}
        if len(talking) != 1:
            continue
        total += 1
        right += mapping.get(w.speaker) in talking  # type: ignore[attr-defined]
    return right / total if total else None


def lib_speakers(turns: list[object]) -> set[str]:
    return {t.speaker for t in turns}  # type: ignore[attr-defined]


# -- report --------------------------------------------------------------------------------------------------------


def fmt(value: object, pct: bool = False) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{100 * value:.1f}%" if pct else f"{value:.3f}"
    return str(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="base")
    parser.add_argument("--long", action="store_true", help="also run the 60-minute and 3-hour episodes")
    parser.add_argument("--only", default=None, help="run only files whose name contains this")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--speed", action="store_true", help="only the side-by-side speed check")
    parser.add_argument("--speed-file", type=Path, default=SPEED_FILE, help="the recording for the speed check")
    parser.add_argument("--speed-runs", type=int, default=2, help="alternated pairs of runs in the speed check")
    args = parser.parse_args()
    if args.worker:
        item = Item(**json.loads(Path(args.worker).read_text()))
        print(json.dumps(run_one(item, args.model)))
        return
    if args.speed:
        speed(args.speed_file, args.model, args.speed_runs)
        return

    items = build_items(args.long)
    if args.only:
        items = [i for i in items if args.only in i.name]
    rows = []
    header = (
        f"{'file':<34} {'dur s':>7} {'spk':>5} {'DER':>6} {'DER+ov':>7} {'WER':>6} {'RTF':>6} "
        f"{'diar':>6} {'asr':>6} {'words':>6} {'RSS MB':>7}"
    )
    print(header)
    print("-" * len(header))
    for item in items:
        spec = OUT / f"worker-item-{os.getpid()}.json"  # a 3-hour reference is too long for a command line
        spec.write_text(json.dumps(asdict(item)))
        proc = subprocess.run(
            [sys.executable, __file__, "--model", args.model, "--worker", str(spec)],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            print(f"{item.name:<34} FAILED: {proc.stderr.strip().splitlines()[-1:]}")
            continue
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        rows.append(r)
        st = r["rtf_stages"]
        print(
            f"{r['name'][:34]:<34} {r['duration']:>7.1f} {r['speakers_found']:>2}/{r['speakers_true']:<2} "
            f"{fmt(r['der'], True):>6} {fmt(r['der_overlap'], True):>7} {fmt(r['wer'], True):>6} "
            f"{r['rtf']:>6.3f} {st.get('diarize', 0):>6.3f} {st.get('transcribe', 0):>6.3f} "
            f"{fmt(r['word_speaker_accuracy'], True):>6} {r['peak_rss_mb']:>7.0f}",
            flush=True,
        )
    print()
    for kind in ("real", "synthetic", "long"):
        group = [r for r in rows if r["kind"] == kind]
        if not group:
            continue
        dur = sum(r["duration"] for r in group)
        der = sum(r["der"] * r["duration"] for r in group) / dur
        der_ov = sum(r["der_overlap"] * r["duration"] for r in group) / dur
        wers = [r["wer"] for r in group if r["wer"] is not None]
        exact = sum(r["speakers_found"] == r["speakers_true"] for r in group)
        rtf = sum(r["rtf"] * r["duration"] for r in group) / dur
        accs = [r["word_speaker_accuracy"] for r in group if r["word_speaker_accuracy"] is not None]
        print(
            f"total {kind:<10} files {len(group):>2}  {dur:7.1f} s  speakers exact {exact}/{len(group)}  "
            f"DER {100 * der:.2f}% (with overlap {100 * der_ov:.2f}%)  "
            f"WER {('%.2f%%' % (100 * sum(wers) / len(wers))) if wers else '-'}  RTF {rtf:.3f}  "
            f"words to the right speaker {('%.1f%%' % (100 * sum(accs) / len(accs))) if accs else '-'}  "
            f"peak RSS {max(r['peak_rss_mb'] for r in group):.0f} MB"
        )
    guards = sum(r["early_starts_fixed"] for r in rows), sum(r["repetitions_dropped"] for r in rows)
    print(f"guards: {guards[0]} early word starts moved to speech onset; {guards[1]} repeated words/segments dropped")
    for label, key in (("as recognised", "early_raw"), ("after guard", "early_final")):
        errs = np.array([e for r in rows for e in r[key]])
        if errs.size:
            print(
                f"first word after >=1 s silence, {label:<13}: {errs.size} turns, early by mean {errs.mean():.3f} s,"
                f" p95 {np.percentile(errs, 95):.3f} s, max {errs.max():.3f} s, >0.5 s early: {(errs > 0.5).sum()}"
            )
    (OUT / "pipeline.json").write_text(json.dumps(rows, indent=2))
    print()
    speed(args.speed_file, args.model, args.speed_runs)


# -- speed, side by side ---------------------------------------------------------------------------------------------

SPEED_FILE = DATA / "conversations" / "gecko-sales-call" / "demo.mp3"

# faster-whisper alone, as a user would run it: the same model folder podscope uses, nothing else.
_ALONE = """
import sys
from faster_whisper import WhisperModel
model = WhisperModel(sys.argv[1], device="cpu", compute_type="int8", cpu_threads=2)
segments, info = model.transcribe(sys.argv[2], beam_size=1, word_timestamps=True, vad_filter=True)
print(sum(len(s.words or []) for s in segments))
"""


def _timed(command: list[str]) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(command[:3])} failed: {proc.stderr.strip()[-400:]}")
    return time.perf_counter() - t0


def speed(path: Path, model: str, runs: int = 2) -> None:
    """faster-whisper alone against `podscope add-audio` on one file, each a fresh process timed end to end."""
    import av

    with av.open(str(path)) as container:
        duration = float(container.duration or 0) / 1_000_000
    podscope = [str(Path(sys.executable).with_name("podscope"))]
    settings = {"PODSCOPE_ASR_MODEL": model}
    with tempfile.TemporaryDirectory(prefix="podscope-speed-") as tmp:
        ready, new = Path(tmp) / "ready", Path(tmp) / "new"
        clip = Path(tmp) / "clip.wav"
        subprocess.run(["sox", str(DATA / "pyannote-sample" / "sample.wav"), str(clip), "trim", "0", "10"], check=True)
        env = {**os.environ, **settings}
        common = ["--podcast", "speed", "--title"]
        subprocess.run(
            [*podscope, "add-audio", str(clip), "--home", str(ready), *common, "warm-up"],
            env=env,
            capture_output=True,
            check=True,
        )
        folder = next((ready / "models").glob("whisper-*"), None) if model == "base" else None
        location = str(folder) if folder else model
        os.environ.update(settings)
        pairs = []
        for _ in range(runs):  # alternated, so a change in the machine's load touches both sides alike
            alone = _timed([sys.executable, "-c", _ALONE, location, str(path)])
            home = Path(tmp) / f"ready-{len(pairs)}"  # a copy of the ready home: the file is new to it
            shutil.copytree(ready, home)
            ours = _timed([*podscope, "add-audio", str(path), "--home", str(home), *common, "speed"])
            shutil.rmtree(home)
            pairs.append((alone, ours))
        ours_new = _timed([*podscope, "add-audio", str(path), "--home", str(new), *common, "speed"])
    print(f"speed on {path.name} ({duration / 60:.1f} min), each a fresh process, start-up included:")
    for i, (alone, ours) in enumerate(pairs, 1):
        print(
            f"  run {i}: faster-whisper alone ({model}, int8, beam 1, word timestamps, VAD) {alone:6.1f} s"
            f" (RTF {alone / duration:.3f}); podscope add-audio, models ready {ours:6.1f} s"
            f" (RTF {ours / duration:.3f}); ratio {ours / alone:.2f}"
        )
    alone = float(np.median([a for a, _ in pairs]))
    ratio = float(np.median([o / a for a, o in pairs]))
    print(f"  median ratio podscope / faster-whisper alone, models ready: {ratio:.2f}")
    print(
        f"  podscope add-audio in a new home (models joined and exported first): {ours_new:6.1f} s"
        f" (RTF {ours_new / duration:.3f}), {ours_new / alone:.2f}x the median faster-whisper run"
    )


if __name__ == "__main__":
    main()
