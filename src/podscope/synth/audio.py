"""Audio preparation: WAV files read and written, resampling, where the speech is, and levels (each utterance
trimmed to its speech, levelled, and faded at the cut edges)."""

from __future__ import annotations

import math
import os
import tempfile
import wave
from pathlib import Path

import numpy as np
import numpy.typing as npt
from scipy.signal import resample_poly

from podscope.audio import load_audio as decode_audio
from podscope.errors import AudioError
from podscope.records import SAMPLE_RATE

Audio = npt.NDArray[np.float32]


def resample(audio: Audio, rate: int, target: int) -> Audio:
    if rate == target:
        return audio.astype(np.float32, copy=False)
    g = math.gcd(rate, target)
    return np.asarray(resample_poly(audio, target // g, rate // g), dtype=np.float32)


def read_wav(path: Path) -> tuple[Audio, int]:
    """A 16-bit PCM WAV as float32 mono (channels averaged) and its sample rate."""
    with wave.open(str(path), "rb") as w:
        if w.getsampwidth() != 2:
            raise AudioError(f"{path}: expected 16-bit PCM WAV, got {8 * w.getsampwidth()}-bit")
        channels, rate = w.getnchannels(), w.getframerate()
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768.0
    return data.reshape(-1, channels).mean(axis=1).astype(np.float32), rate


def load_audio(path: Path, sample_rate: int = SAMPLE_RATE) -> Audio:
    """Any audio file podscope can decode, as float32 mono at `sample_rate`."""
    return resample(decode_audio(path), SAMPLE_RATE, sample_rate)


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


def prepare(audio: Audio, sample_rate: int, *, trim: bool, level_db: float | None, gain_db: float, what: str) -> Audio:
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
