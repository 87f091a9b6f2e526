"""Voices: speaker embeddings, speech segmentation and diarization (who spoke when).

Every embedding backend has the same small interface (`SpeakerEmbedder`): a sample rate, a dimension, and a call that
turns 16 kHz mono float32 audio into an L2-normalised vector.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import numpy.typing as npt

from podscope.records import Embedding


class SpeakerEmbedder(Protocol):
    sample_rate: int
    dimension: int

    def __call__(self, waveform: npt.NDArray[np.float32]) -> Embedding:
        """One L2-normalised embedding of the whole waveform (16 kHz mono float32)."""
        ...

    def embed_batch(self, waveforms: list[npt.NDArray[np.float32]]) -> npt.NDArray[np.float32]:
        """Embeddings of several waveforms, shape (n, dimension), each row L2-normalised."""
        ...
