"""The episode pipeline: decode -> diarize -> transcribe -> align, as functions over records.

`process_episode` touches no database: it returns a `ProcessedEpisode` that the store writes in one transaction, so a
crash anywhere before that leaves the library as it was. Progress is reported through a hook
`hook(stage, completed, total)` that the CLI renders as a progress bar per stage.
"""

from __future__ import annotations

import contextlib
import ctypes
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from podscope import audio as audio_mod
from podscope.align import AlignReport, align
from podscope.asr.whisper import GuardReport, LanguageChoice, WhisperTranscriber
from podscope.errors import AudioError
from podscope.records import Diarization, EpisodeMeta, Hook, ProcessedEpisode, Segment, Stage, Word
from podscope.voices.diarize import DiarizationOptions, diarize


@dataclass
class PipelineReport:
    """Side figures of one run: stage timings and what the guards changed."""

    # seconds per stage; "diarize" and "transcribe" run at the same time, "diarize+transcribe" is their wall time
    stage_seconds: dict[str, float] = field(default_factory=dict)
    guard: GuardReport = field(default_factory=GuardReport)
    language: LanguageChoice | None = None  # the language transcribed in, and why
    align: AlignReport = field(default_factory=AlignReport)
    gain: float = 1.0
    asr_words: list[Word] = field(default_factory=list)  # as recognised, before the alignment guards


def release_freed_memory() -> None:
    """Hand memory that a finished stage freed back to the OS, so the next stage's peak does not stack on top of it.

    glibc keeps freed blocks in its arenas; after diarization that is several hundred MB that recognition would
    otherwise add to. A no-op where glibc is not the allocator.
    """
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _no_hook(stage: Stage, completed: float, total: float) -> None:
    return None


def decode_audio(path: Path, *, workdir: Path | None = None, hook: Hook | None = None) -> audio_mod.DecodedAudio:
    """The `decode` stage: the recording decoded once, to be used as a context manager (see `audio.decode`)."""
    hook = hook or _no_hook
    hook("decode", 0, 1)
    decoded = audio_mod.decode(path, workdir=workdir)
    hook("decode", 1, 1)
    return decoded


def _diarize_timed(
    decoded: audio_mod.DecodedAudio, options: DiarizationOptions | None, hook: Hook
) -> tuple[Diarization, float]:
    t0 = time.perf_counter()
    result = diarize(decoded.samples(), options=options, hook=hook)  # stages: segmentation, embeddings, clustering
    return result, time.perf_counter() - t0


def process_episode(
    path: Path,
    meta: EpisodeMeta,
    transcriber: WhisperTranscriber,
    diarization_options: DiarizationOptions | None = None,
    *,
    content_hash: str | None = None,
    workdir: Path | None = None,
    hook: Hook | None = None,
    report: PipelineReport | None = None,
    language: str | None = None,
    declared_language: str | None = None,
) -> ProcessedEpisode:
    """Run every stage on one recording. Raises AudioError for unusable audio (including silence).

    `language` sets the recording's language; `declared_language` is the one its publisher declares (a feed's), used
    when none is set; with neither it is detected."""
    hook = hook or _no_hook
    report = report if report is not None else PipelineReport()
    timings = report.stage_seconds

    t0 = time.perf_counter()
    hook("decode", 0, 1)
    digest = content_hash or audio_mod.file_hash(path)
    decoded = audio_mod.decode(path, workdir=workdir)
    timings["decode"] = time.perf_counter() - t0
    hook("decode", 1, 1)
    with decoded:
        if decoded.is_silent:
            raise AudioError(
                f"{path}: the recording is silent (peak {decoded.peak_dbfs:.0f} dBFS); no speech to process"
            )
        report.gain = decoded.gain

        # Diarization runs in a second thread while the recogniser works: each leaves the cores idle part of the
        # time (the segmentation LSTM, Python between batches), so together they take about 0.75 of one after the
        # other (bench/pipeline.py --speed). Neither depends on the other until alignment.
        t0 = time.perf_counter()
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="podscope-diarize") as pool:
            diarizing = pool.submit(_diarize_timed, decoded, diarization_options, hook)
            t1 = time.perf_counter()
            transcription = transcriber.transcribe(
                decoded, hook=hook, language=language, declared_language=declared_language
            )
            timings["transcribe"] = time.perf_counter() - t1
            diarization, timings["diarize"] = diarizing.result()
        timings["diarize+transcribe"] = time.perf_counter() - t0  # wall time of the two together
        release_freed_memory()
        report.guard = transcriber.last_guard
        report.language = transcriber.last_language

    t0 = time.perf_counter()
    hook("align", 0, 1)
    words = transcription.words
    report.asr_words = words
    if not words and not diarization.turns:
        raise AudioError(f"{path}: no speech was detected in the recording")
    segments: list[Segment]
    segments, report.align = align(words, list(diarization.turns))
    timings["align"] = time.perf_counter() - t0
    hook("align", 1, 1)
    return ProcessedEpisode(
        meta=meta,
        content_hash=digest,
        duration=transcription.duration,
        language=transcription.language,
        asr_model=transcription.model,
        asr_source=transcription.model_source,
        segments=tuple(segments),
        diarization=diarization,
        stage_seconds=dict(timings),
    )
