"""Audio in: any container PyAV (FFmpeg) can read becomes 16 kHz mono float32.

Why it looks like this:
- Podcasts arrive as mp3, m4a/aac, ogg/opus, flac, wav, or as video; PyAV decodes all of them without a system ffmpeg.
- A 3-hour episode is 690 MB as float32; decoding streams in short chunks, and `decode()` spills long recordings to a
  raw PCM file that later stages read window by window, so memory stays at a few minutes of audio. The file has no
  name (unlinked from the start), so a process killed mid-episode leaves nothing behind in the work folder.
- Recordings differ in level by 30 dB or more (a quiet far-field guest next to a loud studio host); `DecodedAudio`
  applies one gain per recording so that its speech sits at a common level before detection and recognition.
- Bad input is found here, before any model runs, and described in one sentence.
- A recording can come from a stranger (an upload, a feed's enclosure), so FFmpeg opens it as one local file in one
  of the containers podcasts come in (`DEMUXERS`): never as a playlist or a list of files (HLS, DASH, ffconcat),
  which would make it read other files or URLs on the recording's behalf; and a recording longer than the caller's
  limit is refused from its packets before anything is decoded, and again while decoding (under 1 MB of FLAC can
  decode to days of silence).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import av
import numpy as np
import numpy.typing as npt

from podscope.errors import AudioError, TooLong
from podscope.records import SAMPLE_RATE

ACCEPTED = "mp3, m4a/aac, ogg/opus, flac, wav, or a video file with an audio track"
# Below this peak level (dBFS) a recording is treated as silent.
SILENCE_PEAK_DBFS = -60.0
# Speech is brought to this level (dBFS, RMS of the loud frames) unless that would clip.
TARGET_SPEECH_DBFS = -20.0
# Recordings longer than this are spilled to a PCM file instead of being held in memory.
IN_MEMORY_SECONDS = 20 * 60
# Containers whose header gives an exact length, so a shortfall in decoded audio means truncation. Other containers'
# lengths can be estimates (VBR mp3 without a Xing header), so only a large shortfall counts there.
_EXACT_LENGTH_FORMATS = {"wav", "flac", "aiff", "w64"}
_ESTIMATED_LENGTH_SHORTFALL = 0.75

# The FFmpeg demuxers a recording may be opened with: audio and video containers. Not hls, dash, concat, image2,
# lavfi, tee or any other that opens more than the one local file it is given.
DEMUXERS = "mp3,mov,mp4,m4a,3gp,3g2,mj2,ogg,flac,wav,w64,aiff,matroska,webm,aac,caf,asf,avi,mpegts,mpeg,wv,ape,amr,au"
_OPEN_OPTIONS = {"format_whitelist": DEMUXERS, "protocol_whitelist": "file"}

Waveform = npt.NDArray[np.float32]


@dataclass(frozen=True)
class AudioInfo:
    """What the container says about a file, checked to hold an audio stream."""

    path: Path
    format_name: str
    codec: str
    sample_rate: int
    channels: int
    declared_duration: float | None


def _check_file(path: Path) -> None:
    if not path.exists():
        raise AudioError(f"{path}: no such file; expected an audio file ({ACCEPTED})")
    if not path.is_file():
        raise AudioError(f"{path}: is not a file; expected an audio file ({ACCEPTED})")
    if path.stat().st_size == 0:
        raise AudioError(f"{path}: the file is empty (0 bytes); expected an audio file ({ACCEPTED})")


def probe(path: Path | str) -> AudioInfo:
    """Open a file and check that it holds a decodable audio stream, without decoding it."""
    path = Path(path)
    _check_file(path)
    try:
        with _open(path) as container:
            if not container.streams.audio:
                raise AudioError(f"{path}: the file has no audio track; expected {ACCEPTED}")
            stream = container.streams.audio[0]
            duration = None
            if stream.duration is not None and stream.time_base is not None:
                duration = float(stream.duration * stream.time_base)
            elif container.duration is not None:
                duration = container.duration / av.time_base
            codec = stream.codec_context.name if stream.codec_context else "unknown"
            return AudioInfo(
                path=path,
                format_name=container.format.name,
                codec=codec,
                sample_rate=int(stream.sample_rate or 0),
                channels=int(stream.channels or 0),
                declared_duration=duration,
            )
    except AudioError:
        raise
    except av.ArgumentError as exc:  # a container outside DEMUXERS (or a playlist) is refused as an argument
        raise AudioError(
            f"{path}: not a recording podscope opens: expected {ACCEPTED}; playlists and lists of files (HLS, DASH,"
            f" ffconcat) are refused ({_reason(exc)})"
        ) from exc
    except (av.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        raise AudioError(
            f"{path}: cannot be read as audio: the file is corrupt, truncated, or not {ACCEPTED} ({_reason(exc)})"
        ) from exc


def _open(path: Path) -> av.container.InputContainer:
    return av.open(str(path), metadata_errors="ignore", container_options=_OPEN_OPTIONS)


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.3g} h" if seconds >= 3600 else f"{seconds / 60:.3g} min"


def _too_long(path: Path, seconds: float, max_seconds: float, how: str) -> TooLong:
    return TooLong(
        f"{path}: the recording {how} {_hours(seconds)}, longer than the {_hours(max_seconds)} podscope takes"
        " (setting max_audio_hours)"
    )


def check_length(path: Path | str, max_seconds: float) -> AudioInfo:
    """`probe`, then refuse (TooLong) a recording longer than `max_seconds`, by what its header declares and by the
    durations of its packets, read without decoding them (a header can claim anything; a second of packets is a
    second of sound)."""
    info = probe(path)
    if info.declared_duration is not None and info.declared_duration > max_seconds:
        raise _too_long(info.path, info.declared_duration, max_seconds, "declares")
    total = 0.0
    try:
        with _open(info.path) as container:
            stream = container.streams.audio[0]
            for packet in container.demux(stream):
                if packet.duration and packet.time_base is not None:
                    total += float(packet.duration * packet.time_base)
                    if total > max_seconds:
                        raise _too_long(info.path, total, max_seconds, "lasts more than")
    except av.FFmpegError:
        pass  # a damaged stretch: decoding says where, with its own message
    return info


def _wav_shortfall(path: Path) -> tuple[int, int] | None:
    """(declared, present) bytes of a RIFF WAV's data chunk when the file ends early; FFmpeg does not report it."""
    with open(path, "rb") as fh:
        head = fh.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        size = path.stat().st_size
        while True:
            chunk = fh.read(8)
            if len(chunk) < 8:
                return None
            length = int.from_bytes(chunk[4:], "little")
            if chunk[:4] == b"data":
                present = size - fh.tell()
                return (length, present) if 0 < present < length and length != 0xFFFFFFFF else None
            fh.seek(length + (length & 1), 1)


def _reason(exc: Exception) -> str:
    """FFmpeg's own words, without the errno prefix."""
    text = str(exc)
    return text.split("] ", 1)[1] if text.startswith("[Errno") and "] " in text else text


def iter_decode(path: Path | str, chunk_seconds: float = 30.0, max_seconds: float | None = None) -> Iterator[Waveform]:
    """Decode a file to 16 kHz mono float32, yielding chunks of about `chunk_seconds`.

    Raises AudioError for unreadable, corrupt or truncated input; the message says how far decoding got; TooLong as
    soon as more than `max_seconds` have decoded.
    """
    info = probe(path)
    most = None if max_seconds is None else int(max_seconds * SAMPLE_RATE)
    chunk_samples = int(chunk_seconds * SAMPLE_RATE)
    resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
    pending: list[Waveform] = []
    pending_len = 0
    decoded = 0
    try:
        with _open(info.path) as container:
            stream = container.streams.audio[0]
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    samples = out.to_ndarray().reshape(-1).astype(np.float32, copy=False)
                    pending.append(samples)
                    pending_len += samples.size
                    decoded += samples.size
                    if most is not None and decoded > most:
                        raise _too_long(info.path, decoded / SAMPLE_RATE, most / SAMPLE_RATE, "decodes to more than")
                    if pending_len >= chunk_samples:
                        yield np.concatenate(pending)
                        pending, pending_len = [], 0
            for out in resampler.resample(None):
                samples = out.to_ndarray().reshape(-1).astype(np.float32, copy=False)
                pending.append(samples)
                decoded += samples.size
    except av.FFmpegError as exc:
        if decoded == 0:
            raise AudioError(
                f"{info.path}: the audio cannot be decoded: the file is corrupt or not {ACCEPTED} ({_reason(exc)})"
            ) from exc
        raise AudioError(
            f"{info.path}: the file is corrupt or truncated: decoding failed at {decoded / SAMPLE_RATE:.1f} s"
            f" ({_reason(exc)})"
        ) from exc
    if pending:
        yield np.concatenate(pending)
    if decoded == 0:
        raise AudioError(f"{info.path}: the file contains no audio samples (zero length)")
    declared = info.declared_duration
    got = decoded / SAMPLE_RATE
    if info.format_name == "wav" and (short := _wav_shortfall(info.path)):
        raise AudioError(
            f"{info.path}: the file is truncated: its header declares {short[0]} bytes of audio but only {short[1]}"
            " are present"
        )
    exact = info.format_name.split(",")[0] in _EXACT_LENGTH_FORMATS
    if declared and got < (0.9 if exact else _ESTIMATED_LENGTH_SHORTFALL) * declared - 0.5:
        raise AudioError(
            f"{info.path}: the file is truncated: its header declares {declared:.1f} s but only {got:.1f} s decode"
        )


def load_audio(path: Path | str) -> Waveform:
    """The whole recording in memory, 16 kHz mono float32, as recorded (no gain applied)."""
    chunks = list(iter_decode(path))
    return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)


def file_hash(path: Path | str) -> str:
    """sha256 of the file's bytes: the identity of a recording, so adding it twice is a no-op."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class DecodedAudio:
    """A decoded recording, held in memory or in a raw float32 file, read by time range with a fixed gain.

    The spill file is an open file without a name: closing it (or the process dying) frees its space. Use as a
    context manager so it is closed as soon as the recording is no longer needed.
    """

    def __init__(self, samples: Waveform | None, spill: IO[bytes] | None, length: int, gain: float, peak_dbfs: float):
        self._samples = samples
        self._spill = spill
        self.length = length
        self.gain = gain
        self.peak_dbfs = peak_dbfs

    @property
    def duration(self) -> float:
        return self.length / SAMPLE_RATE

    @property
    def is_silent(self) -> bool:
        return self.peak_dbfs < SILENCE_PEAK_DBFS

    def read(self, start: float = 0.0, end: float | None = None) -> Waveform:
        """Samples from `start` to `end` seconds, gain applied, clipped to [-1, 1]."""
        a = max(0, round(start * SAMPLE_RATE))
        b = self.length if end is None else min(self.length, round(end * SAMPLE_RATE))
        if b <= a:
            return np.zeros(0, dtype=np.float32)
        if self._samples is not None:
            out = self._samples[a:b] * np.float32(self.gain)
        else:
            assert self._spill is not None
            out = _read_floats(self._spill, a, b - a) * np.float32(self.gain)
        return np.clip(out, -1.0, 1.0, out=out)

    def array(self) -> Waveform:
        """The whole recording; for long recordings prefer `read()` by window."""
        return self.read(0.0, None)

    @property
    def spilled(self) -> bool:
        return self._spill is not None

    def samples(self) -> Waveform:
        """The recording for stages that only slice it: the array when in memory, else a `SampleView` that reads
        each slice from the spill file, so a 3-hour episode is never in memory at once."""
        if self._spill is None:
            return self.array()
        return SampleView(self)  # type: ignore[return-value]  # duck-typed: ndim, size, len() and slicing

    def close(self) -> None:
        if self._spill is not None:
            self._spill.close()
            self._spill = None

    def __enter__(self) -> DecodedAudio:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _read_floats(spill: IO[bytes], start: int, count: int) -> Waveform:
    """`count` float32 samples from `start` in the spill file, with pread (no shared file position: safe from any
    thread), in pieces, since one read returns at most about 2 GB."""
    out = np.empty(count, dtype=np.float32)
    view = out.data.cast("B")
    done = 0
    while done < view.nbytes:
        piece = os.preadv(spill.fileno(), [view[done : done + (1 << 30)]], start * 4 + done)
        if piece <= 0:
            raise AudioError("the decoded recording's spill file ended early")
        done += piece
    return out


class SampleView:
    """A read-only, array-like view of a spilled recording: slicing `view[a:b]` reads just those samples."""

    ndim = 1
    dtype = np.dtype(np.float32)

    def __init__(self, audio: DecodedAudio):
        self._audio = audio

    @property
    def shape(self) -> tuple[int]:
        return (self._audio.length,)

    @property
    def size(self) -> int:
        return self._audio.length

    def __len__(self) -> int:
        return self._audio.length

    def __getitem__(self, index: slice) -> Waveform:
        if not isinstance(index, slice) or index.step not in (None, 1):
            raise TypeError("SampleView supports contiguous slices only")
        start, stop, _ = index.indices(self._audio.length)
        return self._audio.read(start / SAMPLE_RATE, stop / SAMPLE_RATE)


def _frame_levels(samples: Waveform, frame: int = 400) -> npt.NDArray[np.float64]:
    """RMS of 25 ms frames, in dBFS."""
    n = samples.size // frame
    if n == 0:
        return np.array([-120.0])
    frames = samples[: n * frame].reshape(n, frame).astype(np.float64)
    rms = np.sqrt(np.mean(frames * frames, axis=1) + 1e-12)
    return 20.0 * np.log10(rms + 1e-12)


def speech_gain(levels_dbfs: npt.NDArray[np.float64], peak_dbfs: float) -> float:
    """One gain that brings the loud (speech) frames to TARGET_SPEECH_DBFS without clipping the peak.

    The speech level is the 90th percentile of all frame levels, so the gain of a recording scaled by k is the
    original gain divided by k: quiet and loud copies of the same speech end up at the same level.
    """
    speech_level = float(np.percentile(levels_dbfs, 90))
    if speech_level < -90.0:
        return 1.0
    gain_db = TARGET_SPEECH_DBFS - speech_level
    gain_db = min(gain_db, -1.0 - peak_dbfs, 50.0)  # keep 1 dB of headroom; never amplify by more than 50 dB
    return float(10.0 ** (gain_db / 20.0))


def decode(
    path: Path | str,
    workdir: Path | None = None,
    in_memory_seconds: float = IN_MEMORY_SECONDS,
    max_seconds: float | None = None,
) -> DecodedAudio:
    """Decode a whole recording once, measuring its level on the way; long recordings spill to a file in `workdir`.
    More than `max_seconds` of sound is refused (TooLong) as it decodes, and the spilled file removed."""
    levels: list[npt.NDArray[np.float64]] = []
    peak = 0.0
    held: list[Waveform] = []
    held_len = 0
    spill: IO[bytes] | None = None
    try:
        for chunk in iter_decode(path, max_seconds=max_seconds):
            levels.append(_frame_levels(chunk))
            if chunk.size:
                peak = max(peak, float(np.max(np.abs(chunk))))
            if spill is None and held_len + chunk.size > in_memory_seconds * SAMPLE_RATE:
                if workdir is not None:
                    Path(workdir).mkdir(parents=True, exist_ok=True)
                # Unlinked from the start (O_TMPFILE on Linux): nothing is left behind however the process ends.
                spill = tempfile.TemporaryFile(prefix="podscope-", suffix=".f32", dir=workdir)  # noqa: SIM115 (DecodedAudio closes it)
                for h in held:
                    spill.write(h.astype(np.float32, copy=False).tobytes())
                held = []
            if spill is not None:
                spill.write(chunk.astype(np.float32, copy=False).tobytes())
            else:
                held.append(chunk)
            held_len += chunk.size
        if spill is not None:
            spill.flush()
    except BaseException:
        if spill is not None:
            spill.close()
        raise
    peak_dbfs = 20.0 * np.log10(peak + 1e-12)
    gain = speech_gain(np.concatenate(levels), peak_dbfs) if levels else 1.0
    samples = (
        np.concatenate(held) if spill is None and held else (None if spill is not None else np.zeros(0, np.float32))
    )
    return DecodedAudio(samples, spill, held_len, gain, float(peak_dbfs))
