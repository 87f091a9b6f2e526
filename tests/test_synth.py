"""Synthetic conversations: the reference must describe the audio exactly, because every benchmark trusts it.

Real flite runs, no mocks. The missing-flite case is produced by emptying PATH, not by patching podscope.
"""

from __future__ import annotations

import json
import re
import shutil
import wave
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from helpers import DATA
from podscope.errors import InputError
from podscope.sample_scripts import build_sample_library, sample_scripts
from podscope.synth import (
    DISTINCT_FLITE_VOICES,
    Conversation,
    FliteNotFound,
    Line,
    PiperNotFound,
    build_conversation,
    flite_voices,
    load_audio,
    stitch_recordings,
    synthesize,
)

needs_flite = pytest.mark.skipif(shutil.which("flite") is None, reason="flite is not installed")

LINES = (
    Line("Ada Moss", "Welcome back to the show. Today we are talking about lighthouses.", "flite:awb"),
    Line("Ben Ortiz", "Right.", "flite:rms"),
    Line("Ada Moss", "The keeper climbed the tower every evening to light the lamp.", "flite:awb"),
    Line("Cleo Park", "And trimmed the wick all night, which is why sailors called them wickies.", "flite:slt"),
    Line("Ben Ortiz", "I had no idea.", "flite:rms"),
)


def _read(path: Path) -> tuple[npt.NDArray[np.float32], int, int, int]:
    with wave.open(str(path), "rb") as w:
        x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768.0
        return x, w.getframerate(), w.getnchannels(), w.getsampwidth()


def _db(x: npt.NDArray[np.float32]) -> float:
    return float(10.0 * np.log10(np.mean(np.square(x, dtype=np.float64)) + 1e-20))


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("flite-cache")


@pytest.fixture(scope="module")
def conv(tmp_path_factory: pytest.TempPathFactory, cache: Path) -> Conversation:
    if shutil.which("flite") is None:
        pytest.skip("flite is not installed")
    out = tmp_path_factory.mktemp("conv") / "five lines.wav"
    return synthesize(LINES, out, gap=(0.3, 0.6), seed=7, cache_dir=cache)


@needs_flite
def test_flite_voices_are_the_distinct_installed_ones() -> None:
    voices = flite_voices()
    assert voices, "flite is installed but none of awb, rms, slt, kal16 is"
    assert set(voices) <= set(DISTINCT_FLITE_VOICES)
    assert "kal" not in voices and "awb_time" not in voices


def test_missing_flite_says_how_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no flite anywhere on PATH
    with pytest.raises(FliteNotFound, match="apt-get install flite"):
        flite_voices()
    with pytest.raises(FliteNotFound, match="apt-get install flite"):
        synthesize(LINES[:1], tmp_path / "x.wav", cache_dir=tmp_path / "cache")
    assert not (tmp_path / "x.wav").exists()


def test_audio_is_16k_mono_pcm16_and_matches_duration(conv: Conversation) -> None:
    x, rate, channels, width = _read(conv.audio_path)
    assert (rate, channels, width) == (16000, 1, 2)
    assert len(x) == round(conv.duration * 16000)
    assert 0.1 < float(np.max(np.abs(x))) < 1.0


def test_turns_follow_the_lines_and_sit_on_sample_boundaries(conv: Conversation) -> None:
    assert [t.speaker for t in conv.turns] == [line.speaker for line in LINES]
    assert [t.text for t in conv.turns] == [line.text for line in LINES]
    assert conv.speakers == ["Ada Moss", "Ben Ortiz", "Cleo Park"]
    assert conv.turns[0].start == pytest.approx(0.5)
    for t in conv.turns:
        assert (t.start * 16000).is_integer() and (t.end * 16000).is_integer()
    for a, b in zip(conv.turns, conv.turns[1:], strict=False):
        assert 0.3 - 1e-9 <= b.start - a.end <= 0.6 + 1e-9
    assert conv.duration == pytest.approx(conv.turns[-1].end + 0.5)
    assert conv.overlap_duration == 0.0
    assert conv.reference_text().startswith("Welcome back to the show.")


def test_speech_fills_the_turns_and_silence_fills_the_gaps(conv: Conversation) -> None:
    x, sr, _, _ = _read(conv.audio_path)
    inside = np.zeros(len(x), dtype=bool)
    for t in conv.turns:
        s, e = round(t.start * sr), round(t.end * sr)
        inside[s:e] = True
        seg = x[s:e]
        assert _db(seg) > -35.0, f"turn {t} is too quiet"
        edge = round(0.03 * sr)  # trimmed to the speech: the first and last 30 ms already carry sound
        assert _db(seg[:edge]) > -60.0 and _db(seg[-edge:]) > -60.0, f"turn {t} starts or ends in silence"
    assert float(np.max(np.abs(x[~inside]))) == 0.0  # between turns: digital silence
    # A short back-channel is short once trimmed: flite's own leading and trailing silence is gone.
    assert conv.turns[1].duration < 0.8


@needs_flite
def test_rttm_and_transcript_files(conv: Conversation, tmp_path: Path) -> None:
    from pyannote.database.util import load_rttm

    rttm = conv.write_rttm(tmp_path / "ref.rttm")
    for line in rttm.read_text().splitlines():
        fields = line.split()
        assert len(fields) == 10 and fields[0] == "SPEAKER" and fields[2] == "1" and fields[5] == "<NA>"
    loaded = load_rttm(str(rttm))
    assert list(loaded) == ["five_lines"]  # uri: the file stem, whitespace made RTTM-safe
    ann = loaded["five_lines"]
    assert sorted(ann.labels()) == ["Ada_Moss", "Ben_Ortiz", "Cleo_Park"]
    ref_total = {"Ada_Moss": 0.0, "Ben_Ortiz": 0.0, "Cleo_Park": 0.0}
    for t in conv.turns:
        ref_total[t.speaker.replace(" ", "_")] += t.duration
    for label, total in ref_total.items():
        assert ann.label_duration(label) == pytest.approx(total, abs=1e-4)
    text = conv.write_transcript(tmp_path / "ref.txt").read_text().splitlines()
    assert text == [line.text for line in LINES]


@needs_flite
def test_deterministic_for_a_seed(conv: Conversation, tmp_path: Path) -> None:
    # A fresh cache makes flite run again: the bytes must still be identical.
    again = synthesize(LINES, tmp_path / "again.wav", gap=(0.3, 0.6), seed=7, cache_dir=tmp_path / "fresh-cache")
    assert again.turns == conv.turns
    assert again.audio_path.read_bytes() == conv.audio_path.read_bytes()
    other = synthesize(LINES, tmp_path / "other.wav", gap=(0.3, 0.6), seed=8, cache_dir=tmp_path / "fresh-cache")
    assert [t.start for t in other.turns] != [t.start for t in conv.turns]


@needs_flite
def test_overlaps_are_short_and_mixed_by_addition(tmp_path: Path, cache: Path) -> None:
    a = Line("A", "The keeper climbed the tower every evening to light the lamp.", "flite:awb")
    b = Line("B", "And trimmed the wick all night, which is why sailors called them wickies.", "flite:slt")
    c = Line("C", "I had no idea that was where the word came from.", "flite:rms")
    both = synthesize([a, b, c], tmp_path / "both.wav", overlap_prob=1.0, seed=3, cache_dir=cache)
    t1, t2, t3 = both.turns
    for first, second in ((t1, t2), (t2, t3)):
        overlap = first.end - second.start
        assert 0.3 - 1e-9 <= overlap <= 1.0 + 1e-9
        assert overlap <= min(first.duration, second.duration) / 2 + 1e-9
    assert t3.start >= t1.end  # never three at once
    assert both.overlap_duration == pytest.approx((t1.end - t2.start) + (t2.end - t3.start))

    # The overlapped stretch is the sum of the two utterances rendered alone.
    x, sr, _, _ = _read(both.audio_path)
    alone_a, _, _, _ = _read(synthesize([a], tmp_path / "a.wav", cache_dir=cache).audio_path)
    alone_b, _, _, _ = _read(synthesize([b], tmp_path / "b.wav", cache_dir=cache).audio_path)
    s1, s2, e1 = round(t1.start * sr), round(t2.start * sr), round(t1.end * sr)
    lead = round(0.5 * sr)
    expected = alone_a[lead + (s2 - s1) : lead + (e1 - s1)] + alone_b[lead : lead + (e1 - s2)]
    got = x[s2:e1]
    scale = float(np.dot(got, expected) / np.dot(expected, expected))  # 1 unless the mix was scaled to avoid clipping
    assert 0.5 < scale <= 1.0 + 1e-3
    assert float(np.max(np.abs(got - scale * expected))) < 3e-4
    assert float(np.max(np.abs(x))) <= 0.98 + 1e-4


@needs_flite
def test_same_speaker_never_overlaps_itself(tmp_path: Path, cache: Path) -> None:
    lines = [Line("A", "The first sentence is this one.", "flite:awb"), Line("A", "And this one follows.", "flite:awb")]
    conv = synthesize(lines, tmp_path / "same.wav", overlap_prob=1.0, cache_dir=cache)
    assert conv.turns[1].start - conv.turns[0].end >= 0.2 - 1e-9


@needs_flite
def test_gain_per_speaker_and_resampling_of_8k_voices(tmp_path: Path, cache: Path) -> None:
    text = "The lighthouse keeper trimmed the wick every night."
    lines = [Line("Loud", text, "flite:kal16"), Line("Quiet", text, "flite:kal")]  # kal is the 8 kHz build
    conv = synthesize(lines, tmp_path / "gain.wav", gain_db={"Quiet": -10.0}, cache_dir=cache)
    x, sr, _, _ = _read(conv.audio_path)
    loud, quiet = [x[round(t.start * sr) : round(t.end * sr)] for t in conv.turns]
    assert _db(loud) - _db(quiet) == pytest.approx(10.0, abs=1.5)
    assert conv.turns[1].duration == pytest.approx(conv.turns[0].duration, rel=0.05)  # same speech, same length


@needs_flite
def test_bad_voices_are_refused(tmp_path: Path, cache: Path) -> None:
    with pytest.raises(FliteNotFound, match="not installed"):
        synthesize([Line("A", "Hello there.", "flite:no_such_voice")], tmp_path / "x.wav", cache_dir=cache)
    with pytest.raises(InputError, match="flite:<voice name>"):
        synthesize([Line("A", "Hello there.", "espeak:en")], tmp_path / "x.wav", cache_dir=cache)
    with pytest.raises(InputError):
        synthesize([], tmp_path / "x.wav", cache_dir=cache)


def test_stitch_real_recordings(tmp_path: Path) -> None:
    sb = DATA / "speechbrain-asr"
    texts = json.loads((sb / "ASR_train.json").read_text())
    utterances = [
        ("sb-spk1", sb / "spk1_snt1.wav", texts["spk1_snt1"]["wrd"]),
        ("sb-spk2", sb / "spk2_snt1.wav", texts["spk2_snt1"]["wrd"]),
        ("sb-spk1", sb / "spk1_snt2.wav", texts["spk1_snt2"]["wrd"]),
        ("ls-367", DATA / "librispeech-test-other" / "367" / "367-130732-0000.flac", ""),  # no transcript
    ]
    conv = stitch_recordings(utterances, tmp_path / "real.wav", overlap_prob=0.5, seed=1)
    x, rate, channels, _ = _read(conv.audio_path)
    assert (rate, channels) == (16000, 1) and len(x) == round(conv.duration * 16000)
    assert sorted((t.speaker, t.text) for t in conv.turns) == sorted((u[0], u[2]) for u in utterances)
    for t in conv.turns:
        source = next(u[1] for u in utterances if (u[0], u[2]) == (t.speaker, t.text))
        assert t.duration <= len(load_audio(source)) / 16000  # trimmed, never stretched
        assert _db(x[round(t.start * 16000) : round(t.end * 16000)]) > -40.0
    assert sorted(conv.reference_text().split()) == sorted(" ".join(u[2] for u in utterances).split())


@needs_flite
def test_build_conversation_reuses_an_unchanged_build(tmp_path: Path, cache: Path) -> None:
    out = tmp_path / "built.wav"
    first = build_conversation(LINES[:2], out, seed=1, cache_dir=cache)
    for suffix in (".ref.json", ".rttm", ".ref.txt"):
        assert out.with_suffix(suffix).is_file()
    stamp = out.stat().st_mtime_ns
    second = build_conversation(LINES[:2], out, seed=1, cache_dir=cache)
    assert second == first and out.stat().st_mtime_ns == stamp
    third = build_conversation(LINES[:3], out, seed=1, cache_dir=cache)
    assert len(third.turns) == 3 and out.stat().st_mtime_ns != stamp


def test_sample_scripts_have_recurring_voices_and_no_digits() -> None:
    scripts = sample_scripts()
    assert len({s.podcast for s in scripts}) == 2 and 4 <= len(scripts) <= 6
    assert len({s.key for s in scripts}) == len(scripts)
    voice_of: dict[str, str] = {}
    episodes_of: dict[str, int] = {}
    for s in scripts:
        assert 2 <= len(s.speakers) <= 4
        for line in s.lines:
            assert voice_of.setdefault(line.speaker, line.voice) == line.voice, "one person, one voice"
            assert not re.search(r"\d", line.text), f"digits in {line.text!r}"
        for speaker in s.speakers:
            episodes_of[speaker] = episodes_of.get(speaker, 0) + 1
        assert 200 <= sum(len(line.text.split()) for line in s.lines) <= 420  # roughly one to two and a half minutes
    assert len(set(voice_of.values())) == len(voice_of)  # and one voice, one person
    assert sum(1 for n in episodes_of.values() if n >= 2) >= 3  # voices recur across episodes


@pytest.mark.slow
@needs_flite
def test_build_sample_library(tmp_path: Path, cache: Path) -> None:
    seen: list[tuple[int, int]] = []
    episodes = build_sample_library(tmp_path, hook=lambda i, n, _ep: seen.append((i, n)), cache_dir=cache)
    assert seen == [(i, len(episodes)) for i in range(1, len(episodes) + 1)]
    for ep in episodes:
        assert ep.audio_path.is_file() and 60.0 <= ep.duration <= 150.0
        assert ep.meta.podcast == ep.podcast and ep.meta.published == ep.published
        assert len(ep.turn_speakers) == len(ep.conversation.turns)
    stamps = [ep.audio_path.stat().st_mtime_ns for ep in episodes]
    assert build_sample_library(tmp_path, cache_dir=cache) == episodes
    assert [ep.audio_path.stat().st_mtime_ns for ep in episodes] == stamps


@pytest.mark.models
def test_piper_voice_is_speech_and_deterministic(tmp_path: Path, cache: Path) -> None:
    line = [Line("joe", "A calm voice reads the weather for the harbour.", "piper:joe")]
    a = synthesize(line, tmp_path / "a.wav", cache_dir=cache)
    b = synthesize(line, tmp_path / "b.wav", cache_dir=tmp_path / "fresh-cache")
    assert b.turns == a.turns
    samples = load_audio(a.audio_path)
    assert a.turns[0].end - a.turns[0].start > 1.5
    assert float(np.sqrt(np.mean(samples**2))) > 0.01
    assert (tmp_path / "a.wav").read_bytes() == (tmp_path / "b.wav").read_bytes()
    with pytest.raises(PiperNotFound, match="unknown piper voice"):
        synthesize([Line("x", "Hello.", "piper:nobody")], tmp_path / "x.wav", cache_dir=cache)
