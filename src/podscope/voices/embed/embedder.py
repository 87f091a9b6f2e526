"""The public embedder: whole-utterance embeddings and the frame-level use the diarizer needs, run in batches of
equal length, with one shared instance per weights file and thread count."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import torch
import torch.nn.functional as F

from podscope.errors import AudioError, ModelError
from podscope.records import SAMPLE_RATE, Embedding
from podscope.voices.embed.export import trunk_session
from podscope.voices.embed.features import FRAME_LENGTH, FRAME_SHIFT, FloatArray, as_waveform, fbank
from podscope.voices.embed.network import DIMENSION
from podscope.voices.embed.weights import default_weights_path, load_network

# Channels of the frame-level output that `frame_features` returns.
FRAME_CHANNELS: Final = 512
# The trunk halves the time resolution of the 10 ms filterbank once (the first TDNN layer has stride 2).
FRAME_STEP_SECONDS: Final = 0.02
# Output frame i is centred on filterbank frame 2i, whose 25 ms window is centred 12.5 ms after its start.
FRAME_OFFSET_SECONDS: Final = 0.0125
# Shorter inputs are repeated until they are this long before embedding.
MIN_SAMPLES: Final = SAMPLE_RATE // 2

# Filterbank frames per forward pass in `embed_batch` (about 24 s of audio). Batching short inputs saves up to
# half the time on 2 cores, but past a few thousand frames the activations fall out of cache and it gets slower.
_BATCH_FRAMES: Final = 2400


class CamPlusPlus:
    """192-dim CAM++ speaker embeddings of 16 kHz mono float32 audio; implements `SpeakerEmbedder`.

    Frame-level use (`frame_features` then `pool`) gives, for the same audio and an all-true mask, the same vector as
    calling the embedder; output frame i is centred at `FRAME_OFFSET_SECONDS + i * FRAME_STEP_SECONDS` seconds
    (20 ms steps) and there are `frame_count(len(waveform))` of them.
    """

    sample_rate: int = SAMPLE_RATE
    dimension: int = DIMENSION

    def __init__(self, weights: Path | None = None, threads: int = 2, backend: str = "onnx") -> None:
        if threads < 1:
            raise ValueError(f"threads must be at least 1, got {threads}")
        if backend not in ("onnx", "torch"):
            raise ModelError(f"CAM++ backend {backend!r}: expected onnx or torch")
        self.threads = threads
        self.backend = backend
        self.weights = Path(weights) if weights is not None else default_weights_path()
        self.net = load_network(self.weights)
        self.fallback: str | None = None  # why the onnx trunk fell back to torch, if it did
        self._session: Any = None
        self._session_lock = threading.Lock()

    # ---- whole-utterance embeddings

    def __call__(self, waveform: npt.NDArray[np.float32]) -> Embedding:
        """One L2-normalised (192,) embedding of the whole waveform; shorter than 0.5 s is repeat-padded."""
        return self.embed_batch([waveform])[0]

    def embed_batch(self, waveforms: Sequence[npt.NDArray[np.float32]]) -> FloatArray:
        """(n, 192) L2-normalised embeddings; inputs of equal length run together, so results equal single calls."""
        out = np.empty((len(waveforms), DIMENSION), dtype=np.float32)
        feats = [fbank(_repeat_pad(as_waveform(waveform))) for waveform in waveforms]
        for rows, batch in _same_length_batches(feats):
            frames = torch.from_numpy(self._trunk(batch))
            with self._inference():
                out[rows] = _normalise(self.net.pool(frames))
        return out

    # ---- frame-level use, for diarization

    @staticmethod
    def frame_count(n_samples: int) -> int:
        """How many frames `frame_features` returns for audio of `n_samples` samples."""
        fbank_frames = 0 if n_samples < FRAME_LENGTH else 1 + (n_samples - FRAME_LENGTH) // FRAME_SHIFT
        return (fbank_frames + 1) // 2

    def frame_features(self, waveform: npt.NDArray[np.float32]) -> FloatArray:
        """(frames, 512) output of the trunk just before statistics pooling, 20 ms apart (see the class docstring).

        No padding: the audio must hold at least one 25 ms window. The frames depend on the whole waveform (mean
        normalisation and CAM++'s context masks look at all of it), so pass the window you mean to pool over.
        """
        return self.frame_features_batch([waveform])[0]

    def frame_features_batch(self, waveforms: Sequence[npt.NDArray[np.float32]]) -> list[FloatArray]:
        """`frame_features` of several windows; windows of equal length run together (same results, less overhead)."""
        feats: list[FloatArray] = []
        for waveform in waveforms:
            samples = as_waveform(waveform)
            if samples.size < FRAME_LENGTH:
                raise AudioError(f"frame_features needs at least {FRAME_LENGTH} samples (25 ms), got {samples.size}")
            feats.append(fbank(samples))
        out: list[FloatArray] = [np.empty((0, FRAME_CHANNELS), dtype=np.float32)] * len(feats)
        for rows, batch in _same_length_batches(feats):
            frames = np.ascontiguousarray(self._trunk(batch).transpose(0, 2, 1))
            for row, window in zip(rows, frames, strict=True):
                out[row] = window
        return out

    def pool(self, frames: npt.NDArray[np.float32], mask: npt.NDArray[np.bool_] | None = None) -> FloatArray:
        """Embedding of the frames selected by `mask`: masked mean + std pooling, then the final dense layers.

        `frames` is (T', 512) from `frame_features`; `mask` is (T',) for one embedding of shape (192,), or (k, T')
        for k embeddings of shape (k, 192), or None for all frames. Each mask row must select at least one frame.
        """
        data = np.asarray(frames, dtype=np.float32)
        if data.ndim != 2 or data.shape[1] != FRAME_CHANNELS:
            raise ValueError(f"frames must have shape (T, {FRAME_CHANNELS}), got {data.shape}")
        if mask is None:
            rows = np.ones((1, data.shape[0]), dtype=bool)
        else:
            rows = np.asarray(mask, dtype=bool)
            rows = rows[None] if rows.ndim == 1 else rows
        if rows.ndim != 2 or rows.shape[1] != data.shape[0]:
            raise ValueError(f"mask must have shape ({data.shape[0]},) or (k, {data.shape[0]}), got {rows.shape}")
        if not rows.any(axis=1).all():
            raise ValueError("every mask row must select at least one frame")
        with self._inference():
            x = torch.from_numpy(data.T.copy())[None].expand(rows.shape[0], -1, -1)
            vectors = _normalise(self.net.pool(x, torch.from_numpy(rows)))
        return vectors[0] if mask is None or np.ndim(mask) == 1 else vectors

    # ---- internals

    def _trunk(self, batch: torch.Tensor) -> FloatArray:
        """(B, T, 80) fbank -> (B, 512, ceil(T / 2)) frames, in onnxruntime when it is available."""
        session = self._onnx() if self.backend == "onnx" else None
        if session is not None:
            return np.asarray(session.run(None, {"feats": batch.numpy()})[0], dtype=np.float32)
        with self._inference():
            return self.net.frames(batch).numpy()

    def _onnx(self) -> Any:
        with self._session_lock:
            if self._session is None and self.fallback is None:
                try:
                    self._session = trunk_session(self.net, self.weights, self.threads)
                except Exception as exc:  # export or runtime missing or failing: torch gives the same frames
                    self.fallback = f"{type(exc).__name__}: {exc}"
            return self._session

    def _inference(self) -> torch.inference_mode:
        if torch.get_num_threads() != self.threads:
            torch.set_num_threads(self.threads)
        return torch.inference_mode()


def _same_length_batches(feats: Sequence[FloatArray]) -> Iterator[tuple[list[int], torch.Tensor]]:
    """(indices, stacked fbank) batches of inputs with the same number of frames, at most `_BATCH_FRAMES` frames each.

    Only equal lengths share a batch: padding would change the result, since CAM++'s context masks and the
    statistics pooling average over every frame they are given.
    """
    by_length: dict[int, list[int]] = {}
    for i, f in enumerate(feats):
        by_length.setdefault(f.shape[0], []).append(i)
    for n_frames, indices in by_length.items():
        per_batch = max(1, _BATCH_FRAMES // max(n_frames, 1))
        for start in range(0, len(indices), per_batch):
            rows = indices[start : start + per_batch]
            yield rows, torch.from_numpy(np.stack([feats[i] for i in rows]))


def _repeat_pad(samples: FloatArray) -> FloatArray:
    if samples.size == 0:
        raise AudioError("cannot embed empty audio")
    if samples.size >= MIN_SAMPLES:
        return samples
    return np.tile(samples, -(-MIN_SAMPLES // samples.size))[:MIN_SAMPLES]


def _normalise(vectors: torch.Tensor) -> FloatArray:
    return F.normalize(vectors.float(), dim=-1).numpy()


def load_embedder(weights: Path | None = None, threads: int = 2) -> CamPlusPlus:
    """The process-wide CamPlusPlus for these arguments: the weights are read once however often it is asked for.

    `None` and the explicit default path, positional and keyword arguments, all share one instance.
    """
    path = default_weights_path() if weights is None else Path(weights)
    return _cached_embedder(path.resolve(), threads)


@functools.lru_cache(maxsize=4)
def _cached_embedder(weights: Path, threads: int) -> CamPlusPlus:
    return CamPlusPlus(weights, threads)
