"""The Kaldi log mel filterbank CAM++ was trained on, computed with numpy (torchaudio is not a dependency),
vectorised over frames and in blocks; and the checks every input waveform passes."""

from __future__ import annotations

import functools
from typing import Final

import numpy as np
import numpy.typing as npt

from podscope.errors import AudioError
from podscope.records import SAMPLE_RATE

N_MELS: Final = 80
# Kaldi framing: 25 ms windows every 10 ms, no frames that run past either end (snip_edges).
FRAME_LENGTH: Final = 400
FRAME_SHIFT: Final = 160
FFT_SIZE: Final = 512

_FBANK_BLOCK_FRAMES: Final = 8192
_LOG_FLOOR: Final = float(np.finfo(np.float32).eps)

FloatArray = npt.NDArray[np.float32]


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


def as_waveform(waveform: npt.ArrayLike) -> FloatArray:
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
    samples = as_waveform(waveform)
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
