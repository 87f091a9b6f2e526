"""Speech recognition with faster-whisper: word timestamps, language detection, bounded memory, guarded output.

Why it looks like this:
- Long episodes are recognised in chunks of about three minutes, cut at the quietest moment near each boundary, so the
  features of a 3-hour file never sit in memory at once; the language is detected once, on the first chunk.
- Whisper's best-known failure is a loop that repeats a phrase (or invents one over silence). Conditioning on the
  previous text is off, silence is skipped with the bundled Silero VAD, and `guard_repetitions()` removes what still
  slips through. The counts of what it removed are returned so the benchmark can report them.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from podscope.asr.resolve import ResolvedModel, resolve
from podscope.audio import SAMPLE_RATE, DecodedAudio
from podscope.errors import ModelError
from podscope.models import AsrSegment, Transcription, Word

Hook = Callable[[str, float, float], None]


@dataclass(frozen=True)
class AsrOptions:
    """How to recognise speech. `model` is a model name (`base`, `tiny.en`, ...) or a model folder."""

    model: str = "base"
    language: str | None = None
    beam_size: int = 1
    cpu_threads: int = 2
    chunk_seconds: float = 180.0  # recogniser memory grows with the chunk: 180 s keeps it near 0.6 GB
    vad_filter: bool = True
    allow_download: bool = True
    compute_type: str = "int8"


@dataclass
class GuardReport:
    """What the output guards changed, for the benchmark and the logs."""

    repeated_segments_dropped: int = 0
    looped_words_dropped: int = 0
    details: list[str] = field(default_factory=list)


_models: dict[tuple[str, str, int], Any] = {}
_models_lock = threading.Lock()


def load_model(resolved: ResolvedModel, compute_type: str = "int8", cpu_threads: int = 2) -> Any:
    """A faster-whisper model, loaded once per process."""
    key = (resolved.location, compute_type, cpu_threads)
    with _models_lock:
        if key not in _models:
            from faster_whisper import WhisperModel

            try:
                _models[key] = WhisperModel(
                    resolved.location,
                    device="cpu",
                    compute_type=compute_type,
                    cpu_threads=cpu_threads,
                    local_files_only=resolved.source != "hub",
                )
            except Exception as exc:  # faster-whisper raises many kinds; all mean "cannot load"
                raise ModelError(f"cannot load Whisper model {resolved.describe()}: {exc}") from exc
        return _models[key]


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


class WhisperTranscriber:
    """Recognises a decoded recording; the model is resolved and loaded on first use."""

    def __init__(self, options: AsrOptions, cache_dir: Path):
        self.options = options
        self.resolved = resolve(options.model, cache_dir, allow_download=options.allow_download)
        self.last_guard = GuardReport()

    def transcribe(self, audio: DecodedAudio, hook: Hook | None = None) -> Transcription:
        opts = self.options
        model = load_model(self.resolved, opts.compute_type, opts.cpu_threads)
        language = opts.language
        language_probability = 1.0
        if not model.model.is_multilingual:
            language = "en"
        raw: list[AsrSegment] = []
        cuts = _cut_points(audio, opts.chunk_seconds)
        total = audio.duration
        for start, end in itertools.pairwise(cuts):
            samples = audio.read(start, end)
            segments, info = model.transcribe(
                samples,
                language=language,
                beam_size=opts.beam_size,
                word_timestamps=True,
                vad_filter=opts.vad_filter,
                vad_parameters={"min_silence_duration_ms": 500, "speech_pad_ms": 200},
                condition_on_previous_text=False,
                hallucination_silence_threshold=2.0,
                temperature=[0.0, 0.2, 0.4, 0.6, 0.8, 1.0],
            )
            if language is None:
                language = info.language
                language_probability = float(info.language_probability)
            for seg in segments:
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
            language=language or "en",
            language_probability=language_probability,
            duration=total,
            segments=tuple(guarded),
            model=self.resolved.name,
            model_source=self.resolved.source,
        )
