"""An episode arrives: a recording, a publisher's transcript, or both.

    result = ingest.add_audio(store, people, search, path, meta, transcriber=..., diarization=..., workdir=...)
    result = ingest.import_transcript(store, people, search, path, meta, language="en", audio_path=None, ...)

Whatever arrives ends the same way (`_keep`): the episode is stored in one transaction, with the speakers its
publisher names and, for a recording, its speakers matched against the voice profiles, and queued for the saved
searches (`podscope.alerts`, run by the library once it is indexed); then it is indexed for search.
A recording or transcript already in the library (the same bytes) is not processed again.

Why it looks like this:
- The functions take what they use (the store, the people, the search index, options and a transcriber factory),
  not a `Library`: `Library.add_audio` and `Library.import_transcript` are the public face, check what the user
  typed, and call in here. This module never imports the library.
- The audio stages (decode, diarize and transcribe, align) are `podscope.pipeline`'s; it is imported only when audio
  is processed, since it brings in the models.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from podscope import audio, formats
from podscope.align import speaker_over
from podscope.errors import AudioError, InputError
from podscope.people import People
from podscope.records import (
    Diarization,
    Episode,
    EpisodeMeta,
    Hook,
    ProcessedEpisode,
    Segment,
    SpeakerTrack,
    segment_turns,
)
from podscope.search.engine import Search
from podscope.store import StoreBackend

if TYPE_CHECKING:  # the pipeline pulls in torch and the models: imported only when audio is processed
    from podscope.asr.whisper import WhisperTranscriber
    from podscope.pipeline import PipelineReport
    from podscope.voices.diarize import DiarizationOptions


@dataclass(frozen=True)
class AddResult:
    """The outcome of adding a recording: the stored episode, and whether it was new."""

    episode: Episode
    created: bool
    report: PipelineReport | None = None  # None when nothing was processed
    model: str = ""


# -- a recording ----------------------------------------------------------------------------------------------------


def add_audio(
    store: StoreBackend,
    people: People,
    search: Search,
    path: Path,
    meta: EpisodeMeta,
    *,
    transcriber: Callable[[], WhisperTranscriber],
    diarization: Callable[[], DiarizationOptions],
    workdir: Path,
    language: str | None = None,
    declared_language: str | None = None,
    into: int | None = None,
    hook: Hook | None = None,
    max_seconds: float | None = None,
) -> AddResult:
    """Process a recording and store it; one already in the library is returned as it is. `into` is a pending
    episode (from a feed) to fill in place; `language` and `declared_language` as in `pipeline.process_episode`; a
    recording longer than `max_seconds` is refused (TooLong) before it is decoded."""
    from podscope.pipeline import PipelineReport, StageTimer, process_episode

    if max_seconds is None:
        audio.probe(path)  # fail fast, before hashing or loading models
    else:
        audio.check_length(path, max_seconds)
    digest = audio.file_hash(path)
    existing = store.episodes.find_by_hash(digest)
    if existing is not None:
        search.index_pending()  # what a run killed after storing it left unindexed
        return AddResult(episode=existing, created=False)
    asr = transcriber()
    workdir.mkdir(exist_ok=True)
    report = PipelineReport()
    timer = StageTimer(report, hook)  # times storing and indexing; its clock is the episode's processing time
    processed = process_episode(
        path,
        meta,
        asr,
        diarization(),
        content_hash=digest,
        workdir=workdir,
        hook=hook,
        report=report,
        language=language,
        declared_language=declared_language,
        max_seconds=max_seconds,
    )
    episode_id, created = _keep(
        store, people, search, processed, with_audio=True, into=into, hook=timer, processing_seconds=timer.elapsed
    )
    episode = store.episodes.get(episode_id)
    return AddResult(episode=episode, created=created, report=report, model=asr.resolved.describe())


# -- a publisher's transcript ---------------------------------------------------------------------------------------


def import_transcript(
    store: StoreBackend,
    people: People,
    search: Search,
    path: Path,
    meta: EpisodeMeta,
    *,
    language: str,
    fmt: str | None,
    audio_path: Path | None,
    diarization: Callable[[], DiarizationOptions],
    workdir: Path,
    into: int | None = None,
    hook: Hook | None = None,
) -> AddResult:
    """Store an episode from a transcript file (Podcasting 2.0 JSON, WebVTT or SRT; `fmt`, else the extension), with
    its recording when `audio_path` is given; one already in the library is returned as it is. Caption-sized cues are
    joined into sentence-sized segments per speaker; the speakers the transcript names become people, named by the
    publisher.

    With the recording the audio is diarized too: segments get the diarized speakers, voiceprints are kept and
    matched against voice profiles, and each diarized speaker the transcript names is named so."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc
    digest = hashlib.sha256(raw).hexdigest()
    existing = store.episodes.find_by_hash(digest)
    if existing is not None:
        search.index_pending()  # what a run killed after storing it left unindexed
        return AddResult(episode=existing, created=False)
    kind = (fmt or path.suffix.lstrip(".")).lower()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path.name} is not UTF-8 text: expected a JSON, VTT or SRT transcript") from exc
    segments = join_cues(formats.read(text, kind))
    if not segments:
        raise InputError(f"{path.name} holds no transcript segments")
    source = f"publisher transcript ({kind})"
    names: dict[str, str]
    if audio_path is not None:
        audio.probe(audio_path)
        workdir.mkdir(exist_ok=True)
        processed, names = process_with_transcript(
            audio_path,
            meta,
            segments,
            diarization(),
            language=language,
            source=source,
            content_hash=digest,
            workdir=workdir,
            hook=hook,
        )
    else:
        processed = transcript_episode(meta, segments, content_hash=digest, language=language, source=source)
        names = {label: label for label in processed.diarization.labels}
    episode_id, created = _keep(
        store, people, search, processed, with_audio=audio_path is not None, into=into, names=names, hook=hook
    )
    return AddResult(episode=store.episodes.get(episode_id), created=created)


def join_cues(cues: list[Segment], longest: float = 20.0) -> list[Segment]:
    """Caption cues joined into readable segments: a segment ends at a speaker change, at the end of a sentence once
    it lasts 5 s or more, at a pause over 1.5 s, or before it would pass `longest` seconds."""
    out: list[Segment] = []
    for cue in cues:
        text = " ".join(cue.text.split())
        if not text:
            continue
        last = out[-1] if out else None
        if (
            last is not None
            and last.speaker == cue.speaker
            and cue.start - last.end <= 1.5
            and cue.end - last.start <= longest
            and not (last.text.endswith((".", "?", "!")) and last.end - last.start >= 5.0)
        ):
            out[-1] = Segment(last.start, cue.end, last.speaker, f"{last.text} {text}", last.words + cue.words)
        else:
            out.append(Segment(cue.start, cue.end, cue.speaker, text, cue.words))
    return out


def transcript_episode(
    meta: EpisodeMeta, segments: list[Segment], *, content_hash: str, language: str, source: str
) -> ProcessedEpisode:
    """An episode from a transcript alone (no audio): its named speakers become the episode's speakers, without
    voiceprints, and their turns are the segments they speak."""
    labels = list(dict.fromkeys(s.speaker for s in segments if s.speaker))
    return ProcessedEpisode(
        meta=meta,
        content_hash=content_hash,
        duration=max(s.end for s in segments),
        language=language,
        asr_model=source,
        asr_source="transcript",
        segments=tuple(segments),
        diarization=Diarization(
            turns=segment_turns(segments),
            speakers=tuple(
                SpeakerTrack(
                    label=label,
                    embedding=np.zeros(0, np.float32),
                    speaking_time=round(sum(s.end - s.start for s in segments if s.speaker == label), 3),
                )
                for label in labels
            ),
        ),
    )


def process_with_transcript(
    path: Path,
    meta: EpisodeMeta,
    segments: list[Segment],
    diarization_options: DiarizationOptions,
    *,
    language: str,
    source: str,
    content_hash: str,
    workdir: Path | None = None,
    hook: Hook | None = None,
) -> tuple[ProcessedEpisode, dict[str, str]]:
    """A recording whose transcript the publisher supplies: decode and diarize the audio (speakers, voiceprints),
    keep the publisher's text and timing, and give each segment the diarized speaker talking most during it.

    Returns the episode and, for each diarized label, the name the publisher's transcript gives the speaker who
    talks most within that label's turns (when the transcript names speakers)."""
    from podscope.pipeline import decode_audio, release_freed_memory
    from podscope.voices.diarize import diarize

    with decode_audio(path, workdir=workdir, hook=hook) as decoded:
        if decoded.is_silent:
            raise AudioError(f"{path}: the recording is silent; no speech to process")
        duration = decoded.duration
        diarization = diarize(decoded.samples(), options=diarization_options, hook=hook)
    release_freed_memory()
    turns = list(diarization.turns)
    relabelled = []
    names: dict[str, dict[str, float]] = {}
    for seg in segments:
        found = speaker_over([(seg.start, seg.end)], turns)
        label = found.speaker if found else None
        if found is not None and seg.speaker:
            names.setdefault(found.speaker, {})
            names[found.speaker][seg.speaker] = names[found.speaker].get(seg.speaker, 0.0) + found.seconds
        relabelled.append(Segment(seg.start, seg.end, label, seg.text, seg.words))
    processed = ProcessedEpisode(
        meta=meta,
        content_hash=content_hash,
        duration=max(duration, max((s.end for s in segments), default=0.0)),
        language=language,
        asr_model=source,
        asr_source="transcript",
        segments=tuple(relabelled),
        diarization=diarization,
    )
    return processed, {label: max(votes, key=lambda n: votes[n]) for label, votes in names.items()}


# -- either way ------------------------------------------------------------------------------------------------------


def _keep(
    store: StoreBackend,
    people: People,
    search: Search,
    processed: ProcessedEpisode,
    *,
    with_audio: bool,
    into: int | None,
    names: dict[str, str] | None = None,
    hook: Hook | None = None,
    processing_seconds: Callable[[], float] | None = None,
) -> tuple[int, bool]:
    """Store a processed episode in one transaction, with the speakers its publisher names (`names`: label -> name)
    and, when it came with audio, its voiceprints (voice profiles on) matched against the profiles; then index
    it for search. `processing_seconds()`, when given, is how long the episode took, stored with it. Returns the
    episode's id and whether it is new: another process may have stored the same recording while this one processed
    it, and then that episode is the one (nothing is stored twice)."""
    voiceprints = with_audio and people.enabled
    if hook:
        hook("store", 0, 1)
    with store.transaction():  # the episode, its named speakers and its voice matches land together
        store.episodes.hold_recording(processed.content_hash)
        already = store.episodes.find_by_hash(processed.content_hash)
        if already is None:
            episode_id = store.episodes.save(
                processed,
                processing_seconds=processing_seconds() if processing_seconds else None,
                voiceprints=voiceprints,
                into=into,
            )
            if names:
                people.name_by_publisher(episode_id, names)
            if voiceprints:
                people.match_episode(episode_id)
            store.alerts.queue_episode(episode_id)  # searched for the saved searches once indexed (podscope.alerts)
    if hook:
        hook("store", 1, 1)
        hook("index", 0, 1)
    search.index_pending()  # this episode, and anything an interrupted earlier run left unindexed
    if hook:
        hook("index", 1, 1)
    return (episode_id, True) if already is None else (already.id, False)
