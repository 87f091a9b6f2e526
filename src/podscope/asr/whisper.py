"""Speech recognition with faster-whisper: word timestamps, language choice, bounded memory, guarded output.

Why it looks like this:
- Long episodes are recognised in chunks of about ten minutes, cut at the quietest moment near each boundary, so the
  features of a 3-hour file never sit in memory at once.
- The language is chosen once per recording, in this order: one set for it (an option, the `asr_language` setting),
  one declared for it (a feed's `<language>`, a `podcast:transcript` language; `whisper_language()` turns "en-US"
  into Whisper's "en" and anything Whisper does not know into None), and only then detection. Detection
  (`detect_language()`) looks at up to five 30 s windows spread over the recording, keeps only their speech (Silero
  VAD), and averages Whisper's language probabilities, weighted by speech: the first 30 s of an episode are often a
  music intro, a jingle or crosstalk, and one window can be confidently wrong (an English meeting excerpt came out
  as Welsh).
- Decoding is deterministic: temperature 0 only (greedy, or beam search with `beam_size` > 1), so the same file gives
  the same transcript on every run. Whisper's temperature fallback re-decodes doubtful stretches by random sampling,
  and CTranslate2 seeds a thread's sampler once, at its first use, so even `set_random_seed` before every run does
  not make runs in one process repeat each other. bench/asr.py measures what the fallback would be worth in WER.
- Whisper's best-known failure is a loop that repeats a phrase (or invents one over silence). Conditioning on the
  previous text is off, silence is skipped with the bundled Silero VAD, and `guard_repetitions()` removes what still
  slips through. The counts of what it removed are returned so the benchmark can report them.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from podscope.asr.resolve import ResolvedModel, resolve
from podscope.audio import DecodedAudio
from podscope.errors import InputError, ModelError
from podscope.records import SAMPLE_RATE, AsrSegment, Hook, Transcription, Word


@dataclass(frozen=True)
class AsrOptions:
    """How to recognise speech. `model` is a model name (`base`, `tiny.en`, ...) or a model folder."""

    model: str = "base"
    language: str | None = None
    beam_size: int = 1
    cpu_threads: int = 2
    # Recognised in chunks of about this many seconds, so a 3-hour file never sits in the recogniser at once. 600 s
    # fills the batches (a 9.5-minute call: 27 s instead of 32 s at 180 s); adding that call peaks at 1.7 GB with
    # diarization running beside recognition.
    chunk_seconds: float = 600.0
    vad_filter: bool = True
    allow_download: bool = True
    compute_type: str = "int8"
    # Decoding temperatures: (0.0,) is deterministic. Whisper's own fallback (0.0, 0.2, ..., 1.0) samples at random
    # where the greedy text looks doubtful, so runs differ; kept as an option for bench/asr.py to measure.
    temperatures: tuple[float, ...] = (0.0,)
    detect_windows: int = 5  # most 30 s windows language detection looks at
    # Speech stretches (Silero VAD, at most 30 s each) decoded together: batch_size 8 recognises a 9.5-minute call in
    # 0.45x the time of one stretch after another, with the same WER (bench/asr.py); 1 decodes them one by one.
    batch_size: int = 8


@dataclass(frozen=True)
class LanguageChoice:
    """The language a recording is transcribed in, how sure, and why: `set` (an option or setting), `declared` (by
    the publisher), `detected`, or `english-only` (the model knows only English)."""

    code: str
    probability: float
    source: str
    windows: tuple[tuple[float, float], ...] = ()  # (start, seconds of speech) of each window detection used


@dataclass
class GuardReport:
    """What the output guards changed, for the benchmark and the logs."""

    repeated_segments_dropped: int = 0
    looped_words_dropped: int = 0
    details: list[str] = field(default_factory=list)


_models: dict[tuple[str, str, str, int], Any] = {}
_models_lock = threading.Lock()
# Codes people and feeds use for languages Whisper knows under another code.
_LANGUAGE_ALIASES = {"iw": "he", "in": "id", "ji": "yi", "jv": "jw", "nb": "no", "mo": "ro", "fil": "tl"}
DETECT_WINDOW_SECONDS = 30.0  # what Whisper's language detection sees at once
MIN_DETECT_SPEECH = 3.0  # seconds of speech a detection window needs to count
_VAD = {"min_silence_duration_ms": 500, "speech_pad_ms": 200}


@functools.cache
def whisper_languages() -> frozenset[str]:
    """The language codes Whisper knows (faster-whisper's list)."""
    from faster_whisper.tokenizer import _LANGUAGE_CODES

    return frozenset(_LANGUAGE_CODES)


def whisper_language(code: str | None) -> str | None:
    """A declared language as Whisper's code: "en-US" -> "en", "pt_BR" -> "pt", "iw" -> "he"; None when empty or not a
    language Whisper knows (then the language is detected)."""
    if not code or not code.strip():
        return None
    primary = re.split(r"[-_\s]", code.strip().lower(), maxsplit=1)[0]
    primary = _LANGUAGE_ALIASES.get(primary, primary)
    return primary if primary in whisper_languages() else None


def check_language(code: str | None) -> str | None:
    """A language someone set (an option or setting) as Whisper's code; None when unset. Raises InputError for a code
    Whisper does not know, rather than quietly detecting."""
    if not code or not code.strip():
        return None
    found = whisper_language(code)
    if found is None:
        raise InputError(
            f"language {code!r} is not one Whisper knows: expected a code such as en, de, es or pt-BR (the language"
            " part is used)"
        )
    return found


def whisper_device() -> str:
    """Where faster-whisper runs: "cuda" when CTranslate2 sees a CUDA GPU (a Ray worker given one, a GPU machine),
    else "cpu"."""
    try:
        import ctranslate2

        return "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
    except Exception:  # a build without CUDA support, or no driver: the CPU
        return "cpu"


def load_model(resolved: ResolvedModel, compute_type: str = "int8", cpu_threads: int = 2) -> Any:
    """A faster-whisper model, loaded once per process: on a CUDA GPU when there is one (int8 becomes float16 there,
    the GPU's fast type), else on the CPU."""
    device = whisper_device()
    if device == "cuda" and compute_type == "int8":
        compute_type = "float16"
    key = (resolved.location, device, compute_type, cpu_threads)
    with _models_lock:
        if key not in _models:
            from faster_whisper import WhisperModel

            try:
                _models[key] = WhisperModel(
                    resolved.location,
                    device=device,
                    compute_type=compute_type,
                    cpu_threads=cpu_threads,
                    local_files_only=resolved.source != "hub",
                )
            except Exception as exc:  # faster-whisper raises many kinds; all mean "cannot load"
                raise ModelError(f"cannot load Whisper model {resolved.describe()}: {exc}") from exc
        return _models[key]


def _batched(model: Any) -> Any:
    """faster-whisper's batched pipeline over a loaded model (it holds no weights of its own)."""
    from faster_whisper import BatchedInferencePipeline

    return BatchedInferencePipeline(model)


def _norm(text: str) -> str:
    return re.sub(r"[^\w']+", " ", text.lower()).strip()


def _drop_loops(words: list[Word], max_repeats: int = 3) -> tuple[list[Word], int]:
    """Remove an n-gram (n = 1..6) repeated back to back more than `max_repeats` times, keeping the first copies."""
    dropped = 0
    changed = True
    while changed:
        changed = False
        tokens = [_norm(w.text) for w in words]
        for n in range(1, 7):
            i = 0
            while i + n * (max_repeats + 1) <= len(tokens):
                gram = tokens[i : i + n]
                reps = 1
                while tokens[i + reps * n : i + (reps + 1) * n] == gram:
                    reps += 1
                if reps > max_repeats and any(gram):
                    cut_from, cut_to = i + max_repeats * n, i + reps * n
                    dropped += cut_to - cut_from
                    words = words[:cut_from] + words[cut_to:]
                    changed = True
                    break
                i += 1
            if changed:
                break
    return words, dropped


def guard_repetitions(segments: list[AsrSegment]) -> tuple[list[AsrSegment], GuardReport]:
    """Drop hallucinated repetition: looping n-grams inside a segment and segments that repeat the previous ones."""
    report = GuardReport()
    out: list[AsrSegment] = []
    recent: list[str] = []
    for seg in segments:
        words, dropped = _drop_loops(list(seg.words))
        if dropped:
            report.looped_words_dropped += dropped
            report.details.append(f"{seg.start:.1f}s: dropped {dropped} looping words")
        text = "".join(w.text for w in words).strip() if words else seg.text.strip()
        key = _norm(text)
        # The same sentence three times in a row is a loop; twice can be real ("Yes. Yes.").
        if key and len(key.split()) >= 3 and recent[-2:] == [key, key]:
            report.repeated_segments_dropped += 1
            report.details.append(f"{seg.start:.1f}s: dropped repeated segment {text!r}")
            continue
        recent.append(key)
        if not words and not text:
            continue
        start = words[0].start if words else seg.start
        end = words[-1].end if words else seg.end
        out.append(AsrSegment(start, end, text, tuple(words), seg.avg_logprob, seg.no_speech_prob))
    return out, report


def _cut_points(audio: DecodedAudio, chunk_seconds: float, search: float = 15.0) -> list[float]:
    """Chunk boundaries near every `chunk_seconds`, each moved to the quietest 0.5 s nearby."""
    cuts = [0.0]
    total = audio.duration
    search = min(search, chunk_seconds / 3)
    hop, frame = SAMPLE_RATE // 10, SAMPLE_RATE // 2
    while total - cuts[-1] > chunk_seconds + search:
        target = cuts[-1] + chunk_seconds
        lo = target - search
        window = audio.read(lo, target + search)
        energies = [float(np.mean(window[i : i + frame] ** 2)) for i in range(0, window.size - frame + 1, hop)]
        best = int(np.argmin(energies)) if energies else 0
        cuts.append(lo + (best * hop + frame / 2) / SAMPLE_RATE)
    cuts.append(total)
    return cuts


def _speech(samples: np.ndarray) -> np.ndarray:
    """Only the speech of a stretch (Silero VAD, as in recognition)."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    if samples.size == 0:
        return samples
    spans = get_speech_timestamps(samples, VadOptions(**_VAD))
    if not spans:
        return np.zeros(0, dtype=np.float32)
    return np.concatenate([samples[s["start"] : s["end"]] for s in spans])


def detection_windows(
    audio: DecodedAudio, count: int = 5, seconds: float = DETECT_WINDOW_SECONDS, candidates: int = 4
) -> Iterator[tuple[float, np.ndarray]]:
    """Up to `count` speech-rich windows spread over the recording, each as (start, its speech only).

    The recording is cut into `count` equal parts (fewer when it is short: one per `seconds`), visited first, third,
    fifth, then second and fourth, so the first two windows looked at are far apart. In each part up to `candidates`
    windows of `seconds` are tried from the middle of the part outwards and the one with the most speech is kept (a
    window that is 80% speech ends the search). Only those windows are read, so a 3-hour episode costs what a
    10-minute one does.
    """
    total = audio.duration
    parts = max(1, min(count, int(total // seconds)))
    for i in sorted(range(parts), key=lambda i: (i % 2, i)):
        lo, hi = total * i / parts, total * (i + 1) / parts
        starts = [lo]
        if hi - lo > seconds:
            n = min(candidates, math.ceil((hi - lo) / seconds))
            middle = (lo + hi - seconds) / 2
            starts = sorted((lo + (hi - lo - seconds) * j / (n - 1) for j in range(n)), key=lambda s: abs(s - middle))
        best: tuple[float, np.ndarray] | None = None
        for start in starts:
            speech = _speech(audio.read(start, start + seconds))
            if best is None or speech.size > best[1].size:
                best = (start, speech)
            if speech.size >= 0.8 * seconds * SAMPLE_RATE:
                break
        if best is not None and best[1].size:
            yield best


def detect_language(model: Any, audio: DecodedAudio, windows: int = 5, sure: float = 0.9) -> LanguageChoice:
    """The language of a recording from Whisper's language probabilities on several speech-rich windows
    (`detection_windows`), averaged with each window weighted by its seconds of speech; the most probable wins.

    Windows with under 3 s of speech are left out (unless no window has more). Detection stops early once two windows
    agree on the top language with a mean probability of at least `sure`; otherwise every window counts, so one
    window that is confidently wrong (music, crosstalk, a jingle) is outvoted."""
    totals: dict[str, float] = {}
    weight = 0.0
    used: list[tuple[float, float]] = []
    tops: set[str] = set()
    short: tuple[float, np.ndarray] | None = None
    for start, speech in detection_windows(audio, windows):
        if speech.size < MIN_DETECT_SPEECH * SAMPLE_RATE:
            short = short if short is not None and short[1].size >= speech.size else (start, speech)
            continue
        weight += _add_window(model, speech, totals, tops)
        used.append((round(start, 2), round(speech.size / SAMPLE_RATE, 2)))
        best = max(totals, key=lambda c: totals[c])
        if len(used) >= 2 and tops == {best} and totals[best] / weight >= sure:
            break
    if not used:  # little or no speech anywhere: the best there is, else the opening as it is
        start, speech = short if short is not None else (0.0, audio.read(0.0, DETECT_WINDOW_SECONDS))
        weight += _add_window(model, speech, totals, tops)
        used.append((round(start, 2), round(speech.size / SAMPLE_RATE, 2)))
    code = max(totals, key=lambda c: totals[c])
    return LanguageChoice(code=code, probability=totals[code] / weight, source="detected", windows=tuple(used))


def _add_window(model: Any, speech: np.ndarray, totals: dict[str, float], tops: set[str]) -> float:
    """Add one window's language probabilities, weighted by its seconds of speech, to `totals`; returns the weight."""
    _lang, _prob, probs = model.detect_language(audio=speech, language_detection_segments=1)
    weight = max(speech.size / SAMPLE_RATE, 0.1)
    for code, p in probs:
        totals[code] = totals.get(code, 0.0) + weight * float(p)
    tops.add(probs[0][0])
    return weight


class WhisperTranscriber:
    """Recognises a decoded recording; the model is resolved and loaded on first use."""

    def __init__(self, options: AsrOptions, cache_dir: Path):
        self.options = options
        self.resolved = resolve(options.model, cache_dir, allow_download=options.allow_download)
        self.last_guard = GuardReport()
        self.last_language: LanguageChoice | None = None
        self.last_resampled = 0  # segments decoded at a temperature above 0 (only with a fallback schedule)

    def choose_language(
        self, audio: DecodedAudio, language: str | None = None, declared_language: str | None = None
    ) -> LanguageChoice:
        """The language to transcribe in: one set (`language`, else the option), else one declared for the recording
        (used when Whisper knows it), else detected. An English-only model always gives English."""
        model = load_model(self.resolved, self.options.compute_type, self.options.cpu_threads)
        if not model.model.is_multilingual:
            return LanguageChoice("en", 1.0, "english-only")
        chosen = check_language(language) or check_language(self.options.language)
        if chosen:
            return LanguageChoice(chosen, 1.0, "set")
        declared = whisper_language(declared_language)
        if declared:
            return LanguageChoice(declared, 1.0, "declared")
        return detect_language(model, audio, self.options.detect_windows)

    def transcribe(
        self,
        audio: DecodedAudio,
        hook: Hook | None = None,
        *,
        language: str | None = None,
        declared_language: str | None = None,
    ) -> Transcription:
        """Recognise a recording. `language` sets its language (over the option); `declared_language` is what its
        publisher declares, used when nothing is set; otherwise the language is detected (see `choose_language`)."""
        opts = self.options
        model = load_model(self.resolved, opts.compute_type, opts.cpu_threads)
        choice = self.choose_language(audio, language, declared_language)
        self.last_language = choice
        raw: list[AsrSegment] = []
        self.last_resampled = 0
        cuts = _cut_points(audio, opts.chunk_seconds)
        total = audio.duration
        batched = _batched(model) if opts.batch_size > 1 else None
        for start, end in itertools.pairwise(cuts):
            samples = audio.read(start, end)
            common: dict[str, Any] = {
                "language": choice.code,
                "beam_size": opts.beam_size,
                "word_timestamps": True,
                "vad_filter": opts.vad_filter,
                "vad_parameters": dict(_VAD),
                "temperature": list(opts.temperatures),
            }
            if batched is not None:
                # Each speech stretch is decoded on its own (no conditioning on previous text) with the first
                # temperature only: deterministic, like the sequential path below.
                segments, _info = batched.transcribe(samples, batch_size=opts.batch_size, **common)
            else:
                segments, _info = model.transcribe(
                    samples, condition_on_previous_text=False, hallucination_silence_threshold=2.0, **common
                )
            for seg in segments:
                self.last_resampled += bool(seg.temperature)
                words = tuple(
                    Word(start=start + w.start, end=start + w.end, text=w.word, probability=float(w.probability))
                    for w in (seg.words or [])
                )
                raw.append(
                    AsrSegment(
                        start=start + seg.start,
                        end=start + seg.end,
                        text=seg.text.strip(),
                        words=words,
                        avg_logprob=float(seg.avg_logprob),
                        no_speech_prob=float(seg.no_speech_prob),
                    )
                )
                if hook:
                    hook("transcribe", min(start + seg.end, total), total)
            if hook:
                hook("transcribe", end, total)
        guarded, self.last_guard = guard_repetitions(raw)
        return Transcription(
            language=choice.code,
            language_probability=choice.probability,
            language_source=choice.source,
            duration=total,
            segments=tuple(guarded),
            model=self.resolved.name,
            model_source=self.resolved.source,
        )
