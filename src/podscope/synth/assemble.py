"""The assembling: lines voiced and placed on one timeline (`synthesize`, `stitch_recordings`), and
`build_conversation`, which writes the reference files next to the audio and rebuilds only when its input changed."""

from __future__ import annotations

import hashlib
import json
import wave
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from podscope.errors import InputError
from podscope.records import SAMPLE_RATE
from podscope.synth.audio import Audio, prepare, write_wav
from podscope.synth.records import Conversation, Line, RefTurn, write_text
from podscope.synth.voices import default_cache_dir, parse_voice, render

# Bumped whenever rendering changes in a way that changes the audio; part of the key `build_conversation` reuses by.
SYNTH_VERSION = 1


def synthesize(
    lines: Sequence[Line],
    out_path: Path,
    *,
    gap: tuple[float, float] = (0.2, 0.8),
    overlap_prob: float = 0.0,
    overlap: tuple[float, float] = (0.3, 1.0),
    seed: int = 0,
    sample_rate: int = SAMPLE_RATE,
    gain_db: Mapping[str, float] | None = None,
    level_db: float | None = -22.0,
    lead: float = 0.5,
    tail: float = 0.5,
    noise_db: float | None = None,
    trim: bool = True,
    cache_dir: Path | None = None,
) -> Conversation:
    """Voice `lines` one after another into a 16-bit mono WAV at `out_path`; return it with its exact reference.

    Each utterance is trimmed to its speech (`speech_bounds`), levelled to `level_db` dBFS speech RMS, then raised by
    `gain_db[speaker]` dB. Consecutive utterances are separated by a silence drawn uniformly from `gap` seconds; with
    probability `overlap_prob` (only between different speakers) the next utterance instead starts `overlap` seconds
    (uniform, at most half of either utterance) before the previous one ends, and the two are mixed by addition.
    The mix is scaled down as a whole if it would clip. `noise_db` adds seeded white noise at that RMS level (dBFS)
    everywhere, for a less artificial silence. Deterministic for a seed.
    """
    if not lines:
        raise InputError("a conversation needs at least one line")
    lo, hi = gap
    if not 0.0 <= lo <= hi:
        raise InputError(f"gap must be (min, max) seconds with 0 <= min <= max, got {gap}")
    if not 0.0 <= overlap_prob <= 1.0:
        raise InputError(f"overlap_prob must be between 0 and 1, got {overlap_prob}")
    if not 0.0 < overlap[0] <= overlap[1]:
        raise InputError(f"overlap must be (min, max) seconds with 0 < min <= max, got {overlap}")
    cache_root = cache_dir if cache_dir is not None else default_cache_dir()
    gains = dict(gain_db or {})
    rng = np.random.default_rng(seed)

    clips: list[Audio] = []
    for i, line in enumerate(lines):
        raw, rate = render(line, sample_rate, cache_root)
        what = f"line {i + 1} ({line.speaker}: {line.text[:40]!r}, voice {line.voice})"
        clips.append(prepare(raw, rate, trim=trim, level_db=level_db, gain_db=gains.get(line.speaker, 0.0), what=what))

    starts: list[int] = []
    cursor = round(lead * sample_rate)  # where the previous utterance ends (the latest end so far)
    for i, clip in enumerate(clips):
        # Always draw the same three numbers per transition, so changing overlap_prob does not reshuffle the gaps.
        u, g, o = float(rng.random()), float(rng.uniform(lo, hi)), float(rng.uniform(*overlap))
        if i == 0:
            starts.append(cursor)
        else:
            # At most half of either utterance, so that no more than two people ever talk at once.
            limit = min(len(clips[i - 1]), len(clip)) // 2
            overlapping = u < overlap_prob and lines[i].speaker != lines[i - 1].speaker
            if overlapping and limit >= overlap[0] * sample_rate:
                starts.append(cursor - min(round(o * sample_rate), limit))
            else:
                starts.append(cursor + round(g * sample_rate))
        cursor = max(cursor, starts[-1] + len(clip))

    total = cursor + round(tail * sample_rate)
    mix = np.zeros(total, dtype=np.float32)
    for start, clip in zip(starts, clips, strict=True):
        mix[start : start + len(clip)] += clip
    if noise_db is not None:
        noise_rng = np.random.default_rng([seed, 1])
        mix += (noise_rng.standard_normal(total) * 10.0 ** (noise_db / 20.0)).astype(np.float32)
    peak = float(np.max(np.abs(mix)))
    if peak > 0.98:
        mix *= np.float32(0.98 / peak)
    write_wav(out_path, mix, sample_rate)

    turns = sorted(
        (
            RefTurn(line.speaker, start / sample_rate, (start + len(clip)) / sample_rate, line.text.strip())
            for line, start, clip in zip(lines, starts, clips, strict=True)
        ),
        key=lambda t: (t.start, t.end),
    )
    return Conversation(audio_path=out_path, turns=tuple(turns), duration=total / sample_rate, sample_rate=sample_rate)


def stitch_recordings(
    utterances: Sequence[tuple[str, Path, str]],
    out_path: Path,
    *,
    gap: tuple[float, float] = (0.2, 0.8),
    overlap_prob: float = 0.0,
    overlap: tuple[float, float] = (0.3, 1.0),
    seed: int = 0,
    sample_rate: int = SAMPLE_RATE,
    gain_db: Mapping[str, float] | None = None,
    level_db: float | None = -22.0,
    lead: float = 0.5,
    tail: float = 0.5,
    noise_db: float | None = None,
    trim: bool = True,
) -> Conversation:
    """Real recordings, given as (speaker, file, transcript or ""), stitched in the given order like `synthesize`."""
    lines = [Line(speaker, text, f"audio:{Path(path)}") for speaker, path, text in utterances]
    return synthesize(
        lines,
        out_path,
        gap=gap,
        overlap_prob=overlap_prob,
        overlap=overlap,
        seed=seed,
        sample_rate=sample_rate,
        gain_db=gain_db,
        level_db=level_db,
        lead=lead,
        tail=tail,
        noise_db=noise_db,
        trim=trim,
    )


def _request_key(lines: Iterable[Line], options: Mapping[str, Any]) -> str:
    """What a rendered conversation depends on: lines, options, the renderer version and, for recordings, their
    size and modification time (the flite version is covered by the flite cache key only, on purpose: the sample
    library should not be rebuilt by a flite security update)."""
    parts: list[Any] = [SYNTH_VERSION]
    for line in lines:
        entry: list[Any] = [line.speaker, line.text, line.voice]
        kind, value = parse_voice(line.voice)
        if kind == "audio":
            st = Path(value).stat()
            entry += [st.st_size, st.st_mtime_ns]
        parts.append(entry)
    parts.append({k: options[k] for k in sorted(options) if k != "cache_dir"})
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def reference_paths(out_path: Path) -> dict[str, Path]:
    """The files `build_conversation` writes next to the audio."""
    return {
        "reference": out_path.with_suffix(".ref.json"),
        "rttm": out_path.with_suffix(".rttm"),
        "transcript": out_path.with_suffix(".ref.txt"),
    }


def build_conversation(
    lines: Sequence[Line],
    out_path: Path,
    **options: Any,
) -> Conversation:
    """`synthesize(lines, out_path, **options)`, unless `out_path` was already built from the same lines and options.

    Also writes the reference next to the audio: <stem>.ref.json (the turns, and the key the next call compares),
    <stem>.rttm and <stem>.ref.txt. Safe to call on every run: an unchanged conversation costs one small JSON read.
    """
    paths = reference_paths(out_path)
    key = _request_key(lines, options)
    existing = _load_built(out_path, paths["reference"], key)
    if existing is not None:
        return existing
    conversation = synthesize(lines, out_path, **options)
    conversation.write_rttm(paths["rttm"])
    conversation.write_transcript(paths["transcript"])
    write_text(paths["reference"], json.dumps({"key": key, **conversation.to_json()}, indent=1) + "\n")
    return conversation


def _load_built(out_path: Path, reference: Path, key: str) -> Conversation | None:
    try:
        data = json.loads(reference.read_text(encoding="utf-8"))
        if data.get("key") != key or data.get("audio") != out_path.name:
            return None
        conversation = Conversation.from_json(data, out_path.parent)
        with wave.open(str(out_path), "rb") as w:
            frames, rate = w.getnframes(), w.getframerate()
    except (OSError, ValueError, KeyError, TypeError, EOFError, wave.Error):
        return None
    if rate != conversation.sample_rate or frames != round(conversation.duration * rate):
        return None
    return conversation
