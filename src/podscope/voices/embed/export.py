"""The CAM++ trunk exported once to ONNX into the user's cache folder (named by the weights' checksum), and the
onnxruntime session that runs it."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from podscope.audio import file_hash
from podscope.modelcache import made_once, user_cache_dir
from podscope.voices.embed.features import N_MELS
from podscope.voices.embed.network import CAMPlusPlusNet


def trunk_session(net: CAMPlusPlusNet, weights: Path, threads: int) -> Any:
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
