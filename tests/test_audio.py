"""Audio in: every accepted format, level normalisation, streaming, and every kind of bad input."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest

from helpers import DATA, SAMPLE_WAV, write_wav
from podscope import audio
from podscope.errors import AudioError
from podscope.records import SAMPLE_RATE


@pytest.mark.parametrize("fmt", ["wav", "mp3", "m4a", "opus", "ogg", "flac", "mp4"])
def test_every_format_decodes_to_16k_mono(encoded: dict[str, Path], sample_samples: np.ndarray, fmt: str) -> None:
    samples = audio.load_audio(encoded[fmt])
    assert samples.dtype == np.float32 and samples.ndim == 1
    assert abs(samples.size / SAMPLE_RATE - 30.0) < 0.1  # codec padding is a few ms
    level = 20 * np.log10(np.sqrt(np.mean(samples**2)))
    reference = 20 * np.log10(np.sqrt(np.mean(sample_samples**2)))
    assert abs(level - reference) < 1.0


def test_stereo_44k_flac_becomes_mono_16k() -> None:
    info = audio.probe(DATA / "whisper" / "jfk.flac")
    assert (info.sample_rate, info.channels) == (44100, 2)
    samples = audio.load_audio(DATA / "whisper" / "jfk.flac")
    assert abs(samples.size / 16000 - 11.0) < 0.05


def test_streaming_chunks_are_bounded(encoded: dict[str, Path]) -> None:
    chunks = list(audio.iter_decode(encoded["mp3"], chunk_seconds=5.0))
    assert len(chunks) >= 6
    assert max(c.size for c in chunks) < 6 * SAMPLE_RATE


def test_spilled_decoding_reads_the_same_and_cleans_up(tmp_path: Path) -> None:
    in_memory = audio.decode(SAMPLE_WAV)
    spilled = audio.decode(SAMPLE_WAV, workdir=tmp_path, in_memory_seconds=5)
    assert spilled.spilled and not list(tmp_path.iterdir()), "spilled to a file without a name"
    assert in_memory.gain == pytest.approx(spilled.gain)
    np.testing.assert_allclose(in_memory.read(10.0, 12.5), spilled.read(10.0, 12.5))
    np.testing.assert_array_equal(in_memory.array(), spilled.array())
    spilled.close()
    assert not list(tmp_path.iterdir())


def test_a_process_killed_while_holding_a_spilled_recording_leaves_no_file(tmp_path: Path) -> None:
    """A long episode is spilled to the home's work folder for the length of its processing; a kill then (SIGKILL:
    nothing runs on the way out) used to leave the whole decoded recording there, hundreds of MB, for good."""
    work = tmp_path / "tmp"
    work.mkdir()
    script = (
        "import sys, time; from podscope import audio\n"
        f"decoded = audio.decode({str(SAMPLE_WAV)!r}, workdir={str(work)!r}, in_memory_seconds=5)\n"
        "assert decoded.spilled; print('spilled', flush=True); time.sleep(600)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "spilled"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(30)
    assert not list(work.iterdir())


def test_quiet_recording_is_brought_to_the_common_level(tmp_path: Path, sample_samples: np.ndarray) -> None:
    quiet = write_wav(tmp_path / "quiet.wav", sample_samples * 0.01)  # -40 dB: a far-field guest
    loud = audio.decode(SAMPLE_WAV)
    soft = audio.decode(quiet)
    assert soft.gain > 50 * loud.gain  # 40 dB quieter, so about 100 times the gain
    a, b = loud.read(5, 25), soft.read(5, 25)
    level = lambda x: 20 * np.log10(np.sqrt(np.mean(x**2)))  # noqa: E731
    assert abs(level(a) - level(b)) < 1.5


def test_silence_is_detected(tmp_path: Path) -> None:
    silent = write_wav(tmp_path / "silent.wav", np.zeros(16000 * 3, np.float32))
    assert audio.decode(silent).is_silent


def _bad(path: Path, *needles: str) -> None:
    with pytest.raises(AudioError) as info:
        audio.load_audio(path)
    message = str(info.value)
    assert str(path) in message
    for needle in needles:
        assert needle in message, message


def test_missing_file(tmp_path: Path) -> None:
    _bad(tmp_path / "nope.mp3", "no such file")


def test_directory(tmp_path: Path) -> None:
    _bad(tmp_path, "not a file")


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "empty.mp3").write_bytes(b"")
    _bad(tmp_path / "empty.mp3", "empty")


def test_text_file(tmp_path: Path) -> None:
    (tmp_path / "notes.mp3").write_text("these are show notes, not audio\n" * 50)
    _bad(tmp_path / "notes.mp3", "cannot be read as audio")


def test_random_bytes(tmp_path: Path) -> None:
    (tmp_path / "noise.wav").write_bytes(np.random.default_rng(0).bytes(50_000))
    _bad(tmp_path / "noise.wav")


def test_truncated_wav(tmp_path: Path) -> None:
    data = SAMPLE_WAV.read_bytes()
    (tmp_path / "cut.wav").write_bytes(data[: len(data) // 3])
    _bad(tmp_path / "cut.wav", "truncated")


@pytest.mark.parametrize("fmt", ["mp3", "m4a", "flac", "mp4"])
def test_truncated_compressed(tmp_path: Path, encoded: dict[str, Path], fmt: str) -> None:
    data = encoded[fmt].read_bytes()
    cut = tmp_path / f"cut.{fmt}"
    cut.write_bytes(data[: len(data) // 2])
    _bad(cut)


def test_zero_length_wav(tmp_path: Path) -> None:
    _bad(write_wav(tmp_path / "zero.wav", np.zeros(0, np.float32)), "no audio samples")


def test_video_without_audio(tmp_path: Path) -> None:
    path = tmp_path / "silent-film.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for _ in range(10):
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.zeros((48, 64, 3), np.uint8), format="rgb24")):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    _bad(path, "no audio track")


def test_file_hash_is_content_identity(tmp_path: Path) -> None:
    copy = tmp_path / "copy.wav"
    copy.write_bytes(SAMPLE_WAV.read_bytes())
    assert audio.file_hash(copy) == audio.file_hash(SAMPLE_WAV)


def test_a_spilled_recording_is_read_slice_by_slice(tmp_path: Path) -> None:
    with audio.decode(SAMPLE_WAV, workdir=tmp_path, in_memory_seconds=5) as spilled:
        view = spilled.samples()
        assert not isinstance(view, np.ndarray) and len(view) == view.size == 30 * 16000
        np.testing.assert_array_equal(view[16000:48000], spilled.read(1.0, 3.0))
        np.testing.assert_array_equal(view[-100:], spilled.array()[-100:])
    with audio.decode(SAMPLE_WAV) as in_memory:
        assert isinstance(in_memory.samples(), np.ndarray)
