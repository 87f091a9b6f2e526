"""Shared fixtures: real recordings from tests/data, re-encoded into the formats podcasts arrive in."""

from __future__ import annotations

import wave
from pathlib import Path

import av
import numpy as np
import pytest

DATA = Path(__file__).parent / "data"
SAMPLE_WAV = DATA / "pyannote-sample" / "sample.wav"


def write_wav(path: Path, samples: np.ndarray, rate: int = 16000) -> Path:
    """16-bit PCM WAV with the standard library."""
    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
    return path


def encode(path: Path, samples: np.ndarray, codec: str, rate: int = 16000, video: bool = False) -> Path:
    """Encode mono 16 kHz float samples with PyAV (FFmpeg's encoders), optionally with a video track."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=rate)
        stream.layout = "mono"
        if video:
            vstream = out.add_stream("mpeg4", rate=10)
            vstream.width, vstream.height, vstream.pix_fmt = 64, 48, "yuv420p"
            for _ in range(int(len(samples) / 16000 * 10)):
                frame = av.VideoFrame.from_ndarray(np.zeros((48, 64, 3), np.uint8), format="rgb24")
                for packet in vstream.encode(frame):
                    out.mux(packet)
        pcm = (np.clip(samples, -1, 1) * 32767).astype(np.int16)
        for i in range(0, len(pcm), 1024):
            frame = av.AudioFrame.from_ndarray(pcm[None, i : i + 1024], format="s16", layout="mono")
            frame.sample_rate = 16000
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
        if video:
            for packet in vstream.encode(None):
                out.mux(packet)
    return path


@pytest.fixture(scope="session")
def sample_samples() -> np.ndarray:
    from podscope.audio import load_audio

    return load_audio(SAMPLE_WAV)


@pytest.fixture(scope="session")
def encoded(tmp_path_factory: pytest.TempPathFactory, sample_samples: np.ndarray) -> dict[str, Path]:
    """The real two-speaker sample in every container/codec podscope accepts."""
    d = tmp_path_factory.mktemp("encoded")
    return {
        "wav": SAMPLE_WAV,
        "mp3": encode(d / "sample.mp3", sample_samples, "libmp3lame"),
        "m4a": encode(d / "sample.m4a", sample_samples, "aac"),
        "opus": encode(d / "sample.opus", sample_samples, "libopus", rate=48000),
        "ogg": encode(d / "sample.ogg", sample_samples, "libopus", rate=48000),
        "flac": encode(d / "sample.flac", sample_samples, "flac"),
        "mp4": encode(d / "sample.mp4", sample_samples, "aac", video=True),
    }
