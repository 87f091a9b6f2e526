"""Shared fixtures: real recordings from tests/data, re-encoded into the formats podcasts arrive in."""

from __future__ import annotations

import socket
import threading
import time
import wave
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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


# -- a real server and a real browser (the web tests) ----------------------------------------------------------------

CHROMIUM = Path("/usr/bin/chromium")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def served(lib: Any) -> Iterator[str]:
    """`podscope serve` over `lib` in a background thread (real uvicorn on loopback); yields its base URL."""
    import uvicorn

    from podscope.web.app import create_app

    server = uvicorn.Server(uvicorn.Config(create_app(lib), host="127.0.0.1", port=free_port(), log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, through Playwright (no browser download)."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (/usr/bin/chromium): `apt-get install -y chromium`")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--autoplay-policy=no-user-gesture-required",
            ],
        )
        try:
            yield b
        finally:
            b.close()


@pytest.fixture()
def page(browser: Any, site: dict[str, Any]) -> Iterator[Any]:
    """A fresh page on the module's `site`; any page error or dialog (an alert() would be an injection) fails."""
    context = browser.new_context(viewport={"width": 1280, "height": 860}, base_url=site["url"])
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.on("dialog", lambda dialog: errors.append(f"dialog: {dialog.message}"))
    try:
        yield pg
    finally:
        context.close()
    assert not errors, errors
