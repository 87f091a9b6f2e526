"""Neural translation with Argos Translate, for machines that can install its language packages.

Why it looks like this:
- `argostranslate` is optional and heavy (it brings CTranslate2 models and sentencepiece), so it is imported only when
  this backend is used, and its absence is a ModelError saying how to install it.
- A missing language package is downloaded only when the `allow_download` setting allows it; otherwise the error
  says how to install it by hand (`argospm install translate-en_es`). Nothing reaches the network on its own.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from podscope.errors import ModelError
from podscope.translate.backend import missing_pair

INSTALL = "pip install argostranslate"


def _package_hint(source: str, target: str) -> str:
    return (
        f"Install the language package with: argospm update && argospm install translate-{source}_{target}"
        " (or set allow_download = true to let podscope fetch it)."
    )


class ArgosTranslator:
    """Translate with the installed Argos Translate packages (one package per direction)."""

    name = "argos"

    def __init__(self, allow_download: bool = False):
        self.allow_download = allow_download

    def _modules(self) -> tuple[ModuleType, ModuleType]:
        try:
            import argostranslate.package as package
            import argostranslate.translate as translate
        except ImportError as exc:
            raise ModelError(
                f"the argos translation backend needs argostranslate, which is not installed: {INSTALL}, then install"
                " a language package (argospm install translate-en_es); or set translate_backend = apertium"
            ) from exc
        return package, translate

    def pairs(self) -> list[tuple[str, str]]:
        package, _ = self._modules()
        return sorted({(str(p.from_code), str(p.to_code)) for p in package.get_installed_packages()})

    def _download(self, package: Any, source: str, target: str) -> None:
        package.update_package_index()
        for candidate in package.get_available_packages():
            if candidate.from_code == source and candidate.to_code == target:
                package.install_from_path(candidate.download())
                return
        raise missing_pair(source, target, self.pairs(), self.name, "Argos Translate offers no package for it either.")

    def translate(self, texts: list[str], source: str, target: str) -> list[str]:
        package, translate = self._modules()
        if (source, target) not in self.pairs():
            if not self.allow_download:
                raise missing_pair(source, target, self.pairs(), self.name, _package_hint(source, target))
            try:
                self._download(package, source, target)
            except (OSError, RuntimeError, ValueError) as exc:  # network and archive failures inside argostranslate
                raise ModelError(f"cannot download the argos package {source}→{target}: {exc}") from exc
        return [str(translate.translate(t, source, target)) if t.strip() else "" for t in texts]
