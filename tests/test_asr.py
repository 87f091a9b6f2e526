"""Speech recognition: model resolution order, real transcription with word timing, chunking, output guards, the
language (set > declared > detected on several speech-rich windows) and deterministic decoding."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import jiwer
import numpy as np
import pytest

from helpers import DATA, SAMPLE_WAV, write_wav
from podscope import audio
from podscope.asr import PACKAGES, AsrOptions, WhisperTranscriber, guard_repetitions, resolve
from podscope.asr.whisper import check_language, detect_language, detection_windows, load_model, whisper_language
from podscope.errors import InputError, ModelError
from podscope.feeds.follow import declared_language
from podscope.records import AsrSegment, Word

JFK = "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country."


def norm(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[^\w\s']", " ", text.lower())).strip()


@pytest.mark.models
def test_offline_packages_resolve_with_recorded_checksums(tmp_path: Path) -> None:
    for name in ("tiny.en", "base"):
        model = resolve(name, tmp_path, allow_download=False)
        assert model.source == "package"
        assert audio.file_hash(Path(model.location) / "model.bin") == PACKAGES[name]["sha256"]
    assert (tmp_path / "whisper-base" / "model.bin").exists(), "the split base model is joined once into the cache"


@pytest.mark.models
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


@pytest.mark.models
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


@pytest.fixture(scope="module")
def base_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache for the multilingual base model (its split offline package is joined once)."""
    return tmp_path_factory.mktemp("base-models")


@pytest.mark.models
def test_language_is_detected_with_the_multilingual_model(base_models: Path) -> None:
    base = WhisperTranscriber(AsrOptions(model="base", allow_download=False), base_models)
    with audio.decode(DATA / "whisper" / "jfk.flac") as decoded:
        result = base.transcribe(decoded)
    assert (result.language, result.language_source) == ("en", "detected") and result.language_probability > 0.5


def test_language_codes_are_normalised_to_whisper_codes() -> None:
    assert [whisper_language(c) for c in ("en-US", "en-us", "EN", "pt-br", "pt_BR", " de-DE ", "zh-Hans")] == [
        "en",
        "en",
        "en",
        "pt",
        "pt",
        "de",
        "zh",
    ]
    assert whisper_language("iw") == "he" and whisper_language("nb-NO") == "no"  # codes Whisper knows by another name
    for unknown in (None, "", "  ", "xx", "tlh", "English", "x-klingon"):
        assert whisper_language(unknown) is None  # nothing usable declared: the language is detected
    assert check_language("pt-BR") == "pt" and check_language("") is None
    with pytest.raises(InputError, match="'tlh' is not one Whisper knows"):
        check_language("tlh")  # a language someone sets is never quietly replaced by detection


def test_a_feed_declares_its_channel_language_else_its_transcripts_one() -> None:
    assert declared_language("en-us", [{"url": "t.vtt", "language": "es"}]) == "en"
    assert declared_language(None, [{"url": "t.vtt", "language": "pt-BR"}, {"url": "t.srt", "language": "pt"}]) == "pt"
    assert declared_language(None, [{"url": "t.vtt", "language": "de"}, {"url": "t.srt", "language": "fr"}]) is None
    assert declared_language("xx-unknown", [{"url": "t.vtt", "language": "de"}]) == "de"
    assert declared_language("", []) is None and declared_language(None, [{"url": "t.vtt", "language": ""}]) is None


@pytest.mark.models
def test_language_set_beats_declared_beats_detected(base_models: Path, tiny: WhisperTranscriber) -> None:
    with audio.decode(DATA / "whisper" / "jfk.flac") as decoded:
        setting = WhisperTranscriber(AsrOptions(model="base", allow_download=False, language="de"), base_models)
        plain = WhisperTranscriber(AsrOptions(model="base", allow_download=False), base_models)
        picks = {
            "setting over declared": setting.choose_language(decoded, declared_language="fr-FR"),
            "option over setting": setting.choose_language(decoded, language="es", declared_language="fr"),
            "declared": plain.choose_language(decoded, declared_language="fr-FR"),
            "unknown declared": plain.choose_language(decoded, declared_language="tlh"),
            "nothing": plain.choose_language(decoded),
            "english-only model": tiny.choose_language(decoded, language="de", declared_language="fr"),
        }
        declared = plain.transcribe(decoded, declared_language="en-GB")
    assert {k: (c.code, c.source) for k, c in picks.items()} == {
        "setting over declared": ("de", "set"),
        "option over setting": ("es", "set"),
        "declared": ("fr", "declared"),
        "unknown declared": ("en", "detected"),
        "nothing": ("en", "detected"),
        "english-only model": ("en", "english-only"),
    }
    assert picks["nothing"].probability > 0.5 and picks["nothing"].windows  # where detection listened
    assert (declared.language, declared.language_source) == ("en", "declared")
    assert jiwer.wer(norm(JFK), norm(" ".join(s.text for s in declared.segments))) < 0.1


@pytest.mark.models
def test_detection_listens_to_speech_spread_over_the_recording(base_models: Path, tmp_path: Path) -> None:
    """A recording that opens with 40 s of hum and then talks: detection skips the hum, takes windows from different
    parts of the recording and keeps only their speech."""
    rng = np.random.default_rng(3)
    t = np.arange(40 * 16000) / 16000
    hum = (0.05 * np.sin(2 * np.pi * 100 * t) + 0.003 * rng.standard_normal(t.size)).astype(np.float32)
    speech = audio.load_audio(SAMPLE_WAV)
    jfk = audio.load_audio(DATA / "whisper" / "jfk.flac")
    gap = np.zeros(16000 * 5, np.float32)
    path = write_wav(tmp_path / "hum-then-talk.wav", np.concatenate([hum, speech, gap, jfk, gap, speech, gap, jfk]))
    with audio.decode(path) as decoded:
        assert decoded.duration > 130
        windows = list(detection_windows(decoded))
        model = load_model(resolve("base", base_models, allow_download=False))
        choice = detect_language(model, decoded)
    # Four parts of 34 s: the first is all hum and gives no window; each other part gives one, from its speech only.
    starts = [start for start, _ in windows]
    assert len(windows) == 3 and min(starts) > 34 and max(starts) - min(starts) > 60, starts
    assert all(3 * 16000 <= s.size < 30 * 16000 for _, s in windows)
    assert choice.code == "en" and choice.source == "detected" and len(choice.windows) >= 2


@pytest.mark.models
def test_decoding_is_deterministic(base_models: Path) -> None:
    """The same file gives the same transcript, word for word and to the timestamp, on every run."""
    options = AsrOptions(model="base", allow_download=False)
    assert options.temperatures == (0.0,)  # no random temperature fallback
    with audio.decode(SAMPLE_WAV) as decoded:
        first = WhisperTranscriber(options, base_models).transcribe(decoded)
        second = WhisperTranscriber(options, base_models).transcribe(decoded)
    assert first.words and first == second


@pytest.mark.models
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
