"""Speech recognition: model resolution order, real transcription with word timing, chunking, output guards."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import jiwer
import pytest

from conftest import DATA, SAMPLE_WAV
from podscope import audio
from podscope.asr import PACKAGES, AsrOptions, WhisperTranscriber, guard_repetitions, resolve
from podscope.errors import ModelError
from podscope.models import AsrSegment, Word

JFK = "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country."


def norm(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[^\w\s']", " ", text.lower())).strip()


def test_offline_packages_resolve_with_recorded_checksums(tmp_path: Path) -> None:
    for name in ("tiny.en", "base"):
        model = resolve(name, tmp_path, allow_download=False)
        assert model.source == "package"
        assert audio.file_hash(Path(model.location) / "model.bin") == PACKAGES[name]["sha256"]
    assert (tmp_path / "whisper-base" / "model.bin").exists(), "the split base model is joined once into the cache"


def test_an_explicit_folder_wins(tmp_path: Path) -> None:
    folder = Path(resolve("tiny.en", tmp_path).location)
    model = resolve(str(folder), tmp_path)
    assert (model.source, model.location) == ("path", str(folder))
    (tmp_path / "empty-model").mkdir()
    with pytest.raises(ModelError, match=r"expected model\.bin"):
        resolve(str(tmp_path / "empty-model"), tmp_path)
    with pytest.raises(ModelError, match="no such model folder"):
        resolve("./nowhere/model", tmp_path)


def test_unknown_model_offline_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ModelError, match="'small' is not installed and downloads are off"):
        resolve("small", tmp_path, allow_download=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelError, match="downloads are off"):
        resolve("medium", tmp_path, allow_download=True)
    monkeypatch.delenv("HF_HUB_OFFLINE")
    assert resolve("medium", tmp_path, allow_download=True).source == "hub"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> WhisperTranscriber:
    return WhisperTranscriber(AsrOptions(model="tiny.en", allow_download=False), tmp_path_factory.mktemp("models"))


def test_transcribes_real_speech_with_word_timing(tiny: WhisperTranscriber) -> None:
    with audio.decode(DATA / "whisper" / "jfk.flac") as decoded:
        result = tiny.transcribe(decoded)
    text = " ".join(s.text for s in result.segments)
    assert jiwer.wer(norm(JFK), norm(text)) < 0.1
    words = result.words
    assert len(words) >= 20
    assert all(0 <= w.start <= w.end <= result.duration + 0.01 for w in words)
    assert all(a.start <= b.start for a, b in itertools.pairwise(words))
    assert (result.language, result.model, result.model_source) == ("en", "tiny.en", "package")


def test_language_is_detected_with_the_multilingual_model(tmp_path: Path) -> None:
    base = WhisperTranscriber(AsrOptions(model="base", allow_download=False), tmp_path)
    with audio.decode(DATA / "whisper" / "jfk.flac") as decoded:
        result = base.transcribe(decoded)
    assert result.language == "en" and result.language_probability > 0.5


def test_chunked_recognition_keeps_text_and_absolute_times(tmp_path: Path) -> None:
    whole = WhisperTranscriber(AsrOptions(model="tiny.en"), tmp_path)
    chunked = WhisperTranscriber(AsrOptions(model="tiny.en", chunk_seconds=10.0), tmp_path)
    with audio.decode(SAMPLE_WAV) as decoded:
        a = whole.transcribe(decoded)
        b = chunked.transcribe(decoded)
    text_a = norm(" ".join(s.text for s in a.segments))
    text_b = norm(" ".join(s.text for s in b.segments))
    assert jiwer.wer(text_a, text_b) < 0.3
    assert b.words[-1].end > 25.0, "later chunks are offset to the episode's clock"
    assert all(x.start <= y.start + 0.5 for x, y in zip(b.words, b.words[1:], strict=False))


def _seg(start: float, words: list[str]) -> AsrSegment:
    ws = tuple(Word(start + i * 0.3, start + i * 0.3 + 0.25, " " + w) for i, w in enumerate(words))
    return AsrSegment(start, ws[-1].end, " ".join(words), ws)


def test_guard_removes_loops_and_repeated_sentences() -> None:
    loop = _seg(0.0, ["thank", "you", "thank", "you", "thank", "you", "thank", "you", "thank", "you", "so", "much"])
    sentence = ["we", "will", "be", "right", "back"]
    segments = [loop, _seg(5, sentence), _seg(7, sentence), _seg(9, sentence), _seg(11, ["bye"])]
    out, report = guard_repetitions(segments)
    assert out[0].text == "thank you thank you thank you so much"
    assert [s.text for s in out[1:]] == ["we will be right back", "we will be right back", "bye"]
    assert report.looped_words_dropped == 4 and report.repeated_segments_dropped == 1


def test_guard_keeps_natural_repetition() -> None:
    segments = [_seg(0, ["yes", "yes"]), _seg(1, ["no", "no", "no"]), _seg(3, ["very", "very", "good"])]
    out, report = guard_repetitions(segments)
    assert out == segments and report.looped_words_dropped == 0
