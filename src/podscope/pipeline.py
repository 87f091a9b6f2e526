"""The episode pipeline: decode -> diarize and transcribe -> align, as functions over records.

`process_episode` touches no database: it returns a `ProcessedEpisode` that the store writes in one transaction, so a
crash anywhere before that leaves the library as it was. Progress is reported through a hook
`hook(stage, done, total)` that the CLI renders as a progress bar per stage; a `StageTimer` over that hook times the
stages into the run's `PipelineReport`, so the stages themselves only report progress.
"""

from __future__ import annotations

import contextlib
import ctypes
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from podscope import audio as audio_mod
from podscope.align import AlignReport, align
from podscope.asr.whisper import GuardReport, LanguageChoice, WhisperTranscriber
from podscope.errors import AudioError
from podscope.records import Diarization, EpisodeMeta, Hook, ProcessedEpisode, Segment, Stage, Transcription, Word
from podscope.voices.diarize import DiarizationOptions, diarize

# The stages a report times; diarization's own steps (segmentation, embeddings, clustering) are part of "diarize".
TIMED_STAGES: frozenset[Stage] = frozenset(
    {"decode", "diarize", "transcribe", "diarize+transcribe", "align", "store", "index"}
)
# Stages that only time a stretch of others, which report their own progress: no progress bar shows them.
SPAN_STAGES: frozenset[Stage] = frozenset({"diarize", "diarize+transcribe"})


@dataclass
class PipelineReport:
    """Side figures of one run: stage timings and what the guards changed."""

    # seconds per stage; "diarize" and "transcribe" run at the same time, "diarize+transcribe" is their wall time
    stage_seconds: dict[Stage, float] = field(default_factory=dict)
    guard: GuardReport = field(default_factory=GuardReport)
    language: LanguageChoice | None = None  # the language transcribed in, and why
    align: AlignReport = field(default_factory=AlignReport)
    gain: float = 1.0
    asr_words: list[Word] = field(default_factory=list)  # as recognised, before the alignment guards


class StageTimer:
    """A progress hook that times stages into a report, and passes progress on to `hook`.

    `timer(stage, 0, total)` starts a stage's clock and `timer(stage, total, total)` stops it (the last such call
    counts), into `report.stage_seconds`, for the TIMED_STAGES. Every call goes on to `hook` but those of the
    SPAN_STAGES, which exist to be timed. Diarization calls from its own thread while recognition runs; each stage
    has its own entry.
    """

    def __init__(
        self, report: PipelineReport, hook: Hook | None = None, clock: Callable[[], float] = time.perf_counter
    ) -> None:
        self.report = report
        self._hook = hook
        self._clock = clock
        self._made = clock()
        self._started: dict[Stage, float] = {}

    def __call__(self, stage: Stage, done: float, total: float) -> None:
        now = self._clock()
        if stage in TIMED_STAGES:
            if done == 0:
                self._started[stage] = now
            if done >= total and stage in self._started:
                self.report.stage_seconds[stage] = now - self._started[stage]
        if self._hook is not None and stage not in SPAN_STAGES:
            self._hook(stage, done, total)

    def elapsed(self) -> float:
        """Seconds since the timer was made."""
        return self._clock() - self._made


def release_freed_memory() -> None:
    """Hand memory that a finished stage freed back to the OS, so the next stage's peak does not stack on top of it.

    glibc keeps freed blocks in its arenas; after diarization that is several hundred MB that recognition would
    otherwise add to. A no-op where glibc is not the allocator.
    """
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _no_hook(stage: Stage, completed: float, total: float) -> None:
    return None


def decode_audio(
    path: Path, *, workdir: Path | None = None, hook: Hook | None = None, max_seconds: float | None = None
) -> audio_mod.DecodedAudio:
    """The `decode` stage: the recording decoded once, to be used as a context manager (see `audio.decode`)."""
    hook = hook or _no_hook
    hook("decode", 0, 1)
    decoded = audio_mod.decode(path, workdir=workdir, max_seconds=max_seconds)
    hook("decode", 1, 1)
    return decoded


def diarize_and_transcribe(
    decoded: audio_mod.DecodedAudio,
    transcriber: WhisperTranscriber,
    options: DiarizationOptions | None,
    hook: Hook,
    *,
    language: str | None = None,
    declared_language: str | None = None,
) -> tuple[Diarization, Transcription]:
    """The `diarize+transcribe` stage: who speaks when, and what is said, side by side. `hook` also hears the span
    stages ("diarize", "diarize+transcribe"): give it a `StageTimer`.

    Diarization runs in a second thread while the recogniser works: each leaves the cores idle part of the time (the
    segmentation LSTM, Python between batches), so together they take about 0.75 of one after the other
    (bench/pipeline.py --speed). Neither depends on the other until alignment."""
    hook("diarize+transcribe", 0, 1)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="podscope-diarize") as pool:
        diarizing = pool.submit(_diarize, decoded, options, hook)
        hook("transcribe", 0, decoded.duration)
        transcription = transcriber.transcribe(
            decoded, hook=hook, language=language, declared_language=declared_language
        )
        hook("transcribe", decoded.duration, decoded.duration)
        diarization = diarizing.result()
    hook("diarize+transcribe", 1, 1)
    release_freed_memory()
    return diarization, transcription


def _diarize(decoded: audio_mod.DecodedAudio, options: DiarizationOptions | None, hook: Hook) -> Diarization:
    hook("diarize", 0, 1)
    result = diarize(decoded.samples(), options=options, hook=hook)  # stages: segmentation, embeddings, clustering
    hook("diarize", 1, 1)
    return result


def process_episode(
    path: Path,
    meta: EpisodeMeta,
    transcriber: WhisperTranscriber,
    diarization_options: DiarizationOptions | None = None,
    *,
    content_hash: str,
    workdir: Path | None = None,
    hook: Hook | None = None,
    report: PipelineReport | None = None,
    language: str | None = None,
    declared_language: str | None = None,
    max_seconds: float | None = None,
) -> ProcessedEpisode:
    """Run every stage on one recording, timing each into `report`. Raises AudioError for unusable audio (including
    silence), TooLong for more than `max_seconds` of it.

    `language` sets the recording's language; `declared_language` is the one its publisher declares (a feed's), used
    when none is set; with neither it is detected."""
    report = report if report is not None else PipelineReport()
    timer = StageTimer(report, hook)
    with decode_audio(path, workdir=workdir, hook=timer, max_seconds=max_seconds) as decoded:
        if decoded.is_silent:
            raise AudioError(
                f"{path}: the recording is silent (peak {decoded.peak_dbfs:.0f} dBFS); no speech to process"
            )
        report.gain = decoded.gain
        diarization, transcription = diarize_and_transcribe(
            decoded, transcriber, diarization_options, timer, language=language, declared_language=declared_language
        )
        report.guard = transcriber.last_guard
        report.language = transcriber.last_language

    timer("align", 0, 1)
    words = transcription.words
    report.asr_words = words
    if not words and not diarization.turns:
        raise AudioError(f"{path}: no speech was detected in the recording")
    segments: list[Segment]
    segments, report.align = align(words, list(diarization.turns))
    timer("align", 1, 1)
    return ProcessedEpisode(
        meta=meta,
        content_hash=content_hash,
        duration=transcription.duration,
        language=transcription.language,
        asr_model=transcription.model,
        asr_source=transcription.model_source,
        segments=tuple(segments),
        diarization=diarization,
    )
